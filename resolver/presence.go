package resolver

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/resolver/reference"
)

// ErrMissingKey is what a reference fails with when its secret exists but
// holds no such key (errors.Is matches the resolver's missing-key error).
var ErrMissingKey = errors.New("key not found in the secret")

// Is makes a missing key match ErrMissingKey.
func (e *missingKeyError) Is(target error) bool { return target == ErrMissingKey }

// Presence is one reference of a set and whether what it reads exists.
// It never holds a value.
type Presence struct {
	// Index is the input object the reference is in; Object names it.
	Index  int
	Object ObjectRef
	// Field is where in the object the reference sits.
	Field string
	// Reference is the reference as written, with its modifiers.
	Reference string
	// Path is the Vault path read as the manifest names it (for a generic
	// <key>, the avp.kubernetes.io/path annotation); Key the key in it, ""
	// for a ref+vault reference to a whole secret; Version the pinned
	// version, "" for the latest.
	Path, Key, Version string
	// Location is where Path was found (zero when it could not be located).
	Location Location
	// Found is the KV v2 version that was read, when the secret exists.
	Found int
	// Optional is true when a missing key would not fail Resolve: the
	// object is annotated avp.kubernetes.io/remove-missing, which drops
	// the field instead.
	Optional bool
	// Err is nil when the key exists. It matches ErrMissingKey (the secret
	// has no such key), ErrNotFound (no secret at the path, or not at the
	// pinned version) or ErrDeleted (that version was deleted) when what the
	// reference reads does not exist; anything else means presence could
	// not be established (ErrUnavailable, ErrAuth, ErrPermissionDenied, a
	// path the validation pattern refuses...).
	Err error
}

// Missing reports whether p's error says that what it reads does not exist,
// as opposed to not knowing.
func (p Presence) Missing() bool {
	return errors.Is(p.Err, ErrMissingKey) || errors.Is(p.Err, ErrNotFound) && p.Location != (Location{}) || errors.Is(p.Err, ErrDeleted)
}

// Presence finds every reference of objs, with the same grammar and
// annotations Resolve uses, and reads the secrets they name to tell whether
// each key exists, without substituting anything: values are read into
// memory, looked up and dropped (Vault's metadata does not list keys).
// origin, when not nil, names the file input object i came from.
//
// The list is in input order, then the order Resolve visits fields in.
// Problems with the objects themselves (a malformed reference, a bad
// avp.kubernetes.io annotation) are returned as an *Error; references of
// the other objects are still listed. Objects annotated
// avp.kubernetes.io/ignore are skipped; SealedSecrets are not unsealed
// (their keys are checked by the controller that holds the sealing key).
func (r *Resolver) Presence(ctx context.Context, objs []*unstructured.Unstructured, origin func(i int) string) ([]Presence, error) {
	var fs failures
	plans := r.planAll(objs, origin, &fs)
	for _, p := range plans {
		p.sealed = false // Presence never unseals
	}
	f := r.fetch(ctx, plans)

	var out []Presence
	for _, p := range plans {
		if p.ignore {
			continue
		}
		for _, s := range p.sites {
			for _, ref := range s.refs {
				out = append(out, r.presence(p, s, ref, f))
			}
		}
	}
	return out, fs.err()
}

func (r *Resolver) presence(p *objectPlan, s *site, ref reference.Ref, f *fetched) Presence {
	t := p.target(ref)
	pr := Presence{Index: p.index, Object: p.ref, Field: s.field, Reference: refText(p, ref), Path: t.path, Key: ref.Key, Version: t.version}
	if t.path == "" {
		pr.Err = errNoPathAnnotation
		return pr
	}
	if !r.pathAllowed(t.path) {
		pr.Err = fmt.Errorf("%w: path %s does not match the path validation pattern %s", errPathNotAllowed, t.path, r.opts.PathValidation)
		return pr
	}
	lr := f.locs[locateKey{t.path, t.hint}]
	if lr.err != nil {
		pr.Err = lr.err
		return pr
	}
	pr.Location = lr.loc.Key()
	if p.hintFromAnno && lr.loc.Detected && lr.loc.KVVersion != p.kvHint {
		pr.Err = fmt.Errorf("%w: the object says KV v%d (annotation %s) but mount %s is KV v%d",
			errKVMismatch, p.kvHint, reference.AnnotationKVVersion, lr.loc.Mount, lr.loc.KVVersion)
		return pr
	}
	version, err := readVersion(lr.loc, t)
	if err != nil {
		pr.Err = fmt.Errorf("version %q is not a number; %s is KV v2, whose versions are numbered", t.version, lr.loc.Mount)
		return pr
	}
	rr := f.secrets[readKey{lr.loc.Key(), version}]
	if rr.err != nil {
		pr.Err = rr.err
		return pr
	}
	pr.Found = rr.secret.Version
	if ref.Kind == reference.Vals && ref.Key == "" {
		return pr // the whole secret, which exists
	}
	if _, found := lookup(rr.secret.Data, ref.Key, ref.Kind == reference.Vals); !found {
		pr.Optional = p.removeMissing && s.remove != nil
		pr.Err = &missingKeyError{key: ref.Key, secret: describe(rr.secret, version), present: keysOf(rr.secret.Data)}
	}
	return pr
}
