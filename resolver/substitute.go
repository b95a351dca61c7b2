package resolver

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/resolver/reference"
)

// substitute writes the values into one object's sites and returns the
// object with its provenance. Failures go to fs; the object is then discarded
// by Resolve, so a half-substituted object never leaves it.
// Values count against b; once the set's total is crossed nothing more is
// computed (the set has failed).
func (r *Resolver) substitute(p *objectPlan, f *fetched, b *budget, fs *failures) (*unstructured.Unstructured, Provenance) {
	var prov provenanceSet
	switch {
	case p.sealed:
		// Before ignore: an unsealed Secret annotated ignore (in its
		// template) still records what was sealed.
		if b.exhausted {
			return nil, Provenance{}
		}
		return r.unsealed(p, f, b, &prov, fs)
	case p.ignore:
		return p.obj, Provenance{}
	case b.exhausted:
		return nil, Provenance{}
	}
	for _, s := range p.sites {
		if b.exhausted {
			break
		}
		r.substituteSite(p, s, f, b, &prov, fs)
	}
	return p.obj, Provenance{Refs: prov.refs}
}

func (r *Resolver) substituteSite(p *objectPlan, s *site, f *fetched, bud *budget, prov *provenanceSet, fs *failures) {
	values := make([]any, len(s.refs))
	ok, missing := true, false
	for i, ref := range s.refs {
		if bud.exhausted {
			return
		}
		v, err := r.value(p, s, ref, f, prov)
		if err == nil {
			err = bud.take(textSize(v))
		}
		if err != nil {
			var mk *missingKeyError
			if errors.As(err, &mk) && p.removeMissing && s.remove != nil {
				missing = true
				continue
			}
			fs.add(p.index, failureFor(p, s, ref, err))
			ok = false
			continue
		}
		values[i] = v
	}
	if missing {
		s.remove()
		return
	}
	if !ok {
		return
	}

	// A reference that is the whole value keeps its type (replicas: 3),
	// except where Kubernetes wants text (ConfigMap data, encoded data).
	if len(s.refs) == 1 && s.refs[0].Whole(s.text) && s.typed {
		if _, isString := values[0].(string); !isString {
			s.set(normalise(values[0]))
			return
		}
	}
	var b strings.Builder
	last := 0
	for i, ref := range s.refs {
		b.WriteString(s.text[last:ref.Start])
		text, err := stringify(values[i])
		if err != nil {
			fs.add(p.index, failureFor(p, s, ref, err))
			return
		}
		b.WriteString(text)
		last = ref.End
	}
	b.WriteString(s.text[last:])
	out := b.String()
	if s.encoded {
		out = base64.StdEncoding.EncodeToString([]byte(out))
	}
	s.set(out)
}

// missingKeyError is a reference to a key the secret does not have: the one
// failure avp.kubernetes.io/remove-missing turns into removing the field.
type missingKeyError struct {
	key, secret string
	present     []string
}

func (e *missingKeyError) Error() string {
	msg := fmt.Sprintf("key %q not found in %s", e.key, e.secret)
	if len(e.present) > 0 {
		msg += "; its keys are: " + strings.Join(e.present, ", ")
	} else {
		msg += "; the secret has no keys"
	}
	return msg
}

// value returns the value of one reference after its modifiers.
func (r *Resolver) value(p *objectPlan, s *site, ref reference.Ref, f *fetched, prov *provenanceSet) (any, error) {
	t := p.target(ref)
	if t.path == "" {
		return nil, errNoPathAnnotation
	}
	if !r.pathAllowed(t.path) {
		return nil, fmt.Errorf("%w: path %s does not match the path validation pattern %s", errPathNotAllowed, t.path, r.opts.PathValidation)
	}
	lr := f.locs[locateKey{t.path, t.hint}]
	if lr.err != nil {
		return nil, lr.err
	}
	loc := lr.loc
	if p.hintFromAnno && loc.Detected && loc.KVVersion != p.kvHint {
		return nil, fmt.Errorf("%w: the object says KV v%d (annotation %s) but mount %s is KV v%d",
			errKVMismatch, p.kvHint, reference.AnnotationKVVersion, loc.Mount, loc.KVVersion)
	}
	version, err := readVersion(loc, t)
	if err != nil {
		return nil, &versionError{version: t.version, mount: loc.Mount}
	}
	rr := f.secrets[readKey{loc.Key(), version}]
	if rr.err != nil {
		return nil, rr.err
	}
	sec := rr.secret

	var raw any
	var found bool
	if ref.Kind == reference.Vals && ref.Key == "" {
		raw, found = sec.Data, true // the whole secret
	} else {
		raw, found = lookup(sec.Data, ref.Key, ref.Kind == reference.Vals)
	}
	if !found {
		return nil, &missingKeyError{key: ref.Key, secret: describe(sec, version), present: keysOf(sec.Data)}
	}
	prov.add(RefProvenance{
		Source:    SourceVault,
		Reference: refText(p, ref),
		Field:     s.field,
		Location:  loc.Key(),
		Key:       ref.Key,
		Version:   sec.Version,
		Pinned:    version != "",
		HMAC:      r.mac(canonical(raw)),
	})
	if len(ref.Modifiers) > 0 && textSize(raw) > r.opts.MaxValueBytes {
		// A pipeline's input is bounded as its results are: jsonParse and
		// jsonPath build structures several times the size of their text.
		return nil, &sizeError{limit: r.opts.MaxValueBytes}
	}
	return applyModifiers(ref.Modifiers, raw, r.opts.MaxValueBytes)
}

