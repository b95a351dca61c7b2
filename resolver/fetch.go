package resolver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/latchkey-dev/latchkey/resolver/reference"
)

// fetched holds everything one Resolve read, before any substitution:
// each distinct path located once, each distinct secret version read once,
// however many references use it.
type fetched struct {
	locs    map[locateKey]locateResult
	secrets map[readKey]readResult
	reads   int
	hits    int
}

type locateKey struct {
	path string
	hint int
}

type locateResult struct {
	loc Location
	err error
}

type readKey struct {
	loc     Location // Detected cleared
	version string   // "" for latest
}

type readResult struct {
	secret *Secret
	err    error
}

// target is the path, version and KV hint a reference reads.
type target struct {
	path    string
	version string
	hint    int
	pinned  bool
}

func (p *objectPlan) target(ref reference.Ref) target {
	if ref.Kind == reference.AVPGeneric {
		return target{path: p.genericPath, version: p.genericVer, hint: p.kvHint, pinned: p.genericVer != ""}
	}
	path := ref.Path
	for len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	return target{path: path, version: ref.Version, hint: p.kvHint, pinned: ref.Version != ""}
}

// errNoBackend is what every reference fails with when the Resolver has no
// backend: a render of manifests with references needs Vault configured.
var errNoBackend = errors.New("no secret backend is configured")

// readVersion is the version string sent for t on loc: KV v1 keeps no
// versions, so a pin there is ignored (as argocd-vault-plugin does); on KV v2
// it must be a number.
func readVersion(loc Location, t target) (string, error) {
	if loc.KVVersion != 2 || t.version == "" {
		return "", nil
	}
	n, err := strconv.Atoi(t.version)
	if err != nil || n < 0 {
		return "", errBadVersion
	}
	if n == 0 {
		return "", nil // Vault reads version 0 as the latest
	}
	return strconv.Itoa(n), nil
}

var errBadVersion = errors.New("version is not a number")

// versionError is a pinned version that KV v2 cannot read; it is
// errBadVersion, with the version and the mount named.
type versionError struct {
	version, mount string
}

func (e *versionError) Error() string {
	return fmt.Sprintf("version %q is not a number; %s is KV v2, whose versions are numbered", e.version, e.mount)
}

func (e *versionError) Unwrap() error { return errBadVersion }

// fetch reads everything plans need, in two bounded phases: locate each
// distinct path, read each distinct secret version (or take it from the
// cache). SealedSecrets are unsealed before (unseal.go): their references
// are only known then. Failures are recorded per key, never
// returned: substitution turns them into Failures that name the reference.
func (r *Resolver) fetch(ctx context.Context, plans []*objectPlan) *fetched {
	f := &fetched{
		locs:    map[locateKey]locateResult{},
		secrets: map[readKey]readResult{},
	}
	r.locateAll(ctx, f, r.locateKeys(plans))
	r.readAll(ctx, f, readKeys(plans, f.locs))
	return f
}

// eachTarget calls fn with the target of every reference of plans.
func eachTarget(plans []*objectPlan, fn func(target)) {
	for _, p := range plans {
		for _, s := range p.sites {
			for _, ref := range s.refs {
				fn(p.target(ref))
			}
		}
	}
}

// locateKeys lists every distinct (path, hint) the references read, in
// order of first use; paths the validation pattern refuses are not located.
func (r *Resolver) locateKeys(plans []*objectPlan) []locateKey {
	var keys []locateKey
	seen := map[locateKey]bool{}
	eachTarget(plans, func(t target) {
		k := locateKey{t.path, t.hint}
		if t.path == "" || seen[k] || !r.pathAllowed(t.path) {
			return
		}
		seen[k] = true
		keys = append(keys, k)
	})
	return keys
}

// locateAll asks the backend where each path lives (mount, KV version),
// at most Concurrency at a time.
func (r *Resolver) locateAll(ctx context.Context, f *fetched, keys []locateKey) {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	for _, k := range keys {
		g.Go(func() error {
			var res locateResult
			if r.backend == nil {
				res.err = errNoBackend
			} else {
				res.loc, res.err = r.backend.Locate(gctx, k.path, k.hint)
			}
			mu.Lock()
			f.locs[k] = res
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
}

// readKeys lists every distinct (location, version) to read, in order of first
// use; references whose path failed to locate or whose version is not a
// number are left to substitution to report.
func readKeys(plans []*objectPlan, locs map[locateKey]locateResult) []readKey {
	var keys []readKey
	seen := map[readKey]bool{}
	eachTarget(plans, func(t target) {
		lr, ok := locs[locateKey{t.path, t.hint}]
		if !ok || lr.err != nil {
			return
		}
		v, err := readVersion(lr.loc, t)
		if err != nil {
			return
		}
		if k := (readKey{lr.loc.Key(), v}); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	})
	return keys
}

// readAll serves each key from the cache or reads it from the backend, at
// most Concurrency reads at a time, and counts reads and cache hits.
func (r *Resolver) readAll(ctx context.Context, f *fetched, keys []readKey) {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	for _, k := range keys {
		if s, ok := r.opts.Cache.get(k.loc, k.version); ok {
			// Reads started in earlier iterations write f.secrets concurrently.
			mu.Lock()
			f.secrets[k] = readResult{secret: s}
			mu.Unlock()
			f.hits++
			continue
		}
		f.reads++
		g.Go(func() error {
			s, err := r.backend.Read(gctx, k.loc, k.version)
			if err == nil {
				r.opts.Cache.put(k.loc, k.version, s)
			}
			mu.Lock()
			f.secrets[k] = readResult{secret: s, err: err}
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
}

func (r *Resolver) pathAllowed(path string) bool {
	return r.opts.PathValidation == nil || r.opts.PathValidation.MatchString(path)
}
