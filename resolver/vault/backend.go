package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"golang.org/x/sync/singleflight"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/resolver"
)

// Backend reads KV secrets from Vault. It implements resolver.Backend and
// resolver.VersionReader, and is safe for concurrent use; the controller
// keeps one for its lifetime (its token, mount table and connections are
// reused across renders).
type Backend struct {
	client  *api.Client
	session *session
	mounts  *mountTable
	sem     chan struct{}
	flight  singleflight.Group
	// callTimeout bounds one logical call, retries included.
	callTimeout time.Duration
}

var (
	_ resolver.Backend       = (*Backend)(nil)
	_ resolver.VersionReader = (*Backend)(nil)
)

// New returns a Backend for cfg. It does not contact Vault: the first call
// logs in.
func New(cfg *config.Vault, opts ...Option) (*Backend, error) {
	client, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	sess := newSession(cfg.Auth, client)
	for _, o := range opts {
		o(sess)
	}
	conc := cfg.Concurrency
	if conc <= 0 {
		conc = 8
	}
	retries := time.Duration(cfg.MaxRetries + 1)
	return &Backend{
		client:      client,
		session:     sess,
		mounts:      &mountTable{ttl: 5 * time.Minute, now: time.Now},
		sem:         make(chan struct{}, conc),
		callTimeout: retries*cfg.Timeout + retries*5*time.Second,
	}, nil
}

// call runs one request with the concurrency bound, a valid token and the
// call timeout; a 403 on a token that can be replaced is retried once after
// logging in again.
func (b *Backend) call(ctx context.Context, fn func(ctx context.Context) (*api.Secret, error)) (*api.Secret, error) {
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.sem }()

	ctx, cancel := context.WithTimeout(ctx, b.callTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		gen, err := b.session.token(ctx)
		if err != nil {
			return nil, err
		}
		sec, err := fn(ctx)
		if err != nil && isForbidden(err) && attempt == 0 && b.session.canRelogin() {
			b.session.invalidate(gen)
			continue
		}
		return sec, err
	}
}

// Locate implements resolver.Backend.
func (b *Backend) Locate(ctx context.Context, path string, hint int) (resolver.Location, error) {
	path = strings.Trim(path, "/")
	v, err, _ := b.flight.Do("locate\x00"+path+"\x00"+strconv.Itoa(hint), func() (any, error) {
		return b.locate(ctx, path, hint)
	})
	if err != nil {
		return resolver.Location{}, err
	}
	return v.(resolver.Location), nil
}

func (b *Backend) locate(ctx context.Context, path string, hint int) (resolver.Location, error) {
	if err := b.loadMounts(ctx); err != nil {
		return resolver.Location{}, err
	}
	m, ok := b.mounts.lookup(path)
	if !ok {
		// Not in the listing: ask about this path.
		var info mountInfo
		_, err := b.call(ctx, func(ctx context.Context) (*api.Secret, error) {
			var err error
			info, err = preflight(ctx, b.client, path)
			return nil, err
		})
		if err == nil {
			b.mounts.add(info)
			m, ok = info, true
		} else if errors.Is(err, resolver.ErrAuth) || errors.Is(err, resolver.ErrUnavailable) {
			return resolver.Location{}, err
		}
	}
	if ok {
		if m.kvVersion == 0 {
			return resolver.Location{}, fmt.Errorf("mount %s is a %q secrets engine, not KV: only KV v1 and v2 are supported", m.path, m.typ)
		}
		return locationIn(m.path, m.kvVersion, path, true), nil
	}
	// The token cannot see the mount table: trust the hint.
	if hint == 0 {
		return resolver.Location{}, fmt.Errorf("cannot tell which KV mount %s is on (%s): %w; set the avp.kubernetes.io/kv-version annotation or AVP_KV_VERSION, or grant the token access to the path",
			path, b.mounts.describe(), resolver.ErrNotFound)
	}
	mount, _, _ := strings.Cut(path, "/")
	return locationIn(mount+"/", hint, path, false), nil
}

// locationIn splits path into mount and path in the mount; on KV v2 the
// "data/" segment API paths carry is dropped, so secret/data/app and
// secret/app name the same secret.
func locationIn(mount string, kv int, path string, detected bool) resolver.Location {
	rest := strings.TrimPrefix(path+"/", mount)
	rest = strings.TrimSuffix(rest, "/")
	if kv == 2 {
		if rest == "data" {
			rest = ""
		}
		rest = strings.TrimPrefix(rest, "data/")
	}
	return resolver.Location{Mount: mount, Path: rest, KVVersion: kv, Detected: detected}
}

