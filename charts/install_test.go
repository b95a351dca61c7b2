package charts

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// TestHelmInstallKeepsHMACKey installs the chart for real (helm install,
// upgrade, uninstall, install again) into a kube-apiserver and shows the
// generated HMAC key is made once: lookup finds it on upgrade and after a
// reinstall, so the HMACs recorded in Sync status stay comparable.
func TestHelmInstallKeepsHMACKey(t *testing.T) {
	if testing.Short() {
		t.Skip("needs kube-apiserver")
	}
	t.Parallel() // its control plane is its own
	k := testenv.StartKube(t)
	k.CreateNamespace(t, releaseNamespace)
	cfg := helmConfig(t, k)
	ctx := context.Background()
	const releaseName = "latchkey"

	install := func() *release.Release {
		t.Helper()
		i := action.NewInstall(cfg)
		i.ReleaseName, i.Namespace = releaseName, releaseNamespace
		rel, err := i.RunWithContext(ctx, loadChart(t), map[string]any{})
		if err != nil {
			t.Fatalf("helm install: %v", err)
		}
		return rel
	}
	key := func() string {
		t.Helper()
		var s corev1.Secret
		if err := k.Client.Get(ctx, types.NamespacedName{Namespace: releaseNamespace, Name: "latchkey-hmac"}, &s); err != nil {
			t.Fatalf("reading the HMAC key Secret: %v", err)
		}
		v := s.Data["key"]
		if len(v) < 32 {
			t.Fatalf("HMAC key has %d bytes, want at least 32", len(v))
		}
		return string(v)
	}

	rel := install()
	first := key()
	if strings.Contains(rel.Info.Notes, "without cluster access") {
		t.Errorf("NOTES warn about a key generated without cluster access on a real install:\n%s", rel.Info.Notes)
	}

	up := action.NewUpgrade(cfg)
	up.Namespace = releaseNamespace
	if _, err := up.RunWithContext(ctx, releaseName, loadChart(t), map[string]any{
		"controller": map[string]any{"logLevel": "debug"},
	}); err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	upgraded := key()
	if upgraded != first {
		t.Error("helm upgrade replaced the HMAC key")
	}

	if _, err := action.NewUninstall(cfg).Run(releaseName); err != nil {
		t.Fatalf("helm uninstall: %v", err)
	}
	kept := key() // fails the test when the Secret is gone
	if kept != upgraded {
		t.Error("helm uninstall changed the HMAC key Secret")
	}
	install()
	if key() != kept {
		t.Error("reinstalling replaced the kept HMAC key")
	}

	// Without cluster access there is nothing to look up: every render makes
	// a new key, which is why hmacKey.existingSecret exists.
	a, errA := renderChart(t, releaseName, releaseNamespace, map[string]any{})
	b, errB := renderChart(t, releaseName, releaseNamespace, map[string]any{})
	if errA != nil || errB != nil {
		t.Fatalf("helm template: %v %v", errA, errB)
	}
	if a.one(t, "Secret", "latchkey-hmac").Object["data"].(map[string]any)["key"] == b.one(t, "Secret", "latchkey-hmac").Object["data"].(map[string]any)["key"] {
		t.Error("two renders without cluster access made the same key: is the key random?")
	}
	if !strings.Contains(a.notes, "hmacKey.existingSecret") {
		t.Errorf("NOTES of a render without cluster access do not point at hmacKey.existingSecret:\n%s", a.notes)
	}
}

// helmConfig is a Helm action configuration on the test's API server, with
// releases stored in Secrets as `helm` stores them by default.
func helmConfig(t testing.TB, k *testenv.Kube) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	kubeconfig, ns := k.WriteKubeconfig(t), releaseNamespace
	flags.KubeConfig, flags.Namespace = &kubeconfig, &ns
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, releaseNamespace, "secret", t.Logf); err != nil {
		t.Fatalf("helm configuration: %v", err)
	}
	return cfg
}

// TestPackagedChartRendersLikeTheDirectory packages the chart as `helm
// package` does and renders the archive: the same objects as the directory
// (the generated Secrets aside, which are random), CRDs included.
func TestPackagedChartRendersLikeTheDirectory(t *testing.T) {
	archive, err := chartutil.Save(loadChart(t), t.TempDir())
	if err != nil {
		t.Fatalf("packaging the chart: %v", err)
	}
	packaged, err := loader.Load(archive)
	if err != nil {
		t.Fatalf("loading %s: %v", archive, err)
	}
	if len(packaged.CRDObjects()) == 0 || len(packaged.CRDObjects()) != len(loadChart(t).CRDObjects()) {
		t.Errorf("the archive holds %d CRDs, the directory %d", len(packaged.CRDObjects()), len(loadChart(t).CRDObjects()))
	}
	values := parseValues(t, "argocdPlugin: {enabled: true}\nmetrics: {serviceMonitor: {enabled: true}}")
	fromDir, err := renderChart(t, "latchkey", releaseNamespace, values)
	if err != nil {
		t.Fatal(err)
	}
	fromArchive, err := renderChartFrom(t, packaged, "latchkey", releaseNamespace, values)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(r rendered) []string {
		var out []string
		for _, o := range r.objects {
			o = o.DeepCopy()
			if o.GetKind() == "Secret" {
				delete(o.Object, "data")
			}
			b, _ := json.Marshal(o.Object)
			out = append(out, string(b))
		}
		return out
	}
	if a, b := strip(fromDir), strip(fromArchive); !slices.Equal(a, b) {
		t.Errorf("the packaged chart renders differently:\n dir     %v\n archive %v", a, b)
	}
}
