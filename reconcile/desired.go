package reconcile

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/fluxcd/pkg/ssa/normalize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/promotion"
	"github.com/latchkey-dev/latchkey/reconcile/inventory"
	"github.com/latchkey-dev/latchkey/reconcile/source"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/render/sandbox"
	"github.com/latchkey-dev/latchkey/resolver"
)

// desired is the state one reconciliation wants: the resolved objects (in
// memory only, dropped when the reconciliation ends), their provenance, and
// what may be recorded about them.
type desired struct {
	revision string
	objects  []*unstructured.Unstructured // resolved, labelled
	prov     []resolver.Provenance
	byID     map[string]int
	digest   string
	secrets  []v1alpha1.SecretVersion
	redact   *redactor
	// verified are the secrets the promotion gate found present (only when
	// it ran: a new revision under spec.promotion).
	verified []promotion.Verified
	// values is the provenance of the chart's values resolved before
	// templating (spec.render.helm.resolveValues): a rotation of them
	// renders again even where no object holds the value as it is.
	values resolver.Provenance
	// capabilities is the digest of the cluster capabilities a Helm render
	// used; "" for other renders.
	capabilities string
	// hooks are the Helm hooks, split out of objects (hooks.go).
	hooks []*hook
	reads int
	hits  int
}

// build renders the snapshot, labels what it renders and resolves it. With
// gate, every reference must first exist in the Sync's Vault (the secrets
// gate of a promotion), else nothing is resolved.
func (r *Reconciler) build(ctx context.Context, s *v1alpha1.Sync, snap *source.Snapshot, secrets Secrets, gate bool) (_ *desired, err error) {
	res, values, capsSum, err := r.render(ctx, s, snap, secrets)
	defer func() {
		if values != nil {
			err = redactStep(err, values.redact)
		}
	}()
	if err != nil {
		return nil, err
	}
	rendered := res.Objects
	var verified []promotion.Verified
	if gate {
		if verified, err = checkPresence(ctx, snap.Revision, res, secrets); err != nil {
			return nil, err
		}
	}

	result, err := secrets.Resolve(ctx, rendered, res.Origin)
	if err != nil {
		// resolver.Error names each failing reference and never a value.
		return nil, failed(v1alpha1.ReasonResolveFailed, err)
	}
	if err := r.checkPlacement(s, rendered, result, res.Origin); err != nil {
		return nil, err
	}
	redact := newRedactor(rendered, result.Objects)
	if values != nil {
		if err := r.placeValues(s, values, result, res.Origin); err != nil {
			return nil, err
		}
		redact = newRedactor(append([]*unstructured.Unstructured{values.before}, rendered...), append([]*unstructured.Unstructured{values.after}, result.Objects...))
	}
	// As kustomize-controller does: stringData becomes data (so the applied
	// object compares equal to the live one) and defaults are made explicit.
	if err := normalize.UnstructuredList(result.Objects); err != nil {
		return nil, failed(v1alpha1.ReasonRenderFailed, redact.Error(fmt.Errorf("normalising the resolved objects: %w", err)))
	}
	// Unsealing turned SealedSecrets into Secrets that carry only the
	// template's metadata: label them as ours too.
	if err := r.prepare(s, snap, result.Objects); err != nil {
		return nil, failed(v1alpha1.ReasonRenderFailed, err)
	}
	d := &desired{
		revision: snap.Revision,
		objects:  result.Objects,
		prov:     result.Provenance,
		byID:     make(map[string]int, len(result.Objects)),
		reads:    result.Reads,
		hits:     result.CacheHits,
		verified: verified,
		// Normalising only re-encodes (stringData as base64 data) and adds
		// defaults: the redactor already covers base64, and defaults are no
		// secret.
		redact: redact,

		capabilities: capsSum,
	}
	if err := r.index(s, d, res, values); err != nil {
		return nil, err
	}
	return d, nil
}

