package resolver

import (
	"context"
	"errors"
	"regexp"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Unsealer turns a SealedSecret into the Secret it seals (package sealing
// provides one). Its errors must not contain decrypted values.
type Unsealer interface {
	Unseal(ctx context.Context, sealed *unstructured.Unstructured) (*unstructured.Unstructured, error)
}

// Options configure a Resolver.
type Options struct {
	// HMACKey keys the HMAC-SHA256 recorded in provenance for every value.
	// Without a key no HMAC is recorded (the CLI has no use for one).
	HMACKey []byte
	// Cache, when set, keeps secrets across calls to Resolve.
	Cache *Cache
	// Concurrency bounds the backend calls one Resolve makes at a time
	// (default 8).
	Concurrency int
	// DefaultKVVersion (1 or 2; AVP_KV_VERSION) is the KV version assumed
	// when neither the mount table nor an avp.kubernetes.io/kv-version
	// annotation says it.
	DefaultKVVersion int
	// PathValidation, when set, must match every path read
	// (argocd-vault-plugin's AVP_PATH_VALIDATION).
	PathValidation *regexp.Regexp
	// Unsealer, when set, turns SealedSecrets into Secrets. Without it
	// SealedSecrets are passed through for the in-cluster controller.
	Unsealer Unsealer
	// MaxValueBytes bounds each resolved value, after its modifiers, and
	// every intermediate result of its pipeline (default 1 MiB: a
	// Kubernetes Secret holds no more, so a larger value could never be
	// applied anyway).
	MaxValueBytes int64
	// MaxTotalBytes bounds the values one Resolve writes into its objects,
	// all references together (default 64 MiB), so that many references to
	// one large secret cannot multiply it past the process's memory.
	MaxTotalBytes int64
}

// Default bounds of Options.
const (
	DefaultMaxValueBytes = 1 << 20
	DefaultMaxTotalBytes = 64 << 20
)

// Resolver resolves the references of sets of objects. It is safe for
// concurrent use; the controller keeps one for its lifetime.
type Resolver struct {
	backend Backend
	opts    Options
}

// New returns a Resolver reading from backend. backend may be nil when no
// object will carry a Vault reference (only SealedSecrets, for instance);
// any reference then fails with a clear error.
func New(backend Backend, opts Options) *Resolver {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.MaxValueBytes <= 0 {
		opts.MaxValueBytes = DefaultMaxValueBytes
	}
	if opts.MaxTotalBytes <= 0 {
		opts.MaxTotalBytes = DefaultMaxTotalBytes
	}
	return &Resolver{backend: backend, opts: opts}
}

// Result is a resolved set of objects.
type Result struct {
	// Objects are the resolved objects, in input order; each is a copy, the
	// input is never modified.
	Objects []*unstructured.Unstructured
	// Provenance[i] describes the values Objects[i] received.
	Provenance []Provenance
	// Reads is the number of secret versions read from the backend (cache
	// misses); CacheHits the number served by the Cache.
	Reads, CacheHits int
}

// Resolve resolves every reference in objs. origin, when not nil, names the
// file (and line) input object i came from, for error messages.
//
// It is all or nothing: on any failure it returns no objects and an *Error
// listing every failing reference. A reference that fails only because its
// key is missing is dropped instead, with its field, on a Secret or
// ConfigMap annotated avp.kubernetes.io/remove-missing: "true".
func (r *Resolver) Resolve(ctx context.Context, objs []*unstructured.Unstructured, origin func(i int) string) (*Result, error) {
	var fs failures
	plans := r.planAll(objs, origin, &fs)

	r.unseal(ctx, plans, &fs)
	f := r.fetch(ctx, plans)

	res := &Result{
		Objects:    make([]*unstructured.Unstructured, len(plans)),
		Provenance: make([]Provenance, len(plans)),
		Reads:      f.reads,
		CacheHits:  f.hits,
	}
	b := &budget{perValue: r.opts.MaxValueBytes, total: r.opts.MaxTotalBytes}
	for i, p := range plans {
		obj, prov := r.substitute(p, f, b, &fs)
		res.Objects[i] = obj
		res.Provenance[i] = prov
	}
	if err := fs.err(); err != nil {
		return nil, err
	}
	return res, nil
}

// CurrentVersions reports the current version of each location, when the
// backend can tell without reading values (Vault KV v2 metadata); the
// controller polls it to notice rotation of secrets manifests do not pin.
// Locations are those of Provenance records.
func (r *Resolver) CurrentVersions(ctx context.Context, locs []Location) (map[Location]int, error) {
	vr, ok := r.backend.(VersionReader)
	if !ok {
		return nil, errors.New("the secret backend cannot report versions")
	}
	return vr.CurrentVersions(ctx, locs)
}

// planAll plans a copy of every object, each named by its origin.
func (r *Resolver) planAll(objs []*unstructured.Unstructured, origin func(i int) string, fs *failures) []*objectPlan {
	plans := make([]*objectPlan, len(objs))
	for i, in := range objs {
		o := ""
		if origin != nil {
			o = origin(i)
		}
		plans[i] = r.plan(i, in.DeepCopy(), o, fs)
	}
	return plans
}
