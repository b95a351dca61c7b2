package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// summary lists objects as "Kind namespace/name <- origin".
func summary(res *Result) []string {
	var out []string
	for i, o := range res.Objects {
		out = append(out, fmt.Sprintf("%s %s/%s <- %s", o.GetKind(), o.GetNamespace(), o.GetName(), res.Origin(i)))
	}
	return out
}

func TestRenderDir(t *testing.T) {
	tests := []struct {
		name     string
		dir      string
		opts     Options
		wantMode Mode
		want     []string
		skipped  []string
		check    func(t *testing.T, objs []*unstructured.Unstructured)
	}{
		{
			name: "plain YAML and JSON, recursively, in lexical order, lists expanded, dot-directories skipped",
			dir:  "testdata/plain", wantMode: Plain,
			want: []string{
				"ConfigMap /first <- testdata/plain/a.yaml:1",
				"Deployment /second <- testdata/plain/a.yaml:11",
				"Service /listed-a <- testdata/plain/list.yml:1",
				"Service /listed-b <- testdata/plain/list.yml:1",
				"Secret /third <- testdata/plain/sub/b.json:1",
			},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				if r, _, _ := unstructured.NestedInt64(objs[1].Object, "spec", "replicas"); r != 2 {
					t.Errorf("replicas = %v, want int64 2", objs[1].Object["spec"])
				}
			},
		},
		{
			name: "a kustomize overlay with a base outside its directory",
			dir:  "testdata/kustomize/overlays/prod", wantMode: Kustomize,
			// kustomize build's legacy order: Secrets before Deployments.
			want: []string{
				"Secret prod/prod-web-db <- testdata/kustomize/base/secret.yaml",
				"Deployment prod/prod-web <- testdata/kustomize/base/deployment.yaml",
			},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				if r, _, _ := unstructured.NestedInt64(objs[1].Object, "spec", "replicas"); r != 3 {
					t.Errorf("patched replicas = %v", objs[1].Object["spec"])
				}
				if pw, _, _ := unstructured.NestedString(objs[0].Object, "stringData", "password"); pw != "<path:secret/data/web#password>" {
					t.Errorf("references must pass through kustomize untouched, got %q", pw)
				}
			},
		},
		{
			name: "a helm chart with values files and --set, CRDs, hooks but not tests, vendored subchart",
			dir:  "testdata/chart", wantMode: Helm,
			opts: Options{Helm: HelmOptions{ReleaseName: "rel", Namespace: "apps", ValuesFiles: []string{"testdata/prod-values.yaml"}, Set: []string{"image=nginx:1.27"}}},
			// Helm's install order: CRDs, Secrets, ConfigMaps, ..., hooks last.
			want: []string{
				"CustomResourceDefinition /widgets.example.com <- testdata/chart/crds/widgets.yaml",
				"Secret /rel-db <- testdata/chart/templates/deployment.yaml",
				"ConfigMap /rel-sub <- testdata/chart/charts/sub/templates/cm.yaml",
				"Deployment apps/rel-web <- testdata/chart/templates/deployment.yaml",
				"Job /rel-migrate <- testdata/chart/templates/job.yaml",
			},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				d := objs[3].Object
				if r, _, _ := unstructured.NestedInt64(d, "spec", "replicas"); r != 5 {
					t.Errorf("replicas from the values file = %v", d["spec"])
				}
				c, _, _ := unstructured.NestedSlice(d, "spec", "template", "spec", "containers")
				if c[0].(map[string]any)["image"] != "nginx:1.27" {
					t.Errorf("--set image ignored: %v", c)
				}
				if g, _, _ := unstructured.NestedString(objs[2].Object, "data", "greeting"); g != "bonjour" {
					t.Errorf("subchart value = %q", g)
				}
			},
		},
		{
			name: "the mode can be forced: a kustomize base as plain YAML, the kustomization skipped",
			dir:  "testdata/kustomize/base", opts: Options{Mode: Plain}, wantMode: Plain,
			want: []string{
				"Deployment /web <- testdata/kustomize/base/deployment.yaml:1",
				"Secret /web-db <- testdata/kustomize/base/secret.yaml:1",
			},
			skipped: []string{"kustomization.yaml:1: not a Kubernetes object (apiVersion and kind are required)"},
		},
		{
			name: "configuration files that are not objects are still skipped: a kustomization with kind and no apiVersion, a chart's Chart.yaml, a values file",
			dir:  "testdata/notobjects", opts: Options{Mode: Plain}, wantMode: Plain,
			want: []string{"ConfigMap /app <- testdata/notobjects/app.yaml:1"},
			skipped: []string{
				"app/kustomization.yaml:1: not a Kubernetes object (apiVersion and kind are required)",
				"chart/Chart.yaml:1: not a Kubernetes object (apiVersion and kind are required)",
				"chart/values.yaml:1: not a Kubernetes object (apiVersion and kind are required)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Dir(context.Background(), tt.dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Mode != tt.wantMode {
				t.Errorf("mode = %q, want %q", res.Mode, tt.wantMode)
			}
			if got := summary(res); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			var skipped []string
			for _, s := range res.Skipped {
				skipped = append(skipped, s.Source.String()+": "+s.Reason)
			}
			if !reflect.DeepEqual(skipped, tt.skipped) {
				t.Errorf("skipped %q, want %q", skipped, tt.skipped)
			}
			if tt.check != nil {
				tt.check(t, res.Objects)
			}
		})
	}
}