// render renders the Sync's path at snap: Helm charts fetched, the cluster's
// capabilities passed, the chart's values resolved first when the Sync asks,
// in the sandboxed worker; an empty render is refused. The values, when
// resolved, are returned even with an error, so that it is redacted.
func (r *Reconciler) render(ctx context.Context, s *v1alpha1.Sync, snap *source.Snapshot, secrets Secrets) (_ *render.Result, values *resolvedValues, capsSum string, err error) {
	opts, err := renderOptions(s)
	if err != nil {
		return nil, nil, "", failed(v1alpha1.ReasonConfigInvalid, err)
	}
	opts.NoRemoteBases = !r.opts.AllowRemoteBases
	opts.RemoteHosts = remoteHosts(r.opts)
	if s.Spec.Source.Helm != nil || renderMode(snap, s.Spec.Source.Path, opts.Mode) == render.Helm {
		if err := r.helmCharts(ctx, s, snap, &opts); err != nil {
			return nil, nil, "", failed(v1alpha1.ReasonRenderFailed, fmt.Errorf("rendering revision %s: %w", short(snap.Revision), err))
		}
		caps, sum, err := r.caps.get(ctx)
		if err != nil {
			return nil, nil, "", failed(v1alpha1.ReasonRenderFailed, fmt.Errorf("rendering revision %s: the chart needs the cluster's capabilities: %w", short(snap.Revision), err))
		}
		opts.Helm.KubeVersion, opts.Helm.APIVersions, capsSum = caps.KubeVersion, caps.APIVersions, sum
		if h := s.Spec.Render.Helm; h != nil && h.ResolveValues {
			if values, err = resolveValues(ctx, s, snap, opts.Helm, secrets); err != nil {
				return nil, values, capsSum, err
			}
			// The worker receives them on its standard input.
			opts.Helm = opts.Helm.WithValues(resolver.ValuesOf(values.after))
		}
	}
	// Helm and Kustomize render in a worker process under limits: a
	// template that allocates or loops without end fails this Sync only.
	res, err := r.sandbox.Render(ctx, snap.FS(), s.Spec.Source.Path, opts)
	switch {
	case errors.Is(err, sandbox.ErrLimitExceeded):
		return nil, values, capsSum, failed(v1alpha1.ReasonRenderLimitExceeded, fmt.Errorf("rendering revision %s: %w", short(snap.Revision), err))
	case errors.Is(err, render.ErrRemoteRefused):
		return nil, values, capsSum, failed(v1alpha1.ReasonRenderFailed, fmt.Errorf("rendering revision %s (the controller allows no remote host of it: --allow-remote-hosts): %w", short(snap.Revision), err))
	case err != nil:
		return nil, values, capsSum, failed(v1alpha1.ReasonRenderFailed, fmt.Errorf("rendering revision %s: %w", short(snap.Revision), err))
	case len(res.Objects) == 0:
		return nil, values, capsSum, failed(v1alpha1.ReasonEmptyRender,
			fmt.Errorf("revision %s of path %q renders no object: refusing to apply (and to prune everything)", short(snap.Revision), cmp.Or(s.Spec.Source.Path, ".")))
	}
	if err := r.prepare(s, snap, res.Objects); err != nil {
		return nil, values, capsSum, failed(v1alpha1.ReasonRenderFailed, err)
	}
	return res, values, capsSum, nil
}

// index finishes d: workloads annotated with their secrets' HMACs, objects
// indexed by inventory ID (one rendered twice is refused), secret versions
// and the resolved values' provenance, the set's digest (keyed when it holds
// resolved values), and the Helm hooks split out.
func (r *Reconciler) index(s *v1alpha1.Sync, d *desired, res *render.Result, values *resolvedValues) error {
	if s.RestartWorkloads() {
		annotateWorkloads(d.objects, d.prov, r.opts.HMACKey)
	}
	for i, o := range d.objects {
		id := inventory.ID(o)
		if j, dup := d.byID[id]; dup {
			return failed(v1alpha1.ReasonRenderFailed, fmt.Errorf("%s is rendered twice (%s and %s)",
				inventory.Describe(o), res.Origin(j), res.Origin(i)))
		}
		d.byID[id] = i
	}
	d.secrets = secretVersions(d.objects, d.prov)
	var key []byte
	if values != nil {
		// The rendered set holds values: its digest must be keyed.
		key = r.opts.HMACKey
		d.values = values.prov
		for _, ref := range values.prov.Refs {
			d.secrets = append(d.secrets, v1alpha1.SecretVersion{
				Object: valuesOrigin, Field: ref.Field, Source: string(ref.Source),
				Reference: ref.Reference, Version: ref.Version, Pinned: ref.Pinned, HMAC: ref.HMAC,
			})
		}
	}
	var err error
	if d.digest, err = digest(res.Objects, d.prov, key); err != nil {
		return failed(v1alpha1.ReasonRenderFailed, err)
	}
	if err := d.splitHooks(r.opts.HMACKey); err != nil {
		return failed(v1alpha1.ReasonRenderFailed, d.redact.Error(err))
	}
	return nil
}

// renderMode is the mode a render of dir in snap will use.
func renderMode(snap *source.Snapshot, dir string, mode render.Mode) render.Mode {
	if mode != render.Auto {
		return mode
	}
	sub, err := fs.Sub(snap.FS(), path.Clean(strings.TrimPrefix(dir, "/")))
	if err != nil {
		return render.Plain
	}
	return render.Detect(sub)
}

