package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/drift"
	"github.com/latchkey-dev/latchkey/reconcile/inventory"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// outcome is what a reconciliation did, to be written into the status.
type outcome struct {
	applied   bool // a full apply happened: inventory and history change
	inventory []v1alpha1.InventoryEntry
	// drift replaces status.drift when full, else updates the entries of
	// checked.
	full    bool
	drift   map[string]v1alpha1.DriftedObject // by inventory ID
	checked []string                          // IDs compared in a partial check
	message string
	hooks   []v1alpha1.HookRun // status.hooks after a full apply
}

// record writes the outcome into the status.
func (o *outcome) record(st *v1alpha1.SyncStatus, s *v1alpha1.Sync, d *desired) {
	st.LastAttemptedRevision = d.revision
	if o.applied {
		st.LastAppliedRevision = d.revision
		st.Inventory = &v1alpha1.Inventory{Entries: o.inventory}
		st.Hooks = o.hooks
		if len(st.History) == 0 || st.History[0].Digest != d.digest || st.History[0].Revision != d.revision {
			pushHistory(st, v1alpha1.Apply{
				Revision: d.revision, AppliedAt: metav1.Now(), Digest: d.digest,
				Objects: len(d.objects), Secrets: d.secrets,
			})
		}
	}
	byID := map[string]v1alpha1.DriftedObject{}
	if !o.full {
		for _, e := range st.Drift {
			byID[e.Object] = e
		}
		for _, id := range o.checked {
			if i, ok := d.byID[id]; ok {
				delete(byID, inventory.Describe(d.objects[i]))
			}
		}
	}
	for _, e := range o.drift {
		if prev, ok := byID[e.Object]; ok {
			e.DetectedAt = prev.DetectedAt
		}
		byID[e.Object] = e
	}
	st.Drift = st.Drift[:0]
	for _, e := range byID {
		st.Drift = append(st.Drift, e)
	}
	sort.Slice(st.Drift, func(i, j int) bool { return st.Drift[i].Object < st.Drift[j].Object })
	if len(st.Drift) == 0 {
		st.Drift = nil
	}
	setDrift(st, s.Generation, s.GetMode())
	setReady(st, s.Generation, v1alpha1.ReasonSucceeded, o.message)
}

func (r *Reconciler) applyOptions() ssa.ApplyOptions {
	o := ssa.DefaultApplyOptions()
	o.WaitInterval = 250 * time.Millisecond
	o.Cleanup = helmTakeover
	return o
}

