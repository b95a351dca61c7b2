package charts

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// TestArgoCDPluginsMatchDeploy keeps the chart's copy of the Argo CD plugin
// definitions identical to deploy/argocd/cmp-plugins.yaml (Helm cannot read
// files outside the chart), and shows the chart renders them unchanged.
func TestArgoCDPluginsMatchDeploy(t *testing.T) {
	root := testenv.ModuleRoot(t)
	deployed, err := os.ReadFile(filepath.Join(root, "deploy", "argocd", "cmp-plugins.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(filepath.Join(chartDir(t), "files", "argocd-cmp-plugins.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(deployed, copied) {
		t.Fatal("charts/latchkey/files/argocd-cmp-plugins.yaml differs from deploy/argocd/cmp-plugins.yaml: cp deploy/argocd/cmp-plugins.yaml charts/latchkey/files/argocd-cmp-plugins.yaml")
	}
	var want struct{ Data map[string]string }
	if err := yaml.Unmarshal(deployed, &want); err != nil || len(want.Data) == 0 {
		t.Fatalf("deploy/argocd/cmp-plugins.yaml has no plugin definitions (%v)", err)
	}

	r, err := renderChart(t, "latchkey", releaseNamespace, parseValues(t, "argocdPlugin: {enabled: true, namespace: gitops}"))
	if err != nil {
		t.Fatal(err)
	}
	cm := r.one(t, "ConfigMap", "latchkey-cmp-plugins")
	if cm.GetNamespace() != "gitops" {
		t.Errorf("the plugins ConfigMap is in %q, want Argo CD's namespace gitops", cm.GetNamespace())
	}
	got := map[string]string{}
	for k, v := range cm.Object["data"].(map[string]any) {
		got[k] = v.(string)
	}
	if !reflect.DeepEqual(got, want.Data) {
		t.Errorf("rendered plugin definitions differ from deploy/argocd:\n got %q\nwant %q", got, want.Data)
	}

	r, err = renderChart(t, "latchkey", releaseNamespace, parseValues(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.find("ConfigMap")) != 0 {
		t.Error("the plugins ConfigMap is rendered although argocdPlugin.enabled is false")
	}
}
