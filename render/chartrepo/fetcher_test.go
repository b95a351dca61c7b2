package chartrepo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/render/chartrepo"
)

const bitnami = "../../../shared/corpus/bitnami-charts/bitnami"

// chartRepository serves a real chart repository: bitnami's common
// library packaged as helm package does, and an index.yaml made by Helm's
// own indexer. It counts requests.
type chartRepository struct {
	*httptest.Server
	requests atomic.Int64
	dir      string
}

func startRepository(t *testing.T) *chartRepository {
	t.Helper()
	ch, err := loader.LoadDir(filepath.Join(bitnami, "common"))
	if err != nil {
		t.Skipf("the bitnami corpus is not there: %v", err)
	}
	r := &chartRepository{dir: t.TempDir()}
	if _, err := chartutil.Save(ch, r.dir); err != nil {
		t.Fatal(err)
	}
	files := http.FileServer(http.Dir(r.dir))
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	idx, err := repo.IndexDirectory(r.dir, r.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.WriteFile(filepath.Join(r.dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *chartRepository) host() string { u, _ := url.Parse(r.URL); return u.Host }

// apache is bitnami's apache chart, its common dependency pointed at repo
// (Chart.yaml and Chart.lock as `helm dependency update` writes them).
func apache(t *testing.T, repoURL, lockVersion string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	root := filepath.Join(bitnami, "apache")
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := strings.ReplaceAll(string(data), "oci://registry-1.docker.io/bitnamicharts", repoURL)
		if rel == "Chart.lock" {
			s = strings.ReplaceAll(s, "version: 2.31.4", "version: "+lockVersion)
		}
		fsys["apache/"+filepath.ToSlash(rel)] = &fstest.MapFile{Data: []byte(s)}
		return nil
	})
	if err != nil {
		t.Skipf("the bitnami corpus is not there: %v", err)
	}
	return fsys
}

func TestDependencies(t *testing.T) {
	ctx := context.Background()
	r := startRepository(t)
	common, err := loader.LoadDir(filepath.Join(bitnami, "common"))
	if err != nil {
		t.Fatal(err)
	}
	version := common.Metadata.Version

	t.Run("fetched at the version Chart.lock pins, and the chart renders", func(t *testing.T) {
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{r.host()}})
		fsys := apache(t, r.URL, version)
		deps, err := f.Dependencies(ctx, fsys, "apache")
		if err != nil {
			t.Fatal(err)
		}
		if len(deps) != 1 || deps[0].Name != "common" || deps[0].Version != version || !strings.HasPrefix(deps[0].Digest, "sha256:") {
			t.Fatalf("fetched %+v", deps)
		}
		res, err := render.FS(ctx, fsys, "apache", render.Options{Mode: render.Helm, Helm: render.HelmOptions{Dependencies: deps}})
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]string{}
		for _, o := range res.Objects {
			kinds[o.GetKind()] = o.GetAPIVersion()
		}
		if kinds["PodDisruptionBudget"] != "policy/v1" || kinds["Deployment"] != "apps/v1" {
			t.Errorf("rendered %v", kinds)
		}
		before := r.requests.Load()
		if _, err := f.Dependencies(ctx, fsys, "apache"); err != nil {
			t.Fatal(err)
		}
		if n := r.requests.Load() - before; n != 0 {
			t.Errorf("a second render fetched %d times: the archive is cached by digest", n)
		}
	})

	t.Run("a pinned version the repository does not have fails, naming it", func(t *testing.T) {
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{r.host()}})
		_, err := f.Dependencies(ctx, apache(t, r.URL, "9.9.9"), "apache")
		if err == nil || !strings.Contains(err.Error(), "9.9.9") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("a host not allowed is refused, named, and nothing is fetched", func(t *testing.T) {
		before := r.requests.Load()
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{"charts.example.com"}})
		_, err := f.Dependencies(ctx, apache(t, r.URL, version), "apache")
		if !errors.Is(err, render.ErrHostRefused) || !strings.Contains(err.Error(), r.host()) || !strings.Contains(err.Error(), "--allow-remote-hosts") {
			t.Errorf("got %v", err)
		}
		if n := r.requests.Load() - before; n != 0 {
			t.Errorf("%d requests reached the repository", n)
		}
	})

	t.Run("an archive that is not the one the index describes is refused", func(t *testing.T) {
		archive := filepath.Join(r.dir, "common-"+version+".tgz")
		orig, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.WriteFile(archive, orig, 0o644) })
		if err := os.WriteFile(archive, append(append([]byte{}, orig...), 0), 0o644); err != nil {
			t.Fatal(err)
		}
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{r.host()}})
		_, err = f.Dependencies(ctx, apache(t, r.URL, version), "apache")
		if err == nil || !strings.Contains(err.Error(), "refusing it") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("an index or archive past its bound is refused", func(t *testing.T) {
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{r.host()}, MaxIndexBytes: 100})
		_, err := f.Dependencies(ctx, apache(t, r.URL, version), "apache")
		if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
			t.Errorf("index: got %v", err)
		}
		f = chartrepo.New(chartrepo.Options{Hosts: render.Hosts{r.host()}, MaxChartBytes: 100})
		_, err = f.Dependencies(ctx, apache(t, r.URL, version), "apache")
		if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
			t.Errorf("archive: got %v", err)
		}
	})

	t.Run("OCI is said to be unsupported, not fetched", func(t *testing.T) {
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{"*"}})
		_, err := f.Chart(ctx, "oci://registry.example.com/charts", "common", version, "")
		if err == nil || !strings.Contains(err.Error(), "OCI") {
			t.Errorf("got %v", err)
		}
	})
}