// enforce applies: everything when full (a new revision, spec or secret
// version), else only the objects that changed in the cluster. In sync
// mode a partial check reports drift instead of reverting it.
// sameState says the set is the one last applied, so any change a full
// apply makes reverts drift.
//
// A full apply first checks the whole set (checkAccess), then records it in
// the inventory (recordPending), then applies it as the Sync's identity and
// prunes what the stored inventory has and the set no longer does.
func (r *Reconciler) enforce(ctx context.Context, s *v1alpha1.Sync, id *identity, d *desired, dirty map[string]time.Time, full, sameState bool) (outcome, error) {
	mode := s.GetMode()
	if !full {
		if mode == v1alpha1.ModeSync {
			return r.diff(ctx, s, id, d, dirty, false)
		}
		return r.heal(ctx, s, id, d, dirty)
	}

	next := inventory.Of(d.objects)
	stored, err := r.storedInventory(ctx, s)
	if err != nil {
		return outcome{}, failed(v1alpha1.ReasonApplyFailed, err)
	}
	var stale []*unstructured.Unstructured
	if s.PruneEnabled() {
		if stale, err = inventory.Stale(stored, next); err != nil {
			return outcome{}, failed(v1alpha1.ReasonPruneFailed, err)
		}
		stale = notHooks(stale, d.hooks)
	}
	if err := r.checkAccess(ctx, s, id, d.revision, append(hookObjects(d.hooks), d.objects...), stale); err != nil {
		return outcome{}, failed(reasonFor(err, v1alpha1.ReasonApplyFailed), err)
	}
	if err := terminatingNamespaces(ctx, id.client, d.objects); err != nil {
		return outcome{}, failed(v1alpha1.ReasonForbidden, fmt.Errorf("revision %s not applied: %w", short(d.revision), err))
	}
	hooks := planHooks(s, d.hooks)
	if err := r.runHooks(ctx, s, id, d.revision, hooks, phasePre); err != nil {
		return outcome{}, failed(reasonFor(err, v1alpha1.ReasonHookFailed), err)
	}
	if err := r.recordPending(ctx, s, stored, next); err != nil {
		return outcome{}, failed(v1alpha1.ReasonApplyFailed, fmt.Errorf("recording revision %s in the inventory before applying it: %w", short(d.revision), err))
	}

	objs := append([]*unstructured.Unstructured(nil), d.objects...)
	rm, guard := id.resources(s, r.opts.ApplyConcurrency)
	cs, err := rm.ApplyAllStaged(ctx, objs, r.applyOptions())
	if err != nil {
		if c := guard.conflict(); c != nil {
			err = c
		}
		return outcome{}, failed(reasonFor(err, v1alpha1.ReasonApplyFailed), fmt.Errorf("applying revision %s as %s: %w", short(d.revision), id.user(), err))
	}
	created, configured := changes(cs)
	r.metrics.Applies.WithLabelValues(s.Namespace, "created").Add(float64(len(created)))
	r.metrics.Applies.WithLabelValues(s.Namespace, "configured").Add(float64(len(configured)))
	if err := r.runHooks(ctx, s, id, d.revision, hooks, phasePost); err != nil {
		return outcome{}, failed(reasonFor(err, v1alpha1.ReasonHookFailed), err)
	}
	out := outcome{applied: true, full: true, inventory: next, hooks: hooks.ran}
	switch {
	case len(created)+len(configured) == 0:
		out.message = fmt.Sprintf("revision %s applied: %d objects unchanged", short(d.revision), len(d.objects))
	case sameState && mode == v1alpha1.ModeEnforce:
		r.metrics.DriftHealed.WithLabelValues(s.Namespace).Add(float64(len(created) + len(configured)))
		r.events.Eventf(s, nil, corev1.EventTypeNormal, v1alpha1.ReasonDriftHealed, "Apply",
			"reverted manual changes: %s", strings.Join(append(created, configured...), ", "))
		out.message = fmt.Sprintf("revision %s applied: drift reverted on %d object(s)", short(d.revision), len(created)+len(configured))
	default:
		r.events.Eventf(s, nil, corev1.EventTypeNormal, "Applied", "Apply",
			"revision %s: %d created, %d configured, %d unchanged", short(d.revision), len(created), len(configured),
			len(d.objects)-len(created)-len(configured))
		out.message = fmt.Sprintf("revision %s applied: %d created, %d configured", short(d.revision), len(created), len(configured))
	}

	if len(stale) > 0 {
		pruned, err := r.deleteStale(ctx, s, id, stale)
		if err != nil {
			return outcome{}, failed(reasonFor(err, v1alpha1.ReasonPruneFailed), err)
		}
		if len(pruned) > 0 {
			out.message += fmt.Sprintf(", %d pruned", len(pruned))
		}
	}
	return out, nil
}

// reasonFor is the Ready reason of a failed apply or prune: Forbidden when
// the policy, RBAC (as the Sync's ServiceAccount) or another Sync's
// ownership refused it, else def.
func reasonFor(err error, def string) string {
	var (
		denied   *AccessDenied
		conflict *OwnershipConflict
	)
	if errors.As(err, &denied) || errors.As(err, &conflict) || tenancy.IsDenied(err) || apierrors.IsForbidden(err) {
		return v1alpha1.ReasonForbidden
	}
	return def
}

