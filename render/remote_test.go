package render

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// countingServer serves a ConfigMap at /cm.yaml and proxies everything
// else to next (a Git server), counting every request it gets.
type countingServer struct {
	*httptest.Server
	hits atomic.Int32
}

func startCountingServer(t *testing.T, next string) *countingServer {
	t.Helper()
	target, err := url.Parse(next)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	s := &countingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if r.URL.Path == "/cm.yaml" {
			_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: remote-file}\n"))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, content := range files {
		m[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return m
}

func TestRemoteBases(t *testing.T) {
	gitSrv := testenv.StartGitServer(t)
	gitSrv.NewRepo(t, "base").Commit(t, "base", map[string]string{
		"app/kustomization.yaml": "resources: [cm.yaml]\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: remote-base}\n",
	})
	srv := startCountingServer(t, gitSrv.URL)
	const local = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local}\n"

	tests := []struct {
		name  string
		files map[string]string // the repository; "app" is rendered
		// refused lists what NoRemoteBases names; nil: nothing to refuse.
		refused []string
		// allowed is what renders without NoRemoteBases, on disk; nil when
		// the case is not about remote content.
		allowed []string
	}{
		{
			name: "a file by URL",
			files: map[string]string{
				"app/kustomization.yaml": "resources:\n- cm.yaml\n- " + srv.URL + "/cm.yaml\n", "app/cm.yaml": local,
			},
			refused: []string{"kustomization.yaml: resources: " + srv.URL + "/cm.yaml"},
			allowed: []string{"ConfigMap /local", "ConfigMap /remote-file"},
		},
		{
			name: "a Git base, cloned with git",
			files: map[string]string{
				"app/kustomization.yaml": "resources:\n- cm.yaml\n- " + srv.URL + "/base.git//app?ref=main\n", "app/cm.yaml": local,
			},
			refused: []string{"kustomization.yaml: resources: " + srv.URL + "/base.git//app?ref=main"},
			allowed: []string{"ConfigMap /local", "ConfigMap /remote-base"},
		},
		{
			name: "a GitHub base, as the kustomize docs write it, in a base of the overlay",
			files: map[string]string{
				"app/kustomization.yaml":  "resources: [../base]\n",
				"base/kustomization.yaml": "bases:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v1.0.6\n",
			},
			refused: []string{"../base/kustomization.yaml: resources: https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v1.0.6"},
		},
		{
			name: "every field that loads a file or a base, each named",
			files: map[string]string{
				"app/kustomization.yaml": `resources: [cm.yaml]
components: ["ssh://git@example.com/org/repo//component", "git::github.com/org/repo//c"]
crds: [https://example.com/crd.json]
configurations: [http://example.com/config.yaml]
patches:
- path: https://example.com/patch.yaml
patchesStrategicMerge: [git@example.com:org/repo]
configMapGenerator:
- name: settings
  files: [conf=https://example.com/app.conf]
transformers: [transformer.yaml]
generators:
- |
  apiVersion: builtin
  kind: SecretGenerator
  metadata: {name: gen}
  envs: [file:///etc/passwd]
`,
				"app/cm.yaml":          local,
				"app/transformer.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: https://example.com/p.yaml\ntarget: {kind: ConfigMap}\n",
			},
			refused: []string{
				"kustomization.yaml: components: ssh://git@example.com/org/repo//component",
				"kustomization.yaml: components: git::github.com/org/repo//c",
				"kustomization.yaml: crds: https://example.com/crd.json",
				"kustomization.yaml: configurations: http://example.com/config.yaml",
				"kustomization.yaml: patchesStrategicMerge: git@example.com:org/repo",
				"kustomization.yaml: patches.path: https://example.com/patch.yaml",
				"kustomization.yaml: configMapGenerator.files: conf=https://example.com/app.conf",
				"transformer.yaml: PatchTransformer.path: https://example.com/p.yaml",
				"kustomization.yaml: generators: SecretGenerator.envs: file:///etc/passwd",
			},
		},
		{
			name: "URLs that are values, not things to load, are not refused",
			files: map[string]string{
				"app/kustomization.yaml": `resources: [cm.yaml]
commonAnnotations: {docs: "https://wiki.example.com/shop"}
images: [{name: shop, newName: ghcr.io/example/shop}]
configMapGenerator:
- name: links
  literals: [HOME=https://shop.example.com]
patches:
- patch: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: local, annotations: {source: "https://github.com/example/shop"}}
`,
				"app/cm.yaml": local,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			before := srv.hits.Load()
			for _, r := range []struct {
				how    string
				render func() (*Result, error)
			}{
				{"on disk", func() (*Result, error) {
					return Dir(context.Background(), filepath.Join(dir, "app"), Options{NoRemoteBases: true})
				}},
				{"from a snapshot", func() (*Result, error) {
					return FS(context.Background(), mapFS(tt.files), "app", Options{NoRemoteBases: true})
				}},
			} {
				res, err := r.render()
				if tt.refused == nil {
					if err != nil {
						t.Fatalf("%s: %v", r.how, err)
					}
					continue
				}
				if !errors.Is(err, ErrRemoteRefused) {
					t.Fatalf("%s: err = %v (objects %v), want ErrRemoteRefused", r.how, err, res)
				}
				for _, want := range tt.refused {
					if !strings.Contains(err.Error(), "\n  "+want+"\n") && !strings.HasSuffix(err.Error(), "\n  "+want) {
						t.Errorf("%s: the error does not name %q:\n%v", r.how, want, err)
					}
				}
				if n := strings.Count(err.Error(), "\n  "); n != len(tt.refused) {
					t.Errorf("%s: %d references named, want %d:\n%v", r.how, n, len(tt.refused), err)
				}
			}
			if n := srv.hits.Load() - before; n != 0 {
				t.Errorf("refused remote content was requested: %d requests", n)
			}
			if tt.allowed == nil {
				return
			}
			// The control: the same tree, remote loading allowed (the CLI's
			// default), does reach the server.
			res, err := Dir(context.Background(), filepath.Join(dir, "app"), Options{})
			if err != nil {
				t.Fatalf("remote allowed: %v", err)
			}
			var got []string
			for _, o := range res.Objects {
				got = append(got, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
			}
			if !reflect.DeepEqual(got, tt.allowed) {
				t.Errorf("remote allowed: rendered %v, want %v", got, tt.allowed)
			}
			if srv.hits.Load() == before {
				t.Errorf("remote allowed: the server got no request")
			}
		})
	}
}

// TestKustomizeStaysInTheSnapshot: a Git snapshot is built under
// LoadRestrictionsRootOnly in memory: a kustomization reads files only
// below itself, and no relative path leads to the disk.
func TestKustomizeStaysInTheSnapshot(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{
		"kustomization.yaml": "resources: [cm.yaml]\n",
		"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-the-disk}\n",
	})
	up := strings.Repeat("../", 32) + strings.TrimPrefix(filepath.ToSlash(outside), "/")
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{name: "a file next to the kustomization's directory",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [../secret.yaml]\n",
				"secret.yaml":            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
			},
			wantErr: "is not in or below"},
		{name: "a directory on the disk, reached through ../",
			files:   map[string]string{"app/kustomization.yaml": "resources: [" + up + "]\n"},
			wantErr: "doesn't exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, opts := range []Options{{}, {NoRemoteBases: true}} {
				res, err := FS(context.Background(), mapFS(tt.files), "app", opts)
				if err == nil {
					t.Fatalf("rendered %v", summary(res))
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
			}
		})
	}
}