func renderOptions(s *v1alpha1.Sync) (render.Options, error) {
	var o render.Options
	switch s.Spec.Render.Type {
	case "", v1alpha1.RenderAuto:
		o.Mode = render.Auto
	case v1alpha1.RenderPlain:
		o.Mode = render.Plain
	case v1alpha1.RenderKustomize:
		o.Mode = render.Kustomize
	case v1alpha1.RenderHelm:
		o.Mode = render.Helm
	default:
		return o, fmt.Errorf("spec.render.type %q: want auto, plain, kustomize or helm", s.Spec.Render.Type)
	}
	o.Helm.ReleaseName = s.Name
	o.Helm.Namespace = s.TargetNamespace()
	if h := s.Spec.Render.Helm; h != nil {
		if h.ReleaseName != "" {
			o.Helm.ReleaseName = h.ReleaseName
		}
		for _, f := range h.ValuesFiles {
			o.Helm.ValuesFiles = append(o.Helm.ValuesFiles, joinPath(s.Spec.Source.Path, f))
		}
		if h.Values != nil && len(h.Values.Raw) > 0 && string(h.Values.Raw) != "null" {
			// As Helm reads a values file, so numbers and nesting behave the
			// same inline and in valuesFiles.
			if err := yaml.Unmarshal(h.Values.Raw, &o.Helm.Values); err != nil {
				return o, fmt.Errorf("spec.render.helm.values: want a map of values: %w", err)
			}
		}
	}
	return o, nil
}

// clusterScoped are the kinds of the core and common API groups that have no
// namespace; for others the REST mapper decides.
var clusterScoped = map[schema.GroupKind]bool{
	{Kind: "Namespace"}: true, {Kind: "PersistentVolume"}: true, {Kind: "Node"}: true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:               true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                       true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                 true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                             true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:   true,
}

// prepare sets the target namespace and the ownership labels and
// annotations on every rendered object, before resolution (so labels can
// never carry a value).
func (r *Reconciler) prepare(s *v1alpha1.Sync, snap *source.Snapshot, objs []*unstructured.Unstructured) error {
	src := snap.URL
	if p := s.Spec.Source.Path; p != "" {
		src += "//" + p
	}
	for _, o := range objs {
		if o.GetName() == "" {
			return fmt.Errorf("a %s without metadata.name", o.GetKind())
		}
		if o.GetNamespace() == "" && !r.isClusterScoped(o.GroupVersionKind()) {
			o.SetNamespace(s.TargetNamespace())
		}
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelSync] = s.Name
		labels[LabelSyncNamespace] = s.Namespace
		o.SetLabels(labels)
		annotations := o.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[AnnotationRevision] = snap.Revision
		annotations[AnnotationSource] = src
		o.SetAnnotations(annotations)
	}
	return nil
}

func (r *Reconciler) isClusterScoped(gvk schema.GroupVersionKind) bool {
	if clusterScoped[gvk.GroupKind()] {
		return true
	}
	if r.mapper == nil {
		return false
	}
	m, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return false // unknown kinds (a CRD applied in the same set) are namespaced unless listed
	}
	return m.Scope.Name() == "root"
}

// secretVersions flattens provenance for the status.
func secretVersions(objs []*unstructured.Unstructured, prov []resolver.Provenance) []v1alpha1.SecretVersion {
	var out []v1alpha1.SecretVersion
	for i, p := range prov {
		for _, ref := range p.Refs {
			out = append(out, v1alpha1.SecretVersion{
				Object: inventory.Describe(objs[i]), Field: ref.Field, Source: string(ref.Source),
				Reference: ref.Reference, Version: ref.Version, Pinned: ref.Pinned, HMAC: ref.HMAC,
			})
		}
	}
	return out
}

// digest is sha256 over the rendered set (which holds references, not
// values) and the keyed HMACs of the values: equal digests mean the same
// state was applied, without the digest being a hash of any value. When
// the rendered set holds values (a chart rendered with resolved values),
// key is the HMAC key and the digest is keyed as a whole.
func digest(rendered []*unstructured.Unstructured, prov []resolver.Provenance, key []byte) (string, error) {
	h, prefix := sha256.New(), "sha256:"
	if key != nil {
		h, prefix = hmac.New(sha256.New, key), "hmac-sha256:"
	}
	idx := make([]int, len(rendered))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return inventory.ID(rendered[idx[a]]) < inventory.ID(rendered[idx[b]]) })
	for _, i := range idx {
		o := rendered[i].DeepCopy()
		// The revision annotation changes with every commit even when the
		// object does not.
		anno := o.GetAnnotations()
		delete(anno, AnnotationRevision)
		o.SetAnnotations(anno)
		b, err := json.Marshal(o.Object)
		if err != nil {
			return "", fmt.Errorf("digesting %s: %w", inventory.Describe(o), err)
		}
		h.Write(b)
		h.Write([]byte{'\n'})
		if i < len(prov) {
			for _, ref := range prov[i].Refs {
				fmt.Fprintf(h, "%s\x00%s\x00%s\n", ref.Field, ref.Reference, ref.HMAC)
			}
		}
	}
	return prefix + hex.EncodeToString(h.Sum(nil)), nil
}

func joinPath(dir, file string) string {
	if dir == "" || dir == "." {
		return file
	}
	return dir + "/" + file
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
