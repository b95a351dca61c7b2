package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// capabilitiesChart writes a chart that shows what it was rendered for: it
// requires Kubernetes >= 1.29 (as Latchkey's own chart does) and prints the
// version and whether batch/v1, its CronJob kind (discovery names kinds,
// the built-in default only versions) and a CRD's version are served.
func capabilitiesChart(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: caps\nversion: 0.1.0\nkubeVersion: \">=1.29.0-0\"\n",
		"templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: caps}
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  batch: {{ .Capabilities.APIVersions.Has "batch/v1" | quote }}
  cronjobs: {{ .Capabilities.APIVersions.Has "batch/v1/CronJob" | quote }}
  monitoring: {{ .Capabilities.APIVersions.Has "monitoring.example.com/v1" | quote }}
`,
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

func TestRenderCapabilities(t *testing.T) {
	chart := capabilitiesChart(t)

	t.Run("without a cluster: a current default, and a warning that says how to do better", func(t *testing.T) {
		out, errOut, err := runLatchkey(t, nil, "", "render", chart)
		if err != nil {
			t.Fatalf("a chart requiring Kubernetes >= 1.29 does not render by default: %v\n%s", err, errOut)
		}
		if strings.Contains(out, `kube: v1.20.0`) || !strings.Contains(out, `batch: "true"`) {
			t.Errorf("rendered for:\n%s", out)
		}
		if !strings.Contains(errOut, "warning") || !strings.Contains(errOut, "--kubeconfig") {
			t.Errorf("no warning naming --kubeconfig: %q", errOut)
		}
	})

	t.Run("--kube-version and --api-versions, as helm template takes them", func(t *testing.T) {
		out, errOut, err := runLatchkey(t, nil, "", "render", chart, "--kube-version", "v1.31.4", "--api-versions", "monitoring.example.com/v1")
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		if !strings.Contains(out, `kube: v1.31.4`) || !strings.Contains(out, `monitoring: "true"`) || strings.Contains(errOut, "warning") {
			t.Errorf("rendered for:\n%s\nstderr: %s", out, errOut)
		}
		_, errOut, err = runLatchkey(t, nil, "", "render", chart, "--kube-version", "v1.28.0")
		if err == nil || !strings.Contains(errOut+err.Error(), "kubeVersion") {
			t.Errorf("a cluster older than the chart allows renders: %v %s", err, errOut)
		}
	})

	t.Run("--kubeconfig: the cluster's version and served APIs, CRDs included", func(t *testing.T) {
		kube := testenv.StartKube(t, testenv.WithCRDPaths(writeCRD(t)))
		kubeconfig := kube.WriteKubeconfig(t)
		out, errOut, err := runLatchkey(t, nil, "", "render", chart, "--kubeconfig", kubeconfig)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		if !strings.Contains(out, `kube: v1.37.`) || !strings.Contains(out, `cronjobs: "true"`) || !strings.Contains(out, `monitoring: "true"`) || strings.Contains(errOut, "warning") {
			t.Errorf("rendered for:\n%s\nstderr: %s", out, errOut)
		}
	})
}

// writeCRD writes a CustomResourceDefinition of monitoring.example.com/v1
// Probe for the test API server to serve.
func writeCRD(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	crd := `apiVersion: apiextensions.k8s.io/v1
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
	if err := os.WriteFile(filepath.Join(dir, "probe.yaml"), []byte(crd), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// --resolve-values: the chart sees the Vault value (its checksum and
// b64enc are of it); the value is on standard output, in the Secret only,
// and not on standard error.
func TestRenderResolveValues(t *testing.T) {
	const canary = "canary-3d1f7a-render-values"
	v := testenv.StartVault(t)
	v.PutKV2(t, "secret", "shop/db", map[string]any{"password": canary})
	dir := t.TempDir()
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: db\nversion: 0.1.0\n",
		"values.yaml": "password: <path:secret/data/shop/db#password>\n",
		"templates/all.yaml": `apiVersion: v1
kind: Secret
metadata: {name: db}
data:
  password: {{ .Values.password | b64enc | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: db
  annotations: {checksum: {{ .Values.password | sha256sum | quote }}}
`,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"VAULT_ADDR": v.Addr, "VAULT_TOKEN": v.RootToken}
	out, errOut, err := runLatchkey(t, env, "", "render", dir, "--resolve-values", "--kube-version", "v1.37.0")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(canary))
	h := sha256.Sum256([]byte(canary))
	if !strings.Contains(out, "password: "+b64) || !strings.Contains(out, hex.EncodeToString(h[:])) {
		t.Errorf("the chart did not see the value:\n%s", out)
	}
	if strings.Contains(errOut, canary) || strings.Contains(errOut, b64) {
		t.Errorf("standard error holds the value: %s", errOut)
	}

	// Without it the chart hashes the placeholder: the checksum is wrong.
	out, _, _ = runLatchkey(t, env, "", "render", dir, "--kube-version", "v1.37.0")
	if strings.Contains(out, hex.EncodeToString(h[:])) {
		t.Errorf("without --resolve-values the chart saw the value:\n%s", out)
	}
}
