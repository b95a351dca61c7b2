package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// avpVault fills a real Vault with the contents argocd-vault-plugin's own
// tests put in theirs (pkg/helpers/test_helpers.go): secret/ as KV v1, kv/
// as KV v2, read through AppRole with the same policies. It returns the
// environment AVP's tests run `generate` with.
func avpVault(t *testing.T) map[string]string {
	t.Helper()
	v := testenv.StartVault(t)
	if err := v.Client().Sys().Unmount("secret"); err != nil {
		t.Fatal(err)
	}
	v.EnableKV1(t, "secret")
	v.EnableKV2(t, "kv")
	v.PutKV1(t, "secret", "testing", map[string]any{
		"name": "test-name", "namespace": "test-namespace", "version": "1.0", "replicas": "2", "tag": "1.0",
		"secret-var-value": "dGVzdC1wYXNzd29yZA==", "secret-var-value2": "dGVzdC1wYXNzd29yZDI=",
		"secret-num": "MQ==", "secret-var-clear": "test-password",
	})
	v.PutKV2(t, "kv", "testing", map[string]any{
		"name": "test-kv-name", "namespace": "test-kv-namespace", "version": "1.2", "replicas": "3", "tag": "1.1", "target-port": 80,
	})
	v.PutKV1(t, "secret", "foo", map[string]any{"secret": "bar"})
	v.PutKV1(t, "secret", "json", map[string]any{"data": map[string]any{
		"service":    map[string]any{"enableTLS": true, "ports": []int{80, 8080}},
		"deployment": map[string]any{"replicas": 2, "image": map[string]any{"name": "json-test", "tag": "latest"}},
	}})
	v.PutKV1(t, "secret", "jsonstring", map[string]any{"secret": `{"credentials":{"user":"test-user","pass":"test-password"}}`})
	v.PutKV2(t, "kv", "test", map[string]any{"hello": "world"})
	v.PutKV1(t, "secret", "bad_test", map[string]any{"hello": "world"})
	v.PutKV2(t, "kv", "versioned", map[string]any{"secret": "version1"})
	v.PutKV2(t, "kv", "versioned", map[string]any{"secret": "version2"})
	v.PutKV1(t, "secret", "base64", map[string]any{"encoded_secret": "ewogICJrZXkxIjogInNlY3JldDEiLAogICJrZXkyIjogInNlY3JldDIiLAogICJrZXkzIjogInNlY3JldDMiCn0K"})
	v.PutKV1(t, "secret", "yaml", map[string]any{"secret": "---\nkey1: secret1\nkey2: secret2\nkey3: secret3"})
	v.WritePolicy(t, "approle-secret", `path "secret/*" { capabilities = ["read", "list"] }`)
	v.WritePolicy(t, "approle-kv", `path "kv/*" { capabilities = ["read", "list"] }`)
	roleID, secretID := v.EnableAppRole(t, "role1", []string{"approle-secret", "approle-kv"})
	return map[string]string{
		"AVP_TYPE": "vault", "VAULT_ADDR": v.Addr, "AVP_AUTH_TYPE": "approle",
		"AVP_ROLE_ID": roleID, "AVP_SECRET_ID": secretID, "VAULT_SKIP_VERIFY": "true",
	}
}

// runLatchkey runs the command tree in process with env set.
func runLatchkey(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	for _, k := range []string{"VAULT_ADDR", "VAULT_TOKEN", "AVP_TYPE", "AVP_AUTH_TYPE", "AVP_ROLE_ID", "AVP_SECRET_ID", "AVP_KV_VERSION", "ARGOCD_APP_NAME", "ARGOCD_APP_NAMESPACE", "ARGOCD_APP_PARAMETERS", "ARGOCD_ENV_HELM_ARGS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	return execLatchkey(stdin, args...)
}

// execLatchkey runs the CLI in-process with the environment as it is, for
// a command that reads none of it (approve): unlike runLatchkey, the
// caller may be a parallel test.
func execLatchkey(stdin string, args ...string) (stdout, stderr string, err error) {
	cmd := newRootCommand()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// The argocd-vault-plugin fixtures resolve to AVP's expected output, byte
// for byte, given the Vault contents AVP's tests use.
func TestRenderAVPFixtureParity(t *testing.T) {
	fixtures := filepath.Join(testenv.CorpusDir(t), "argocd-vault-plugin", "fixtures")
	if _, err := os.Stat(fixtures); err != nil {
		testenv.Unavailable(t, "corpus not available: "+err.Error())
	}
	env := avpVault(t)
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(fixtures, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		want    string
		wantErr string
	}{
		{name: "the nonempty directory", args: []string{"render", filepath.Join(fixtures, "input", "nonempty")}, want: read("output/all.yaml")},
		{name: "an ignored Secret", args: []string{"render", filepath.Join(fixtures, "input", "nonempty", "ignored-secret.yaml")}, want: read("output/ignored-secret.yaml")},
		{name: "standard input", args: []string{"render", "-"}, stdin: read("input/nonempty/full.yaml"), want: read("output/stdin-full.yaml")},
		{name: "an empty manifest", args: []string{"render", filepath.Join(fixtures, "input", "empty", "file.yaml")}, want: ""},
		{name: "invalid YAML on standard input", args: []string{"render", "-"}, stdin: read("input/invalid.yaml"), wantErr: "<stdin>:18: invalid YAML: did not find expected key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runLatchkey(t, env, tt.stdin, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if stdout != "" {
					t.Fatalf("stdout is not empty on failure:\n%s", stdout)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v\nstderr: %s", err, stderr)
			}
			if stdout != tt.want {
				t.Fatalf("output differs from AVP's fixture\n--- got\n%s\n--- want\n%s", stdout, tt.want)
			}
		})
	}
}

