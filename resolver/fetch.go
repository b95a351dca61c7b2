package resolver

import (
	"context"
	"errors"
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

func (r *Resolver) fetch(ctx context.Context, plans []*objectPlan) *fetched {
	f := &fetched{
		locs:    map[locateKey]locateResult{},
		secrets: map[readKey]readResult{},
	}

	// Every distinct (path, hint) is located once.
	var wantLocs []locateKey
	for _, p := range plans {
		for _, s := range p.sites {
			for _, ref := range s.refs {
				t := p.target(ref)
				if t.path == "" || !r.pathAllowed(t.path) {
					continue
				}
				k := locateKey{t.path, t.hint}
				if _, ok := f.locs[k]; !ok {
					f.locs[k] = locateResult{}
					wantLocs = append(wantLocs, k)
				}
			}
		}
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	for _, k := range wantLocs {
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

	// Every distinct (location, version) is read once, or served by the cache.
	var wantReads []readKey
	seen := map[readKey]bool{}
	for _, p := range plans {
		for _, s := range p.sites {
			for _, ref := range s.refs {
				t := p.target(ref)
				lr, ok := f.locs[locateKey{t.path, t.hint}]
				if !ok || lr.err != nil {
					continue
				}
				v, err := readVersion(lr.loc, t)
				if err != nil {
					continue
				}
				k := readKey{lr.loc.Key(), v}
				if !seen[k] {
					seen[k] = true
					wantReads = append(wantReads, k)
				}
			}
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	for _, k := range wantReads {
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

	return f
}

func (r *Resolver) pathAllowed(path string) bool {
	return r.opts.PathValidation == nil || r.opts.PathValidation.MatchString(path)
}
