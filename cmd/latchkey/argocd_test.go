package main

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/render"
)

// The Argo CD plugin files: every generate command is a latchkey command
// line this binary accepts, and the repo-server patch applies to an Argo CD
// repo-server (a trimmed copy of upstream's) with kustomize.
func TestArgoCDPluginFiles(t *testing.T) {
	deploy := filepath.Join("..", "..", "deploy", "argocd")
	data, err := os.ReadFile(filepath.Join(deploy, "cmp-plugins.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"latchkey.yaml", "latchkey-helm.yaml", "latchkey-kustomize.yaml"} {
		var plugin struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Generate struct {
					Command []string `json:"command"`
				} `json:"generate"`
			} `json:"spec"`
		}
		if err := yaml.UnmarshalStrict([]byte(cm.Data[name]), &plugin); err != nil && !strings.Contains(err.Error(), "unknown field") {
			t.Fatalf("%s: %v", name, err)
		}
		argv := plugin.Spec.Generate.Command
		if plugin.Kind != "ConfigManagementPlugin" || plugin.Metadata.Name+".yaml" != name || len(argv) < 2 || argv[0] != "/latchkey" {
			t.Fatalf("%s: %+v", name, plugin)
		}
		root := newRootCommand()
		sub, rest, err := root.Find(argv[1:])
		if err != nil || sub.Name() != "render" {
			t.Fatalf("%s: %v does not name latchkey render: %v", name, argv, err)
		}
		if err := sub.ParseFlags(rest); err != nil {
			t.Fatalf("%s: %v: %v", name, argv, err)
		}
	}

	// The patch against a repo-server Deployment shaped like upstream's.
	dir := t.TempDir()
	for _, f := range []string{"cmp-plugins.yaml", "repo-server-patch.yaml"} {
		b, err := os.ReadFile(filepath.Join(deploy, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k, err := os.ReadFile(filepath.Join(deploy, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kust := strings.Replace(string(k), "- cmp-plugins.yaml\n", "- cmp-plugins.yaml\n- repo-server.yaml\n", 1)
	for name, content := range map[string]string{"kustomization.yaml": kust, "repo-server.yaml": upstreamRepoServer} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := render.Dir(context.Background(), dir, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var dep *unstructured.Unstructured
	for _, o := range res.Objects {
		if o.GetKind() == "Deployment" {
			dep = o
		}
	}
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	var names []string
	for _, c := range containers {
		cm := c.(map[string]any)
		names = append(names, cm["name"].(string))
		if cm["name"] == "argocd-repo-server" {
			continue
		}
		mounts, _ := yaml.Marshal(cm["volumeMounts"])
		if !strings.Contains(string(mounts), "subPath: "+cm["name"].(string)+".yaml") || !strings.Contains(string(mounts), "mountPath: /var/run/argocd") {
			t.Errorf("sidecar %s mounts:\n%s", cm["name"], mounts)
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "argocd-repo-server,latchkey,latchkey-helm,latchkey-kustomize" {
		t.Fatalf("containers %v", names)
	}
}

// upstreamRepoServer is argocd-repo-server as upstream's install.yaml
// declares it, trimmed to what the patch touches.
const upstreamRepoServer = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
  namespace: argocd
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: argocd-repo-server}
  template:
    metadata:
      labels: {app.kubernetes.io/name: argocd-repo-server}
    spec:
      containers:
      - name: argocd-repo-server
        image: quay.io/argoproj/argocd:v3.2.0
        volumeMounts:
        - {name: var-files, mountPath: /var/run/argocd}
        - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}
      initContainers:
      - name: copyutil
        image: quay.io/argoproj/argocd:v3.2.0
        command: [/bin/cp, -n, /usr/local/bin/argocd, /var/run/argocd/argocd-cmp-server]
        volumeMounts:
        - {name: var-files, mountPath: /var/run/argocd}
      volumes:
      - {name: var-files, emptyDir: {}}
      - {name: plugins, emptyDir: {}}
`
