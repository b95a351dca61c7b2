package chartrepo_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/render/chartrepo"
)

// countingTransport counts the requests a fetcher makes.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// pushChart packages the chart at dir as helm package does and pushes it
// as helm push does; it returns the manifest's digest.
func pushChart(t *testing.T, reg *testenv.Registry, dir string) (version, manifest string) {
	t.Helper()
	ch, err := loader.LoadDir(dir)
	if err != nil {
		t.Skipf("the bitnami corpus is not there: %v", err)
	}
	archive, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	client, err := registry.NewClient(registry.ClientOptHTTPClient(reg.Client), registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "none.json")))
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Push(data, reg.Host+"/charts/"+ch.Name()+":"+ch.Metadata.Version)
	if err != nil {
		t.Fatalf("helm push: %v", err)
	}
	return ch.Metadata.Version, res.Manifest.Digest
}

// Charts in a real OCI registry (the distribution registry, behind TLS):
// a dependency on oci:// fetched at the version Chart.lock pins, a chart
// by version range, a pinned digest enforced, a host not allowed refused
// before any request.
func TestOCI(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	version, manifest := pushChart(t, reg, filepath.Join(bitnami, "common"))
	repoURL := "oci://" + reg.Host + "/charts"
	counter := &countingTransport{next: reg.Client.Transport}
	fetcher := func(hosts ...string) *chartrepo.Fetcher {
		return chartrepo.New(chartrepo.Options{Hosts: hosts, Client: &http.Client{Transport: counter}})
	}

	t.Run("a dependency on oci://, at the version Chart.lock pins, renders", func(t *testing.T) {
		fsys := apache(t, repoURL, version)
		deps, err := fetcher(reg.Host).Dependencies(ctx, fsys, "apache")
		if err != nil {
			t.Fatal(err)
		}
		if len(deps) != 1 || deps[0].Version != version {
			t.Fatalf("fetched %+v", deps)
		}
		res, err := render.FS(ctx, fsys, "apache", render.Options{Mode: render.Helm, Helm: render.HelmOptions{Dependencies: deps}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Objects) == 0 {
			t.Error("nothing rendered")
		}
	})

	t.Run("a range picks the newest tag it allows; a pinned digest is enforced", func(t *testing.T) {
		a, err := fetcher(reg.Host).Chart(ctx, repoURL, "common", "2.x.x", manifest)
		if err != nil || a.Version != version {
			t.Fatalf("got %s, %v", a.Version, err)
		}
		_, err = fetcher(reg.Host).Chart(ctx, repoURL, "common", version, "sha256:"+strings.Repeat("0", 64))
		if err == nil || !strings.Contains(err.Error(), "refusing it") {
			t.Errorf("a wrong pin: %v", err)
		}
	})

	t.Run("a host not allowed: refused, named, no request", func(t *testing.T) {
		before := counter.n.Load()
		_, err := fetcher("registry.example.com").Chart(ctx, repoURL, "common", version, "")
		if !errors.Is(err, render.ErrHostRefused) || !strings.Contains(err.Error(), reg.Host) {
			t.Errorf("got %v", err)
		}
		if n := counter.n.Load() - before; n != 0 {
			t.Errorf("%d requests", n)
		}
	})

	t.Run("responses past the bound are refused", func(t *testing.T) {
		f := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{reg.Host}, Client: &http.Client{Transport: counter}, MaxChartBytes: 512})
		_, err := f.Chart(ctx, repoURL, "common", version, "")
		if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
			t.Errorf("got %v", err)
		}
	})
}
