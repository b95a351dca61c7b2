package helm

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/downloader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/repo"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/render/chartrepo"
	"github.com/latchkey-dev/latchkey/render/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		sandbox.Main() // the Latchkey side's render worker
	}
	os.Exit(m.Run())
}

const (
	kubeVersion = "v1.37.2"
	rounds      = 10
)

var values = map[string]any{"ingress": map[string]any{"enabled": true, "hostname": "web.example.com"}, "autoscaling": map[string]any{"enabled": true}}

func TestHelmSideBySide(t *testing.T) {
	ctx := context.Background()
	bitnami := filepath.Join(testenv.ModuleRoot(t), "..", "shared", "corpus", "bitnami-charts", "bitnami")
	if _, err := os.Stat(filepath.Join(bitnami, "apache")); err != nil {
		t.Skipf("the bitnami corpus is not there: %v", err)
	}
	charts := testenv.StartChartRepository(t, filepath.Join(bitnami, "common"))

	// Helm's side: a repository configuration naming the test repository,
	// and `helm dependency update` to write Chart.lock as Helm does.
	home := t.TempDir()
	repoConfig := filepath.Join(home, "repositories.yaml")
	rf := repo.NewFile()
	rf.Add(&repo.Entry{Name: "bench", URL: charts.URL})
	if err := rf.WriteFile(repoConfig, 0o644); err != nil {
		t.Fatal(err)
	}
	settings := cli.New()
	manager := func(dir string) *downloader.Manager {
		return &downloader.Manager{Out: io.Discard, ChartPath: dir, Getters: getter.All(settings),
			RepositoryConfig: repoConfig, RepositoryCache: filepath.Join(home, "cache"), SkipUpdate: true}
	}
	helmDir := copyChart(t, filepath.Join(bitnami, "apache"), charts.URL)
	m := manager(helmDir)
	m.SkipUpdate = false
	if err := m.Update(); err != nil {
		t.Fatalf("helm dependency update: %v", err)
	}
	lock, err := os.ReadFile(filepath.Join(helmDir, "Chart.lock"))
	if err != nil {
		t.Fatal(err)
	}
	// Latchkey's side: the same chart and Chart.lock, no charts/.
	ourDir := copyChart(t, filepath.Join(bitnami, "apache"), charts.URL)
	if err := os.WriteFile(filepath.Join(ourDir, "Chart.lock"), lock, 0o644); err != nil {
		t.Fatal(err)
	}

	helmTemplate := func() ([]*unstructured.Unstructured, error) {
		if err := os.RemoveAll(filepath.Join(helmDir, "charts")); err != nil {
			return nil, err
		}
		if err := manager(helmDir).Build(); err != nil {
			return nil, fmt.Errorf("helm dependency build: %w", err)
		}
		ch, err := loader.Load(helmDir)
		if err != nil {
			return nil, err
		}
		install := action.NewInstall(&action.Configuration{})
		install.DryRun, install.DryRunOption, install.ClientOnly, install.Replace = true, "client", true, true
		install.ReleaseName, install.Namespace, install.IncludeCRDs = "web", "web", true
		kv, _ := chartutil.ParseKubeVersion(kubeVersion)
		install.KubeVersion = kv
		rel, err := install.RunWithContext(ctx, ch, values)
		if err != nil {
			return nil, err
		}
		manifest := rel.Manifest
		for _, h := range rel.Hooks {
			manifest += "\n---\n" + h.Manifest
		}
		return decode(manifest)
	}
	fetcher := chartrepo.New(chartrepo.Options{Hosts: render.Hosts{charts.Host()}})
	box := sandbox.New(sandbox.Config{})
	latchkey := func() ([]*unstructured.Unstructured, error) {
		deps, err := fetcher.Dependencies(ctx, os.DirFS(ourDir), ".")
		if err != nil {
			return nil, err
		}
		res, err := box.Render(ctx, os.DirFS(ourDir), ".", render.Options{Mode: render.Helm, Helm: render.HelmOptions{
			ReleaseName: "web", Namespace: "web", KubeVersion: kubeVersion, Values: values, Dependencies: deps}})
		if err != nil {
			return nil, err
		}
		return res.Objects, nil
	}

	inProcess := func() ([]*unstructured.Unstructured, error) {
		deps, err := fetcher.Dependencies(ctx, os.DirFS(ourDir), ".")
		if err != nil {
			return nil, err
		}
		res, err := render.Dir(ctx, ourDir, render.Options{Mode: render.Helm, Helm: render.HelmOptions{
			ReleaseName: "web", Namespace: "web", KubeVersion: kubeVersion, Values: values, Dependencies: deps}})
		if err != nil {
			return nil, err
		}
		return res.Objects, nil
	}

	time1 := func(f func() ([]*unstructured.Unstructured, error)) (time.Duration, []*unstructured.Unstructured) {
		start := time.Now()
		objs, err := f()
		if err != nil {
			t.Fatal(err)
		}
		return time.Since(start), objs
	}
	helmCold, helmObjs := time1(helmTemplate)
	ourCold, ourObjs := time1(latchkey)
	if a, b := canonical(t, helmObjs), canonical(t, ourObjs); a != b {
		t.Fatalf("the outputs differ:\nhelm:\n%s\nlatchkey:\n%s", a, b)
	}
	var helmWarm, ourWarm, inWarm time.Duration
	for range rounds {
		d, _ := time1(helmTemplate)
		helmWarm += d
		d, _ = time1(latchkey)
		ourWarm += d
		d, _ = time1(inProcess)
		inWarm += d
	}
	fetches := charts.Requests()
	t.Logf("bitnami/apache + common (from a chart repository), %d objects, equal output (sorted)", len(ourObjs))
	t.Logf("%-44s %12s %12s", "", "first", fmt.Sprintf("mean of %d", rounds))
	t.Logf("%-44s %12s %12s", "helm dependency build + helm template (helm)", helmCold.Round(time.Millisecond), (helmWarm / rounds).Round(time.Millisecond))
	t.Logf("%-44s %12s %12s", "chartrepo + sandboxed render (latchkey)", ourCold.Round(time.Millisecond), (ourWarm / rounds).Round(time.Millisecond))
	t.Logf("%-44s %12s %12s", "same, rendered in process (no worker)", "", (inWarm / rounds).Round(time.Millisecond))
	t.Logf("ratio latchkey/helm: first %.2f, mean %.2f; chart repository requests in all: %d", float64(ourCold)/float64(helmCold), float64(ourWarm)/float64(helmWarm), fetches)
}

// copyChart copies the chart at src into a temporary directory, its
// dependencies pointed at the repository at url.
func copyChart(t *testing.T, src, url string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if rel == "Chart.lock" {
			return nil // helm dependency update writes it
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "Chart.yaml" {
			data = []byte(strings.ReplaceAll(string(data), "oci://registry-1.docker.io/bitnamicharts", url))
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

var sourceComment = regexp.MustCompile(`(?m)^# Source: .*$`)

func decode(manifest string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(sourceComment.ReplaceAllString(manifest, ""), "\n---") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, err
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
	return out, nil
}

// canonical is the objects as YAML, sorted by kind and name.
func canonical(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	docs := make([]string, 0, len(objs))
	for _, o := range objs {
		// Through JSON both ways, so numbers compare alike.
		data, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.JSONToYAML(data)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, o.GetKind()+"/"+o.GetName()+"\n"+string(y))
	}
	sort.Strings(docs)
	return strings.Join(docs, "---\n")
}