// refText names a reference for messages and provenance; a generic <key>
// is qualified by the annotation path it reads.
func refText(p *objectPlan, ref reference.Ref) string {
	var b strings.Builder
	if ref.Kind == reference.AVPGeneric {
		b.WriteString("<" + ref.Key)
	} else {
		b.WriteString(ref.String())
	}
	for _, m := range ref.Modifiers {
		b.WriteString(" | ")
		b.WriteString(m.String())
	}
	if ref.Kind == reference.AVPGeneric {
		b.WriteString("> (" + p.genericPath + "#" + ref.Key)
		if p.genericVer != "" {
			b.WriteString("#" + p.genericVer)
		}
		b.WriteString(")")
	}
	return b.String()
}

func describe(s *Secret, version string) string {
	d := s.Location.String()
	if s.Location.KVVersion == 2 {
		if version != "" {
			d += " at version " + version
		} else if s.Version > 0 {
			d += fmt.Sprintf(" at its latest version (%d)", s.Version)
		}
	}
	return d
}

func keysOf(m map[string]any) []string {
	keys := slices.Sorted(maps.Keys(m))
	if len(keys) > 20 {
		keys = append(keys[:20], fmt.Sprintf("... (%d more)", len(keys)-20))
	}
	return keys
}

var (
	errNoPathAnnotation = errors.New("a generic <key> placeholder needs the avp.kubernetes.io/path annotation")
	errPathNotAllowed   = errors.New("path not allowed")
	errKVMismatch       = errors.New("KV version mismatch")
)

// failureFor turns an error about one reference into a Failure that says how
// to fix it.
func failureFor(p *objectPlan, s *site, ref reference.Ref, err error) Failure {
	f := Failure{Object: p.ref, Field: s.field, Ref: refText(p, ref), Problem: err.Error()}
	var mk *missingKeyError
	var me *modifierError
	se, tooLarge := isSizeError(err)
	switch {
	case tooLarge:
		f.Fix = se.fix()
	case errors.As(err, &mk):
		f.Fix = "add the key to the secret in Vault or correct the key in the reference"
		if k := p.obj.GetKind(); k == "Secret" || k == "ConfigMap" {
			f.Fix += `, or annotate the object with avp.kubernetes.io/remove-missing: "true" to drop the field`
		}
	case errors.Is(err, ErrNotFound):
		f.Fix = "check the path (a KV v2 path may be written with or without data/) and, when pinned, the version; create the secret in Vault if it should exist"
	case errors.Is(err, ErrDeleted):
		f.Fix = "undelete that version in Vault or pin a version that exists"
	case errors.Is(err, ErrUnavailable):
		// Before ErrAuth: a login that never reached Vault (network, TLS) is
		// both, and its fix is the address or the CA, not the credentials.
		f.Fix = "check VAULT_ADDR, the network path to Vault, the CA that verifies it (VAULT_CACERT, spec.vault.caSecretRef) and that Vault is unsealed, then render again"
	case errors.Is(err, ErrAuth):
		// Before ErrPermissionDenied: a refused login is both, and its fix
		// is the login, not the policy of a path.
		f.Fix = "check the Vault auth configuration (AVP_AUTH_TYPE, role, credentials, auth mount path; for a Sync, spec.vault.auth and a Kubernetes role bound to its ServiceAccount)"
	case errors.Is(err, ErrPermissionDenied):
		f.Fix = "grant the Vault identity in use a policy with read on this path (data/ and metadata/ paths on KV v2)"
	case errors.Is(err, errNoBackend):
		f.Fix = "configure Vault (VAULT_ADDR and auth) so references can be resolved"
	case errors.Is(err, errNoPathAnnotation):
		f.Fix = "add avp.kubernetes.io/path to the object or write the placeholder as <path:PATH#KEY>"
	case errors.Is(err, errPathNotAllowed):
		f.Fix = "read from a path the validation pattern allows, or change the pattern"
	case errors.Is(err, errKVMismatch):
		f.Fix = "correct or remove the avp.kubernetes.io/kv-version annotation"
	case errors.As(err, &me):
		f.Fix = "correct the modifier pipeline or the value stored in Vault"
	case errors.Is(err, errBadVersion):
		f.Fix = "pin a numeric version, or remove the version to read the latest"
	}
	return f
}

// unsealed places the Secret unsealed from a SealedSecret: it records the
// HMAC of each value of its encryptedData as sealed, then substitutes the
// references the Secret holds (template data, or inside a sealed value) as
// for any Secret.
func (r *Resolver) unsealed(p *objectPlan, f *fetched, b *budget, prov *provenanceSet, fs *failures) (*unstructured.Unstructured, Provenance) {
	if p.unsealErr != nil {
		fs.add(p.index, Failure{Object: p.ref, Problem: "cannot unseal: " + p.unsealErr.Error(),
			Fix: "seal the Secret again with the current certificate of this cluster's sealed-secrets controller (and the right namespace, name and scope)"})
		return nil, Provenance{}
	}
	data, _, _ := unstructured.NestedMap(p.obj.Object, "data")
	for _, k := range p.encrypted {
		enc, _ := data[k].(string)
		plain, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			continue
		}
		if err := b.take(int64(len(plain))); err != nil {
			se, _ := isSizeError(err)
			fs.add(p.index, Failure{Object: p.ref, Field: "data." + k, Ref: "encryptedData." + k, Problem: err.Error(), Fix: se.fix()})
			return nil, Provenance{}
		}
		prov.add(RefProvenance{Source: SourceSealedSecret, Reference: "encryptedData." + k, Field: "data." + k, Key: k, HMAC: r.mac(plain)})
	}
	if p.ignore {
		return p.obj, Provenance{Refs: prov.refs}
	}
	for _, s := range p.sites {
		if b.exhausted {
			break
		}
		r.substituteSite(p, s, f, b, prov, fs)
	}
	return p.obj, Provenance{Refs: prov.refs}
}
