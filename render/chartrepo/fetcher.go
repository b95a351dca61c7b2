package chartrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/render"
)

// Default bounds.
const (
	DefaultMaxIndexBytes = 64 << 20 // bitnami's full index is ~30 MiB
	DefaultMaxChartBytes = 16 << 20
	DefaultCacheBytes    = 256 << 20
	defaultTimeout       = 60 * time.Second
)

// Options configure a Fetcher.
type Options struct {
	// Hosts may be fetched from; nothing else is.
	Hosts render.Hosts
	// Client makes the requests (default: a client with a timeout).
	Client *http.Client
	// MaxIndexBytes bounds an index.yaml, MaxChartBytes an archive,
	// CacheBytes the archives kept in memory.
	MaxIndexBytes, MaxChartBytes, CacheBytes int64
}

// Fetcher fetches charts. It is safe for concurrent use.
type Fetcher struct {
	opts Options

	mu       sync.Mutex
	archives map[string][]byte // by sha256 hex
	order    []string          // oldest first, for eviction
	size     int64
	resolved map[string]string // repository\x00name\x00exact version → sha256
}

// New returns a Fetcher.
func New(opts Options) *Fetcher {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: defaultTimeout}
	}
	if opts.MaxIndexBytes <= 0 {
		opts.MaxIndexBytes = DefaultMaxIndexBytes
	}
	if opts.MaxChartBytes <= 0 {
		opts.MaxChartBytes = DefaultMaxChartBytes
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	return &Fetcher{opts: opts, archives: map[string][]byte{}, resolved: map[string]string{}}
}

// Chart fetches the chart name at version (an exact version or a semver
// range, as Chart.yaml writes it; empty for the latest stable) from the
// repository at repoURL. digest, when set ("sha256:..."), pins the archive.
func (f *Fetcher) Chart(ctx context.Context, repoURL, name, version, digest string) (render.ChartArchive, error) {
	what := fmt.Sprintf("chart %s %s from %s", name, orLatest(version), repoURL)
	if strings.HasPrefix(repoURL, "oci://") {
		return f.ociChart(repoURL, name, version, digest, what)
	}
	if !strings.HasPrefix(repoURL, "https://") && !strings.HasPrefix(repoURL, "http://") {
		return render.ChartArchive{}, fmt.Errorf("%s: want an http(s):// chart repository URL (a repository alias such as @name or a file:// path is resolved by helm on a workstation: vendor the chart into charts/)", what)
	}
	if err := f.opts.Hosts.Check(repoURL, what); err != nil {
		return render.ChartArchive{}, err
	}
	key := repoURL + "\x00" + name + "\x00" + version
	if sum := f.cachedSum(key); sum != "" && (digest == "" || "sha256:"+sum == digest) {
		if data := f.cached(sum); data != nil {
			return render.ChartArchive{Name: name, Digest: "sha256:" + sum, Data: data}, nil
		}
	}

	idx, err := f.index(ctx, repoURL, what)
	if err != nil {
		return render.ChartArchive{}, err
	}
	cv, err := idx.Get(name, version)
	if err != nil {
		return render.ChartArchive{}, fmt.Errorf("%s: %w", what, err)
	}
	if len(cv.URLs) == 0 {
		return render.ChartArchive{}, fmt.Errorf("%s: the index lists no URL for version %s", what, cv.Version)
	}
	want := strings.TrimPrefix(digest, "sha256:")
	if want == "" && cv.Digest != "" {
		want = strings.TrimPrefix(cv.Digest, "sha256:")
	}
	if want != "" {
		if data := f.cached(want); data != nil {
			f.remember(key, want)
			return render.ChartArchive{Name: name, Version: cv.Version, Digest: "sha256:" + want, Data: data}, nil
		}
	}
	u, err := repo.ResolveReferenceURL(repoURL, cv.URLs[0])
	if err != nil {
		return render.ChartArchive{}, fmt.Errorf("%s: the index's URL %q: %w", what, cv.URLs[0], err)
	}
	// The index may point anywhere: its hosts are checked too.
	if err := f.opts.Hosts.Check(u, what+" (archive)"); err != nil {
		return render.ChartArchive{}, err
	}
	data, err := f.get(ctx, u, f.opts.MaxChartBytes, what)
	if err != nil {
		return render.ChartArchive{}, err
	}
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	if want != "" && sum != want {
		return render.ChartArchive{}, fmt.Errorf("%s: the archive's sha256 is %s, the %s says %s: refusing it", what, sum, pinnedBy(digest), want)
	}
	f.store(sum, data)
	f.remember(key, sum)
	return render.ChartArchive{Name: name, Version: cv.Version, Digest: "sha256:" + sum, Data: data}, nil
}

func pinnedBy(digest string) string {
	if digest != "" {
		return "pin"
	}
	return "index"
}

func orLatest(v string) string {
	if v == "" {
		return "(latest)"
	}
	return v
}

func (f *Fetcher) index(ctx context.Context, repoURL, what string) (*repo.IndexFile, error) {
	u := strings.TrimSuffix(repoURL, "/") + "/index.yaml"
	data, err := f.get(ctx, u, f.opts.MaxIndexBytes, what)
	if err != nil {
		return nil, err
	}
	var idx repo.IndexFile
	if err := yaml.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%s: the repository's index.yaml: %w", what, err)
	}
	if idx.APIVersion == "" {
		return nil, fmt.Errorf("%s: the repository's index.yaml has no apiVersion: not a chart repository", what)
	}
	for name, versions := range idx.Entries {
		kept := versions[:0]
		for _, cv := range versions {
			if cv != nil && cv.Metadata != nil {
				kept = append(kept, cv)
			}
		}
		idx.Entries[name] = kept
	}
	idx.SortEntries()
	return &idx, nil
}

// errTooLarge is wrapped when a response passes its bound.
var errTooLarge = errors.New("larger than the limit")

func (f *Fetcher) get(ctx context.Context, u string, limit int64, what string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	resp, err := f.opts.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: GET %s: %s", what, u, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%s: GET %s: %d bytes, %w of %d bytes", what, u, resp.ContentLength, errTooLarge, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: GET %s: %w", what, u, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: GET %s: %w of %d bytes", what, u, errTooLarge, limit)
	}
	return data, nil
}

func (f *Fetcher) cachedSum(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resolved[key]
}

func (f *Fetcher) remember(key, sum string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resolved[key] = sum
}

func (f *Fetcher) cached(sum string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.archives[sum]
}

// store keeps data under its digest, evicting the oldest archives past
// the cache's bound.
func (f *Fetcher) store(sum string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.archives[sum]; ok {
		return
	}
	f.archives[sum] = data
	f.order = append(f.order, sum)
	f.size += int64(len(data))
	for f.size > f.opts.CacheBytes && len(f.order) > 1 {
		old := f.order[0]
		f.order = f.order[1:]
		f.size -= int64(len(f.archives[old]))
		delete(f.archives, old)
	}
}