func TestRenderFS(t *testing.T) {
	// A Git snapshot as the controller holds it: an overlay reaching ../base.
	snap := fstest.MapFS{}
	err := filepath.WalkDir("testdata/kustomize", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel("testdata", p)
		snap["repo/"+filepath.ToSlash(rel)] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := FS(context.Background(), snap, "repo/kustomize/overlays/prod", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Secret prod/prod-web-db <- repo/kustomize/base/secret.yaml",
		"Deployment prod/prod-web <- repo/kustomize/base/deployment.yaml",
	}
	if got := summary(res); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	res, err = FS(context.Background(), snap, "repo/kustomize/base", Options{Mode: Plain})
	if err != nil || len(res.Objects) != 2 || res.Origin(0) != "repo/kustomize/base/deployment.yaml:1" {
		t.Fatalf("plain FS render: %v %v", err, summary(res))
	}
}

func TestRenderErrorsNameFileAndLine(t *testing.T) {
	corpus := filepath.Join(testenv.CorpusDir(t), "argocd-vault-plugin", "fixtures", "input")
	tests := []struct {
		name    string
		files   map[string]string
		dir     string
		wantErr string
		is      error
	}{
		{name: "argocd-vault-plugin's invalid.yaml", dir: corpus, wantErr: "invalid.yaml:18: invalid YAML: did not find expected key"},
		{name: "a syntax error in a later document points into the file",
			files:   map[string]string{"x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n   bad: indent\n"},
			wantErr: "x.yaml:9: invalid YAML"},
		{name: "an object without kind inside a List",
			files:   map[string]string{"x.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  metadata: {name: a}\n"},
			wantErr: "x.yaml:1: item 0 of the List: apiVersion and kind are required"},
		{name: "a document with kind but no apiVersion fails rather than being skipped (and its object pruned)",
			files:   map[string]string{"x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: ConfigMap\nmetadata: {name: b}\n"},
			wantErr: "x.yaml:5: a document with kind and metadata but no apiVersion"},
		{name: "a document with metadata only",
			files:   map[string]string{"x.yaml": "metadata: {name: b}\ndata: {a: b}\n"},
			wantErr: "x.yaml:1: a document with metadata but no apiVersion"},
		{name: "a document with apiVersion but no kind",
			files:   map[string]string{"x.json": `{"apiVersion": "apps/v1", "metadata": {"name": "web"}}`},
			wantErr: "x.json:1: a document with apiVersion but no kind"},
		{name: "a Helm template that loses its apiVersion",
			files: map[string]string{"Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
				"templates/cm.yaml": "kind: ConfigMap\nmetadata: {name: a}\n"},
			wantErr: "templates/cm.yaml: a document with kind and metadata but no apiVersion"},
		{name: "no manifests at all", files: map[string]string{"README.md": "hi"}, is: ErrNoManifests},
		{name: "a kustomization that does not build",
			files:   map[string]string{"kustomization.yaml": "resources: [missing.yaml]\n"},
			wantErr: "kustomize build: "},
		{name: "a chart with a dependency that is not vendored",
			files:   map[string]string{"Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies: [{name: redis, version: 1.0.0}]\n"},
			wantErr: "missing in charts/ directory: redis (run `helm dependency build` and commit charts/, or allow the repository's host with --allow-remote-hosts)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = t.TempDir()
				for name, content := range tt.files {
					if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			} else if _, err := os.Stat(dir); err != nil {
				testenv.Unavailable(t, fmt.Sprintf("corpus not available: %v", err))
			}
			_, err := Dir(context.Background(), dir, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestStream(t *testing.T) {
	res, err := Stream(strings.NewReader("---\n---\n# only comments\n"), "<stdin>")
	if err != nil || len(res.Objects) != 0 {
		t.Fatalf("comments-only stream: %v %v", err, res)
	}
	res, err = Stream(strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"), "<stdin>")
	if err != nil || len(res.Objects) != 2 || res.Origin(1) != "<stdin>:5" {
		t.Fatalf("stream: %v %v", err, summary(res))
	}
}

func TestHelmValuesPrecedence(t *testing.T) {
	// The order of `helm template -f FILE ... --set ...`, with a Sync's inline
	// values as one more file after the listed ones.
	tests := []struct {
		name            string
		opts            HelmOptions
		replicas        int64
		image, greeting string
	}{
		{name: "the chart's defaults",
			replicas: 1, image: "nginx", greeting: "hello"},
		{name: "a values file over the defaults",
			opts:     HelmOptions{ValuesFiles: []string{"testdata/prod-values.yaml"}},
			replicas: 5, image: "nginx", greeting: "bonjour"},
		{name: "inline values over the values file, nested maps merged deeply",
			opts: HelmOptions{ValuesFiles: []string{"testdata/prod-values.yaml"},
				// Numbers as a JSON decoder gives them.
				Values: map[string]any{"replicas": float64(7), "sub": map[string]any{"extra": "x"}}},
			replicas: 7, image: "nginx", greeting: "bonjour"},
		{name: "inline values alone",
			opts:     HelmOptions{Values: map[string]any{"image": "from-values", "sub": map[string]any{"greeting": "hallo"}}},
			replicas: 1, image: "from-values", greeting: "hallo"},
		{name: "--set over inline values, without writing into them",
			opts: HelmOptions{Values: map[string]any{"image": "from-values", "sub": map[string]any{"greeting": "hallo"}},
				Set: []string{"image=nginx:1.27", "sub.greeting=servus"}},
			replicas: 1, image: "nginx:1.27", greeting: "servus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprint(tt.opts.Values)
			res, err := Dir(context.Background(), "testdata/chart", Options{Mode: Helm, Helm: tt.opts})
			if err != nil {
				t.Fatal(err)
			}
			if after := fmt.Sprint(tt.opts.Values); after != before {
				t.Errorf("the caller's values changed: %s, was %s", after, before)
			}
			var deploy, cm *unstructured.Unstructured
			for _, o := range res.Objects {
				switch o.GetKind() {
				case "Deployment":
					deploy = o
				case "ConfigMap":
					cm = o
				}
			}
			if deploy == nil || cm == nil {
				t.Fatalf("rendered %v", summary(res))
			}
			if r, _, _ := unstructured.NestedInt64(deploy.Object, "spec", "replicas"); r != tt.replicas {
				t.Errorf("replicas = %v, want %d", deploy.Object["spec"], tt.replicas)
			}
			c, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
			if img := c[0].(map[string]any)["image"]; img != tt.image {
				t.Errorf("image = %v, want %s", img, tt.image)
			}
			if g, _, _ := unstructured.NestedString(cm.Object, "data", "greeting"); g != tt.greeting {
				t.Errorf("subchart greeting = %q, want %q", g, tt.greeting)
			}
		})
	}
}
