package reconcile_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// bitnami is the corpus of bitnami's charts.
const bitnami = "../../shared/corpus/bitnami-charts/bitnami"

// chartFiles reads the chart at dir into a Git commit's file map, under
// prefix.
func chartFiles(t *testing.T, dir, prefix string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[path.Join(prefix, filepath.ToSlash(rel))] = string(data)
		return nil
	})
	if err != nil {
		t.Skipf("the bitnami corpus is not there (%v)", err)
	}
	return files
}

// A bitnami chart picks API versions with its common library (fetched from
// a chart repository, as Chart.lock pins it), from the cluster's
// capabilities: reconciled by a Sync, its PodDisruptionBudget,
// Ingress and HorizontalPodAutoscaler get versions the test API server
// serves, and every object is applied. A chart that requires Kubernetes
// >= 1.29 renders (Helm's own default is v1.20.0), and one that renders a
// kind only when the cluster serves it picks the kind up once its CRD is
// installed, without a new commit.
func TestHelmCapabilitiesFromCluster(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "charts")
	files := chartFiles(t, filepath.Join(bitnami, "apache"), "apache")
	// Its dependency, bitnami's common library, comes from a chart
	// repository, at the version Chart.lock pins.
	charts := testenv.StartChartRepository(t, filepath.Join(bitnami, "common"))
	common := chartFiles(t, filepath.Join(bitnami, "common"), "common")["common/Chart.yaml"]
	commonVersion := regexp.MustCompile(`(?m)^version: (\S+)`).FindStringSubmatch(common)[1]
	files["apache/Chart.yaml"] = strings.ReplaceAll(files["apache/Chart.yaml"], "oci://registry-1.docker.io/bitnamicharts", charts.URL)
	files["apache/Chart.lock"] = regexp.MustCompile(`version: \S+`).ReplaceAllString(
		strings.ReplaceAll(files["apache/Chart.lock"], "oci://registry-1.docker.io/bitnamicharts", charts.URL), "version: "+commonVersion)
	files["caps/Chart.yaml"] = "apiVersion: v2\nname: caps\nversion: 0.1.0\nkubeVersion: \">=1.29.0-0\"\n"
	files["caps/templates/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caps}\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
	files["caps/templates/probe.yaml"] = "{{- if .Capabilities.APIVersions.Has \"monitoring.example.com/v1/Probe\" }}\napiVersion: monitoring.example.com/v1\nkind: Probe\nmetadata: {name: caps}\nspec: {target: web}\n{{- end }}\n"
	rev := sc.repo.Commit(t, "charts", files)

	startShardController(t, sc.kube, nil, "", func(o *reconcile.Options) {
		o.CapabilitiesTTL = time.Second
		o.RemoteHosts = []string{charts.Host()}
	})
	sc.kube.CreateNamespace(t, "web")
	web := sc.gitSync("web", "apache", "apache", time.Hour)
	web.Spec.Render = v1alpha1.Render{Type: v1alpha1.RenderHelm, Helm: &v1alpha1.HelmRender{
		Values: &apiextensionsv1.JSON{Raw: []byte(`{"ingress":{"enabled":true,"hostname":"web.example.com"},"autoscaling":{"enabled":true}}`)},
	}}
	caps := sc.gitSync("web", "caps", "caps", 2*time.Second)
	sc.create(t, web, caps)

	sc.waitApplied(t, "the bitnami chart applied", "web", "apache", rev)
	var pdb policyv1.PodDisruptionBudget
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "web", Name: "apache"}, &pdb); err != nil {
		t.Errorf("PodDisruptionBudget policy/v1: %v", err)
	}
	var ing networkingv1.Ingress
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "web", Name: "apache"}, &ing); err != nil {
		t.Errorf("Ingress networking.k8s.io/v1: %v", err)
	}
	hpa := &unstructured.Unstructured{}
	hpa.SetAPIVersion("autoscaling/v2")
	hpa.SetKind("HorizontalPodAutoscaler")
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "web", Name: "apache"}, hpa); err != nil {
		t.Errorf("HorizontalPodAutoscaler autoscaling/v2: %v", err)
	}
	if ready := condition(getSync(t, sc.c, "web", "apache"), v1alpha1.ConditionReady); ready[:4] != "True" {
		t.Errorf("Ready %s", ready)
	}

	sc.waitApplied(t, "the chart requiring Kubernetes >= 1.29 applied", "web", "caps", rev)
	var cm corev1.ConfigMap
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "web", Name: "caps"}, &cm); err != nil {
		t.Fatal(err)
	}
	if v := cm.Data["kube"]; len(v) < 6 || v[:6] != "v1.37." {
		t.Errorf("rendered for Kubernetes %q, the server is v1.37", v)
	}

	probe := &unstructured.Unstructured{}
	probe.SetAPIVersion("monitoring.example.com/v1")
	probe.SetKind("Probe")
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(probeCRD), &crd.Object); err != nil {
		t.Fatal(err)
	}
	sc.create(t, crd)
	eventually(t, 60*time.Second, "the Probe rendered once the cluster serves its kind", func() error {
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "web", Name: "caps"}, probe); err != nil {
			return fmt.Errorf("%v; Ready %s", err, condition(getSync(t, sc.c, "web", "caps"), v1alpha1.ConditionReady))
		}
		return nil
	})
}

const probeCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: probes.monitoring.example.com}
spec:
  group: monitoring.example.com
  names: {kind: Probe, listKind: ProbeList, plural: probes, singular: probe}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`