// heal re-applies the objects that changed in the cluster (enforce mode).
func (r *Reconciler) heal(ctx context.Context, s *v1alpha1.Sync, id *identity, d *desired, dirty map[string]time.Time) (outcome, error) {
	out := outcome{message: fmt.Sprintf("revision %s applied", short(d.revision))}
	var objs []*unstructured.Unstructured
	for id := range dirty {
		if i, ok := d.byID[id]; ok {
			objs = append(objs, d.objects[i])
			out.checked = append(out.checked, id)
		}
	}
	if len(objs) == 0 {
		return out, nil
	}
	if conflicts := r.checkOwners(ctx, client.ObjectKeyFromObject(s), objs); len(conflicts) > 0 {
		return outcome{}, failed(v1alpha1.ReasonForbidden, fmt.Errorf("reverting drift: %w", errors.Join(conflicts...)))
	}
	rm, guard := id.resources(s, r.opts.ApplyConcurrency)
	cs, err := rm.ApplyAll(ctx, objs, r.applyOptions())
	if err != nil {
		if c := guard.conflict(); c != nil {
			err = c
		}
		return outcome{}, failed(reasonFor(err, v1alpha1.ReasonApplyFailed), fmt.Errorf("reverting drift as %s: %w", id.user(), err))
	}
	created, configured := changes(cs)
	healed := append(created, configured...)
	if len(healed) == 0 {
		return out, nil
	}
	for _, e := range cs.Entries {
		if e.Action != ssa.CreatedAction && e.Action != ssa.ConfiguredAction {
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(e.ObjMetadata.GroupKind.WithVersion(""))
		u.SetNamespace(e.ObjMetadata.Namespace)
		u.SetName(e.ObjMetadata.Name)
		if at, ok := dirty[inventory.ID(u)]; ok {
			r.metrics.DriftLatency.Observe(time.Since(at).Seconds())
		}
	}
	r.metrics.DriftDetected.WithLabelValues(s.Namespace, string(v1alpha1.ModeEnforce)).Add(float64(len(healed)))
	r.metrics.DriftHealed.WithLabelValues(s.Namespace).Add(float64(len(healed)))
	r.events.Eventf(s, nil, corev1.EventTypeNormal, v1alpha1.ReasonDriftHealed, "Apply",
		"reverted manual changes: %s", strings.Join(healed, ", "))
	out.message = fmt.Sprintf("revision %s applied: drift reverted on %d object(s)", short(d.revision), len(healed))
	return out, nil
}

// observe compares without applying: everything when full, else the
// objects that changed.
func (r *Reconciler) observe(ctx context.Context, s *v1alpha1.Sync, id *identity, d *desired, dirty map[string]time.Time, full bool) (outcome, error) {
	return r.diff(ctx, s, id, d, dirty, full)
}

// diff dry-runs objects (all when full, else the dirty ones) and reports
// how the cluster differs from them.
func (r *Reconciler) diff(ctx context.Context, s *v1alpha1.Sync, id *identity, d *desired, dirty map[string]time.Time, full bool) (outcome, error) {
	out := outcome{full: full, drift: map[string]v1alpha1.DriftedObject{}}
	var idx []int
	if full {
		for i := range d.objects {
			idx = append(idx, i)
		}
	} else {
		for id := range dirty {
			if i, ok := d.byID[id]; ok {
				idx = append(idx, i)
				out.checked = append(out.checked, id)
			}
		}
	}
	sort.Ints(idx)
	mac := hmacFunc(r.opts.HMACKey)
	var newly []string
	for _, i := range idx {
		fields, err := driftOf(ctx, id.client, d.objects[i], mac)
		if err != nil {
			return outcome{}, failed(reasonFor(err, v1alpha1.ReasonApplyFailed), err)
		}
		if len(fields) == 0 {
			continue
		}
		name := inventory.Describe(d.objects[i])
		out.drift[inventory.ID(d.objects[i])] = v1alpha1.DriftedObject{Object: name, Fields: fields, DetectedAt: metav1.Now()}
		if !reported(s.Status.Drift, name, fields) {
			newly = append(newly, fmt.Sprintf("%s %v", name, fields))
		}
	}
	if len(newly) > 0 {
		r.metrics.DriftDetected.WithLabelValues(s.Namespace, string(s.GetMode())).Add(float64(len(newly)))
		r.events.Eventf(s, nil, corev1.EventTypeWarning, v1alpha1.ReasonDriftDetected, "Diff",
			"%d object(s) differ from Git (mode %s, not reverted): %s", len(newly), s.GetMode(), strings.Join(newly, "; "))
	}
	switch {
	case s.GetMode() == v1alpha1.ModeObserve:
		out.message = fmt.Sprintf("revision %s observed: %d of %d checked object(s) differ", short(d.revision), len(out.drift), len(idx))
	default:
		out.message = fmt.Sprintf("revision %s applied", short(s.Status.LastAppliedRevision))
	}
	return out, nil
}

// driftOf dry-runs obj and compares the result with the live object, both
// as the Sync's identity (c).
func driftOf(ctx context.Context, c client.Client, obj *unstructured.Unstructured, mac drift.MAC) ([]string, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		if apierrors.IsNotFound(err) {
			return drift.Fields(nil, obj, mac), nil
		}
		return nil, fmt.Errorf("reading %s: %w", inventory.Describe(obj), err)
	}
	dry := obj.DeepCopy()
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(dry), client.DryRunAll, client.ForceOwnership, client.FieldOwner(FieldManager)); err != nil {
		return nil, fmt.Errorf("dry-run of %s: %w", inventory.Describe(obj), err)
	}
	return drift.Fields(live, dry, mac), nil
}

