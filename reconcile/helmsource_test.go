package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// writeChart writes a chart "web" at version that renders a ConfigMap of
// its values and its own version.
func writeChart(t *testing.T, version string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "web")
	files := map[string]string{
		"Chart.yaml":        "apiVersion: v2\nname: web\nversion: " + version + "\n",
		"values.yaml":       "color: blue\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata:\n  color: {{ .Values.color | quote }}\n  chart: {{ .Chart.Version | quote }}\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// "Upstream chart, our values in Git": spec.source.helm names a chart in a
// chart repository at a pinned version, the values come from the Sync's
// Git path; a controller that does not allow the repository's host fails
// the Sync naming the host, and the repository sees no request.
func TestHelmChartSource(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "values")
	charts := testenv.StartChartRepository(t, writeChart(t, "1.0.0"), writeChart(t, "1.1.0"))
	rev := sc.repo.Commit(t, "values", map[string]string{"web/values-prod.yaml": "color: green\n"})
	startShardController(t, sc.kube, nil, "", func(o *reconcile.Options) { o.RemoteHosts = []string{charts.Host()} })
	startShardController(t, sc.kube, nil, "strict")

	sync := func(ns string) *v1alpha1.Sync {
		s := sc.gitSync(ns, "web", "web", time.Hour)
		s.Spec.Source.Helm = &v1alpha1.HelmChartSource{Repository: charts.URL, Chart: "web", Version: "1.0.0"}
		s.Spec.Render = v1alpha1.Render{Type: v1alpha1.RenderHelm, Helm: &v1alpha1.HelmRender{ValuesFiles: []string{"values-prod.yaml"}}}
		return s
	}

	t.Run("the pinned version of the repository's chart, with the values in Git", func(t *testing.T) {
		sc.kube.CreateNamespace(t, "shop")
		sc.create(t, sync("shop"))
		sc.waitApplied(t, "the upstream chart applied", "shop", "web", rev)
		var cm corev1.ConfigMap
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web"}, &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Data["chart"] != "1.0.0" || cm.Data["color"] != "green" {
			t.Errorf("applied %v: want chart 1.0.0 (pinned, though 1.1.0 is newer) with color green from Git", cm.Data)
		}
	})

	t.Run("a chart from an OCI registry, pinned by version and digest, values from Git", func(t *testing.T) {
		reg := testenv.StartRegistry(t)
		version, manifest := pushChart(t, reg, writeChart(t, "2.0.0"))
		startShardController(t, sc.kube, nil, "oci", func(o *reconcile.Options) {
			o.RemoteHosts, o.ChartClient = []string{reg.Host}, reg.Client
		})
		sc.kube.CreateNamespace(t, "oci")
		s := sync("oci")
		s.Labels = map[string]string{reconcile.LabelShard: "oci"}
		s.Spec.Source.Helm = &v1alpha1.HelmChartSource{Repository: "oci://" + reg.Host + "/charts", Chart: "web", Version: version, Digest: manifest}
		sc.create(t, s)
		sc.waitApplied(t, "the OCI chart applied", "oci", "web", rev)
		var cm corev1.ConfigMap
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "oci", Name: "web"}, &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Data["chart"] != "2.0.0" || cm.Data["color"] != "green" {
			t.Errorf("applied %v", cm.Data)
		}
	})

	t.Run("a host the controller does not allow: refused, named, nothing fetched", func(t *testing.T) {
		before := charts.Requests()
		sc.kube.CreateNamespace(t, "strict")
		s := sync("strict")
		s.Labels = map[string]string{reconcile.LabelShard: "strict"}
		sc.create(t, s)
		eventually(t, 30*time.Second, "the Sync fails naming the host", func() error {
			ready := condition(getSync(t, sc.c, "strict", "web"), v1alpha1.ConditionReady)
			if !strings.Contains(ready, charts.Host()) || !strings.Contains(ready, "--allow-remote-hosts") {
				return fmt.Errorf("Ready %s", ready)
			}
			return nil
		})
		if n := charts.Requests() - before; n != 0 {
			t.Errorf("the repository served %d requests for a host not allowed", n)
		}
	})
}

// pushChart packages the chart at dir and pushes it to reg as helm push
// does; it returns its version and the manifest's digest.
func pushChart(t *testing.T, reg *testenv.Registry, dir string) (version, manifest string) {
	t.Helper()
	ch, err := loader.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	archive, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	c, err := registry.NewClient(registry.ClientOptHTTPClient(reg.Client), registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "none.json")))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Push(data, reg.Host+"/charts/"+ch.Name()+":"+ch.Metadata.Version)
	if err != nil {
		t.Fatalf("helm push: %v", err)
	}
	return ch.Metadata.Version, res.Manifest.Digest
}