// Kustomize and Helm renders go through the same resolution: references
// survive both tools untouched and are resolved afterwards.
func TestRenderKustomizeAndHelmResolve(t *testing.T) {
	v := testenv.StartVault(t)
	v.PutKV2(t, "secret", "web", map[string]any{"password": "kustomize-pw"})
	v.PutKV2(t, "secret", "demo", map[string]any{"password": "helm-pw"})
	env := map[string]string{"VAULT_ADDR": v.Addr, "VAULT_TOKEN": v.RootToken}
	testdata := filepath.Join("..", "..", "render", "testdata")
	tests := []struct {
		name  string
		args  []string
		extra map[string]string
		want  []string
	}{
		{"kustomize overlay", []string{"render", filepath.Join(testdata, "kustomize", "overlays", "prod")},
			nil, []string{"name: prod-web-db", "namespace: prod", "password: kustomize-pw", "replicas: 3"}},
		{"helm chart with Argo CD's application name and namespace", []string{"render", filepath.Join(testdata, "chart"), "--set", "replicas=2"},
			nil, []string{"name: shop-db", "password: helm-pw", "namespace: shop", "replicas: 2", "kind: CustomResourceDefinition"}},
		{"helm chart with Argo CD plugin parameters and AVP's HELM_ARGS", []string{"render", filepath.Join(testdata, "chart")},
			map[string]string{
				"ARGOCD_APP_PARAMETERS": `[{"name":"mode","string":"helm"},{"name":"set","map":{"image":"web:2"}},{"name":"release-name","string":"web"}]`,
				"ARGOCD_ENV_HELM_ARGS":  "--set replicas=7 --skip-crds",
			},
			[]string{"name: web-db", "image: web:2", "replicas: 7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{"ARGOCD_APP_NAME": "shop", "ARGOCD_APP_NAMESPACE": "shop"}
			for k, val := range env {
				e[k] = val
			}
			for k, val := range tt.extra {
				e[k] = val
			}
			out, stderr, err := runLatchkey(t, e, "", tt.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.extra != nil && strings.Contains(out, "CustomResourceDefinition") {
				t.Errorf("--skip-crds from ARGOCD_ENV_HELM_ARGS was ignored")
			}
		})
	}
}

// `latchkey render` loads remote kustomize bases and files as kustomize
// does, unless --no-remote-bases refuses them before anything is fetched.
func TestRenderRemoteBases(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: remote}\n"))
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources:\n- "+srv.URL+"/cm.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantOut  string // on stdout; "" means nothing at all
		wantErr  string
		wantHits int32
	}{
		{name: "allowed by default, as kustomize build", args: []string{"render", dir},
			wantOut: "name: remote", wantHits: 1},
		{name: "refused with --no-remote-bases", args: []string{"render", "--no-remote-bases", dir},
			wantErr: "kustomization.yaml: resources: " + srv.URL + "/cm.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			out, stderr, err := runLatchkey(t, nil, "", tt.args...)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if (tt.wantOut == "") != (out == "") || !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout = %q, want %q", out, tt.wantOut)
			}
			if n := hits.Load(); n != tt.wantHits {
				t.Errorf("the server got %d requests, want %d", n, tt.wantHits)
			}
		})
	}
}

// render is argocd-vault-plugin's drop-in: a value in metadata or outside a
// Secret is placed as AVP places it, and stderr names the object and field
// (the controller refuses both).
func TestRenderWarnsOfValuesOutsideSecrets(t *testing.T) {
	v := testenv.StartVault(t)
	v.PutKV2(t, "secret", "app", map[string]any{"password": "render-pw-canary", "tier": "gold"})
	dir := t.TempDir()
	files := map[string]string{
		"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: '<path:secret/data/app#password>'}\n",
		"cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, labels: {tier: '<path:secret/data/app#tier>'}}\ndata: {password: '<path:secret/data/app#password>'}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, err := runLatchkey(t, map[string]string{"VAULT_ADDR": v.Addr, "VAULT_TOKEN": v.RootToken}, "", "render", dir)
	if err != nil {
		t.Fatalf("render: %v\n%s", err, stderr)
	}
	for _, w := range []string{"password: render-pw-canary", "tier: gold"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q (AVP places the value):\n%s", w, stdout)
		}
	}
	for _, w := range []string{
		"cm.yaml:1) field data.password: secret/data/app#password resolves outside a Secret",
		"cm.yaml:1) field metadata.labels.tier: secret/data/app#tier resolves in metadata",
	} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s\nstdout:\n%s", w, stderr, stdout)
		}
	}
	if n := strings.Count(stderr, "latchkey: warning: ConfigMap cfg ("); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, stderr)
	}
	if strings.Contains(stderr, "Secret db") || strings.Contains(stderr, "render-pw-canary") || strings.Contains(stderr, "gold") {
		t.Errorf("stderr warns of the Secret or holds a value:\n%s", stderr)
	}
}