func reported(prev []v1alpha1.DriftedObject, name string, fields []string) bool {
	for _, p := range prev {
		if p.Object == name && strings.Join(p.Fields, ",") == strings.Join(fields, ",") {
			return true
		}
	}
	return false
}

// prune deletes the objects of previous that are not in current, as the
// Sync's identity. current nil means the Sync is being deleted.
func (r *Reconciler) prune(ctx context.Context, s *v1alpha1.Sync, id *identity, previous, current []v1alpha1.InventoryEntry) ([]string, error) {
	stale, err := inventory.Stale(previous, current)
	if err != nil {
		return nil, err
	}
	return r.deleteStale(ctx, s, id, stale)
}

// deleteStale deletes stale objects, only those still labelled as this
// Sync's (an object another Sync or a person took over is left alone).
// Every failure is kept, with its type (a Forbidden stays Forbidden).
func (r *Reconciler) deleteStale(ctx context.Context, s *v1alpha1.Sync, id *identity, stale []*unstructured.Unstructured) ([]string, error) {
	if len(stale) == 0 {
		return nil, nil
	}
	opts := ssa.DefaultDeleteOptions()
	opts.Inclusions = map[string]string{LabelSync: s.Name, LabelSyncNamespace: s.Namespace}
	rm, _ := id.resources(s, r.opts.ApplyConcurrency)
	sort.Sort(sort.Reverse(ssa.SortableUnstructureds(stale)))
	var deleted []string
	var errs []error
	for _, o := range stale {
		e, err := rm.Delete(ctx, o, opts)
		if err != nil {
			if apimeta.IsNoMatchError(err) {
				// Its kind is no longer served (its CRD was deleted, and
				// every object of it with the CRD): nothing is left to
				// prune, and waiting for the kind would wedge the Sync.
				continue
			}
			errs = append(errs, err)
			continue
		}
		if e != nil && e.Action == ssa.DeletedAction {
			deleted = append(deleted, e.Subject)
		}
	}
	if len(deleted) > 0 {
		r.metrics.Prunes.WithLabelValues(s.Namespace).Add(float64(len(deleted)))
		r.events.Eventf(s, nil, corev1.EventTypeNormal, "Pruned", "Prune", "deleted what Git no longer has: %s", strings.Join(deleted, ", "))
	}
	if len(errs) > 0 {
		return deleted, fmt.Errorf("pruning as %s: %w", id.user(), errors.Join(errs...))
	}
	return deleted, nil
}

func changes(cs *ssa.ChangeSet) (created, configured []string) {
	if cs == nil {
		return nil, nil
	}
	for _, e := range cs.Entries {
		switch e.Action {
		case ssa.CreatedAction:
			created = append(created, e.Subject)
		case ssa.ConfiguredAction:
			configured = append(configured, e.Subject)
		}
	}
	return created, configured
}

var errNoKey = errors.New("no HMAC key")

func hmacFunc(key []byte) drift.MAC {
	if len(key) == 0 {
		panic(errNoKey)
	}
	return func(v []byte) string { return macHex(key, v) }
}
