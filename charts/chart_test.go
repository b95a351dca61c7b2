// Package charts holds the tests of the Helm chart charts/latchkey: lint and
// render over a matrix of values through the Helm library, every rendered
// object applied server-side to a real kube-apiserver, the values schema, a
// real install and upgrade, and the proof that the chart's RBAC is both
// sufficient and minimal for the controller.
package charts

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// kubeVersion is the Kubernetes version the chart is rendered for: the one
// the tests' API server runs.
var kubeVersion = strings.TrimPrefix(testenv.KubeAPIServerVersion, "v")

func chartDir(t testing.TB) string {
	return filepath.Join(testenv.ModuleRoot(t), "charts", "latchkey")
}

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatalf("loading chart: %v", err)
	}
	return c
}

// parseValues reads a values document written in a test table.
func parseValues(t testing.TB, doc string) map[string]any {
	t.Helper()
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(doc), &vals); err != nil {
		t.Fatalf("test values are not YAML: %v\n%s", err, doc)
	}
	return vals
}

// rendered is one `helm template` of the chart.
type rendered struct {
	objects []*unstructured.Unstructured
	notes   string
}

// renderChart renders the chart as `helm template` does (no cluster: lookup
// finds nothing), schema validation included, and decodes every object.
func renderChart(t testing.TB, release, namespace string, vals map[string]any) (rendered, error) {
	t.Helper()
	return renderChartFrom(t, loadChart(t), release, namespace, vals)
}

// renderChartFrom renders c (a directory or an archive, loaded).
func renderChartFrom(t testing.TB, c *chart.Chart, release, namespace string, vals map[string]any) (rendered, error) {
	t.Helper()
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun, install.ClientOnly, install.Replace = true, true, true
	install.ReleaseName, install.Namespace = release, namespace
	install.KubeVersion = kv
	rel, err := install.RunWithContext(context.Background(), c, vals)
	if err != nil {
		return rendered{}, err
	}
	objs, err := decodeManifest(rel.Manifest)
	if err != nil {
		t.Fatalf("rendered manifest does not decode: %v\n%s", err, rel.Manifest)
	}
	return rendered{objects: objs, notes: rel.Info.Notes}, nil
}

// decodeManifest splits a multi-document manifest in Helm's install order.
func decodeManifest(manifest string) ([]*unstructured.Unstructured, error) {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var objs []*unstructured.Unstructured
	for _, k := range keys {
		m := map[string]any{}
		if err := yaml.Unmarshal([]byte(docs[k]), &m); err != nil {
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs, nil
}

// find returns the rendered objects of a kind, in order.
func (r rendered) find(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range r.objects {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the only object of kind named name, failing the test otherwise.
func (r rendered) one(t testing.TB, kind, name string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range r.find(kind) {
		if name == "" || o.GetName() == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s %q, rendered %d (%s)", kind, name, len(found), r.kinds())
	}
	return found[0]
}

func (r rendered) kinds() string {
	var s []string
	for _, o := range r.objects {
		s = append(s, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
	}
	return strings.Join(s, ", ")
}