func (b *Backend) loadMounts(ctx context.Context) error {
	b.mounts.mu.Lock()
	fresh := b.mounts.fresh()
	b.mounts.mu.Unlock()
	if fresh {
		return nil
	}
	_, err, _ := b.flight.Do("mounts", func() (any, error) {
		var mounts map[string]mountInfo
		_, err := b.call(ctx, func(ctx context.Context) (*api.Secret, error) {
			var err error
			mounts, err = listMounts(ctx, b.client)
			return nil, err
		})
		if errors.Is(err, resolver.ErrAuth) || errors.Is(err, resolver.ErrUnavailable) || errors.Is(err, context.Canceled) {
			return nil, err
		}
		// Any other failure (403 on the listing) leaves per-path lookups and hints.
		b.mounts.replace(mounts, err)
		return nil, nil
	})
	return err
}

// Read implements resolver.Backend.
func (b *Backend) Read(ctx context.Context, loc resolver.Location, version string) (*resolver.Secret, error) {
	if loc.KVVersion != 2 {
		version = ""
	}
	v, err, _ := b.flight.Do("read\x00"+loc.Mount+loc.Path+"\x00"+strconv.Itoa(loc.KVVersion)+"\x00"+version, func() (any, error) {
		return b.read(ctx, loc, version)
	})
	if err != nil {
		return nil, err
	}
	return v.(*resolver.Secret), nil
}

func (b *Backend) read(ctx context.Context, loc resolver.Location, version string) (*resolver.Secret, error) {
	apiPath := loc.Mount + loc.Path
	var query map[string][]string
	if loc.KVVersion == 2 {
		apiPath = loc.Mount + "data/" + loc.Path
		if version != "" {
			query = map[string][]string{"version": {version}}
		}
	}
	what := "reading " + apiPath
	if version != "" {
		what += " version " + version
	}
	sec, err := b.call(ctx, func(ctx context.Context) (*api.Secret, error) {
		return b.client.Logical().ReadWithDataWithContext(ctx, apiPath, query)
	})
	if err != nil {
		return nil, classify(what, err)
	}
	if sec == nil {
		return nil, fmt.Errorf("%s: %w: no secret at this path%s", what, resolver.ErrNotFound, atVersion(version))
	}
	out := &resolver.Secret{Location: loc.Key()}
	if loc.KVVersion == 1 {
		out.Data = sec.Data
		return out, nil
	}
	meta, _ := sec.Data["metadata"].(map[string]any)
	if n, ok := meta["version"].(json.Number); ok {
		v, _ := n.Int64()
		out.Version = int(v)
	}
	data, ok := sec.Data["data"].(map[string]any)
	if !ok {
		if deleted(meta) {
			return nil, fmt.Errorf("%s: %w (version %d)", what, resolver.ErrDeleted, out.Version)
		}
		return nil, fmt.Errorf("%s: %w: the response has no data; is %s really KV v2?", what, resolver.ErrNotFound, loc.Mount)
	}
	out.Data = data
	return out, nil
}

func deleted(meta map[string]any) bool {
	if d, _ := meta["destroyed"].(bool); d {
		return true
	}
	t, _ := meta["deletion_time"].(string)
	return t != ""
}

func atVersion(v string) string {
	if v == "" {
		return ""
	}
	return " at version " + v
}

// CurrentVersions implements resolver.VersionReader: it reads the KV v2
// metadata of each location (never the values) and returns its current
// version. KV v1 keeps no versions: its locations map to 0, and rotation
// there can only be seen by reading the value (and comparing HMACs).
func (b *Backend) CurrentVersions(ctx context.Context, locs []resolver.Location) (map[resolver.Location]int, error) {
	out := make(map[resolver.Location]int, len(locs))
	var errs []error
	type result struct {
		loc resolver.Location
		v   int
		err error
	}
	results := make(chan result, len(locs))
	n := 0
	for _, loc := range locs {
		loc = loc.Key()
		if _, dup := out[loc]; dup {
			continue
		}
		out[loc] = 0
		if loc.KVVersion != 2 {
			continue
		}
		n++
		go func() {
			v, err := b.currentVersion(ctx, loc)
			results <- result{loc, v, err}
		}()
	}
	for range n {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		out[r.loc] = r.v
	}
	if len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	return out, nil
}

func (b *Backend) currentVersion(ctx context.Context, loc resolver.Location) (int, error) {
	apiPath := loc.Mount + "metadata/" + loc.Path
	sec, err := b.call(ctx, func(ctx context.Context) (*api.Secret, error) {
		return b.client.Logical().ReadWithContext(ctx, apiPath)
	})
	if err != nil {
		return 0, classify("reading "+apiPath, err)
	}
	if sec == nil {
		return 0, fmt.Errorf("reading %s: %w", apiPath, resolver.ErrNotFound)
	}
	n, _ := sec.Data["current_version"].(json.Number)
	v, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("reading %s: no current_version in the response", apiPath)
	}
	return int(v), nil
}

// Address is the Vault URL, for messages.
func (b *Backend) Address() string {
	u, err := url.Parse(b.client.Address())
	if err != nil {
		return b.client.Address()
	}
	u.User = nil
	return u.String()
}
