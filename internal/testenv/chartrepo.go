package testenv

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
)

// ChartRepository is a Helm chart repository on loopback, as `helm repo
// index` and a static web server make one: the charts packaged as `helm
// package` packages them and an index.yaml written by Helm's own indexer.
type ChartRepository struct {
	URL string
	// Dir holds the archives and index.yaml; a test may tamper with them.
	Dir      string
	requests atomic.Int64
}

// StartChartRepository packages the charts in chartDirs and serves them
// until the test ends.
func StartChartRepository(t testing.TB, chartDirs ...string) *ChartRepository {
	t.Helper()
	r := &ChartRepository{Dir: t.TempDir()}
	for _, d := range chartDirs {
		ch, err := loader.LoadDir(d)
		if err != nil {
			t.Fatalf("testenv: loading chart %s: %v", d, err)
		}
		if _, err := chartutil.Save(ch, r.Dir); err != nil {
			t.Fatalf("testenv: packaging chart %s: %v", d, err)
		}
	}
	files := http.FileServer(http.Dir(r.Dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	idx, err := repo.IndexDirectory(r.Dir, r.URL+"/")
	if err != nil {
		t.Fatalf("testenv: indexing the chart repository: %v", err)
	}
	if err := idx.WriteFile(filepath.Join(r.Dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// Host is the repository's host:port.
func (r *ChartRepository) Host() string {
	u, _ := url.Parse(r.URL)
	return u.Host
}

// Requests is how many requests the repository has served.
func (r *ChartRepository) Requests() int64 { return r.requests.Load() }
