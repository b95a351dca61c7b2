package chartrepo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/render/chartrepo"
)

const bitnami = "../../../shared/corpus/bitnami-charts/bitnami"

func startRepository(t *testing.T) *testenv.ChartRepository {
	t.Helper()
	if _, err := os.Stat(filepath.Join(bitnami, "common")); err != nil {
		t.Skipf("the bitnami corpus is not there: %v", err)
	}
	return testenv.StartChartRepository(t, filepath.Join(bitnami, "common"))
}

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
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{r.Host()}})
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
		before := r.Requests()
		if _, err := f.Dependencies(ctx, fsys, "apache"); err != nil {
			t.Fatal(err)
		}
		if n := r.Requests() - before; n != 0 {
			t.Errorf("a second render fetched %d times: the archive is cached by digest", n)
		}
	})

	t.Run("a pinned version the repository does not have fails, naming it", func(t *testing.T) {
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{r.Host()}})
		_, err := f.Dependencies(ctx, apache(t, r.URL, "9.9.9"), "apache")
		if err == nil || !strings.Contains(err.Error(), "9.9.9") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("a host not allowed is refused, named, and nothing is fetched", func(t *testing.T) {
		before := r.Requests()
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{"charts.example.com"}})
		_, err := f.Dependencies(ctx, apache(t, r.URL, version), "apache")
		if !errors.Is(err, render.ErrHostRefused) || !strings.Contains(err.Error(), r.Host()) || !strings.Contains(err.Error(), "--allow-remote-hosts") {
			t.Errorf("got %v", err)
		}
		if n := r.Requests() - before; n != 0 {
			t.Errorf("%d requests reached the repository", n)
		}
	})

	t.Run("an archive that is not the one the index describes is refused", func(t *testing.T) {
		archive := filepath.Join(r.Dir, "common-"+version+".tgz")
		orig, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.WriteFile(archive, orig, 0o644) })
		if err := os.WriteFile(archive, append(append([]byte{}, orig...), 0), 0o644); err != nil {
			t.Fatal(err)
		}
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{r.Host()}})
		_, err = f.Dependencies(ctx, apache(t, r.URL, version), "apache")
		if err == nil || !strings.Contains(err.Error(), "refusing it") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("an index or archive past its bound is refused", func(t *testing.T) {
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{r.Host()}, MaxIndexBytes: 100})
		_, err := f.Dependencies(ctx, apache(t, r.URL, version), "apache")
		if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
			t.Errorf("index: got %v", err)
		}
		f = chartrepo.New(chartrepo.Options{Hosts: render.Hosts{r.Host()}, MaxChartBytes: 100})
		_, err = f.Dependencies(ctx, apache(t, r.URL, version), "apache")
		if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
			t.Errorf("archive: got %v", err)
		}
	})

}
