package migration

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/resolver/vault"
	"github.com/latchkey-dev/latchkey/scanner"
)

// labelled is every plaintext value of testdata/repo: where it is, the form
// it has, and where --fix vault with the default path moves it.
var labelled = []struct {
	file  string
	line  int
	form  Form
	path  string
	key   string
	value string
}{
	{"apps/api/deployment.yaml", 17, WorkloadEnv, "secret/data/payments/api", "WEBHOOK_SECRET", "Pq4-canary-kenv-H6tYu3"},
	{"apps/api/kustomization.yaml", 9, GeneratorLiteral, "secret/data/payments/api-creds", "api_key", "Gc2-canary-literal-X5pLq8"},
	{"apps/api/kustomization.yaml", 10, GeneratorLiteral, "secret/data/payments/api-creds", "db_password", "Tz9-canary-qliteral-M3vBn6"},
	{"apps/api/secrets.env", 2, GeneratorEnv, "secret/data/payments/api-creds", "REDIS_PASSWORD", "Fk7-canary-envfile-D2sWq9"},
	{"apps/api/tls.key", 1, GeneratorFile, "secret/data/payments/api-tls", "tls.key", ""},
	{"apps/legacy/secret.yaml", 8, SecretStringData, "secret/data/shop/legacy", "admin_password", "Lx2-canary-crlf-B8nMk4"},
	{"apps/web/deployment.yaml", 21, WorkloadEnv, "secret/data/shop/web", "DB_PASSWORD", "Jm3-canary-env-Q7wRt5"},
	{"apps/web/deployment.yaml", 22, WorkloadEnv, "secret/data/shop/web", "STRIPE_API_KEY", "Vb8-canary-flowenv-L4nZc1"},
	{"apps/web/secret.yaml", 11, SecretStringData, "secret/data/shop/web-db", "password", "Wq7-canary-plain-Z3kLm9"},
	{"apps/web/secret.yaml", 12, SecretStringData, "secret/data/shop/web-db", "api-token", "Rt4-canary-dquote-P8xVn2"},
	{"apps/web/secret.yaml", 13, SecretStringData, "secret/data/shop/web-db", "session_secret", "Hy6-canary-squote-K2mQw7"},
	{"apps/web/secret.yaml", 16, SecretData, "secret/data/shop/web-db", "signing-key", "Nb5-canary-base64-W9rTx4"},
	{"charts/shop/values.yaml", 8, HelmValue, "secret/data/default/shop", "postgresql.auth.password", "Dv5-canary-helm-R1cXz8"},
}

// copyTree copies testdata/repo into a temporary directory.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", "repo")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func scanTree(t *testing.T, root string) []scanner.Finding {
	t.Helper()
	sc, err := scanner.New(scanner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sc.Run(context.Background(), &scanner.Worktree{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

func TestLocateFindsEveryLabelledForm(t *testing.T) {
	root := copyTree(t)
	sites, skipped, err := Locate(root, scanTree(t, root), "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) > 0 {
		t.Errorf("left alone: %+v", skipped)
	}
	if len(sites) != len(labelled) {
		t.Fatalf("%d sites, want %d: %+v", len(sites), len(labelled), sites)
	}
	for i, want := range labelled {
		s := sites[i]
		if s.File != want.file || s.Line != want.line || s.Form != want.form || s.Key != want.key {
			t.Errorf("site %d = %s:%d %s key %q, want %s:%d %s key %q", i, s.File, s.Line, s.Form, s.Key, want.file, want.line, want.form, want.key)
		}
		if want.value != "" && s.value != want.value {
			t.Errorf("%s:%d: located value differs from the label", s.File, s.Line)
		}
		p, err := expandPath(DefaultVaultPath, s.Object, s.Key)
		if err != nil || p != want.path {
			t.Errorf("%s:%d: path %q (%v), want %q", s.File, s.Line, p, err, want.path)
		}
	}
}

// memStore is Vault's check-and-set semantics in memory, for the pure
// planning and rewriting logic (the real Vault is in cmd/latchkey's tests).
type memStore map[string]map[string]string

func (m memStore) CheckKey(_ context.Context, path, key, value string) (vault.KeyState, error) {
	cur, ok := m[path][key]
	switch {
	case !ok:
		return vault.KeyAbsent, nil
	case cur == value:
		return vault.KeyEqual, nil
	}
	return vault.KeyDifferent, nil
}

func (m memStore) PutKey(ctx context.Context, path, key, value string) (vault.KeyState, error) {
	st, _ := m.CheckKey(ctx, path, key, value)
	switch st {
	case vault.KeyDifferent:
		return st, vault.ErrKeyConflict
	case vault.KeyAbsent:
		if m[path] == nil {
			m[path] = map[string]string{}
		}
		m[path][key] = value
	}
	return st, nil
}

func TestWriteRewritesOnlyTheSecretLines(t *testing.T) {
	root := copyTree(t)
	before := readAll(t, root)
	sites, skipped, err := Locate(root, scanTree(t, root), "default")
	if err != nil {
		t.Fatal(err)
	}
	store := memStore{"secret/data/shop/web-db": {"password": "Wq7-canary-plain-Z3kLm9", "other": "kept"}}
	plan, err := PlanVault(context.Background(), root, sites, skipped, DefaultVaultPath, store)
	if err != nil {
		t.Fatal(err)
	}
	w, err := plan.Write(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	if w.Reused != 1 || w.Stored != len(labelled)-1 {
		t.Errorf("stored %d, reused %d", w.Stored, w.Reused)
	}
	for _, l := range labelled {
		if got := store[l.path][l.key]; l.value != "" && got != l.value {
			t.Errorf("Vault %s#%s does not hold the labelled value", l.path, l.key)
		}
	}
	if store["secret/data/shop/web-db"]["other"] != "kept" {
		t.Error("another key at the path was lost")
	}
	if got := store["secret/data/payments/api-tls"]["tls.key"]; got != before["apps/api/tls.key"] {
		t.Error("the generator file's content is not the stored value")
	}
	after := readAll(t, root)
	want := map[string]string{
		"apps/web/secret.yaml": "  password: <path:secret/data/shop/web-db#password>   # the literal to move\n" +
			"  api-token: \"<path:secret/data/shop/web-db#api-token>\"\n" +
			"  session_secret: '<path:secret/data/shop/web-db#session_secret>'\n" +
			"  signing-key: PHBhdGg6c2VjcmV0L2RhdGEvc2hvcC93ZWItZGIjc2lnbmluZy1rZXk+\n",
		"apps/web/deployment.yaml": "              valueFrom: {secretKeyRef: {name: web-env, key: DB_PASSWORD}}   # moved to a secretKeyRef\n" +
			"            - {name: STRIPE_API_KEY, valueFrom: {secretKeyRef: {name: web-env, key: STRIPE_API_KEY}}}\n",
		"apps/api/kustomization.yaml": "  - deployment.yaml\n  - api-env-secret.yaml\n" +
			"      - api_key=<path:secret/data/payments/api-creds#api_key>\n" +
			"      - \"db_password=<path:secret/data/payments/api-creds#db_password>\"\n",
		"apps/api/secrets.env":     "REDIS_PASSWORD=<path:secret/data/payments/api-creds#REDIS_PASSWORD>\n",
		"apps/legacy/secret.yaml":  "  admin_password: <path:secret/data/shop/legacy#admin_password>\r\n",
		"charts/shop/values.yaml":  "    password: <path:secret/data/default/shop#postgresql.auth.password>\n",
		"apps/api/deployment.yaml": "              valueFrom: {secretKeyRef: {name: api-env, key: WEBHOOK_SECRET}}\n",
		"apps/api/tls.key":         "<path:secret/data/payments/api-tls#tls.key>",
	}
	// The lines each file had that it no longer has: only the secret lines.
	changed := map[string]int{"apps/web/secret.yaml": 4, "apps/web/deployment.yaml": 2, "apps/api/kustomization.yaml": 2,
		"apps/api/secrets.env": 1, "apps/legacy/secret.yaml": 1, "charts/shop/values.yaml": 1, "apps/api/deployment.yaml": 1, "apps/api/tls.key": 5}
	for file, lines := range want {
		for _, l := range strings.SplitAfter(lines, "\n") {
			if !strings.Contains(after[file], l) {
				t.Errorf("%s:\n%s\nwant it to contain %q", file, after[file], l)
			}
		}
		gone := 0
		for _, l := range strings.SplitAfter(before[file], "\n") {
			if !strings.Contains(after[file], l) {
				gone++
			}
		}
		if gone != changed[file] {
			t.Errorf("%s: %d lines changed, want %d", file, gone, changed[file])
		}
	}
	for file := range before {
		if _, ok := want[file]; !ok && before[file] != after[file] {
			t.Errorf("%s changed", file)
		}
	}
	gen := after["apps/web/web-env-secret.yaml"]
	if !strings.Contains(gen, "name: web-env\n  namespace: shop\n") || !strings.Contains(gen, "  DB_PASSWORD: <path:secret/data/shop/web#DB_PASSWORD>\n  STRIPE_API_KEY: <path:secret/data/shop/web#STRIPE_API_KEY>\n") {
		t.Errorf("generated Secret:\n%s", gen)
	}
	if gen := after["apps/api/api-env-secret.yaml"]; !strings.Contains(gen, "name: api-env\ntype: Opaque") {
		t.Errorf("generated Secret without a namespace:\n%s", gen)
	}
	for file, content := range after {
		for _, l := range labelled {
			if l.value != "" && strings.Contains(content, l.value) {
				t.Errorf("%s still holds the value of %s:%d", file, l.file, l.line)
			}
		}
	}
	if left := scanTree(t, root); len(left) > 0 {
		t.Errorf("the fixed tree has findings: %+v", left)
	}
}

func TestPlanNeverOverwritesADifferentValue(t *testing.T) {
	root := copyTree(t)
	sites, skipped, err := Locate(root, scanTree(t, root), "default")
	if err != nil {
		t.Fatal(err)
	}
	store := memStore{"secret/data/shop/legacy": {"admin_password": "someone-elses-value"}}
	plan, err := PlanVault(context.Background(), root, sites, skipped, DefaultVaultPath, store)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	plan.Print(&out)
	if !strings.Contains(out.String(), "apps/legacy/secret.yaml:8 → secret/data/shop/legacy#admin_password (Secret stringData): SKIPPED: Vault already holds a different value") {
		t.Errorf("plan:\n%s", out.String())
	}
	if _, err := plan.Write(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	if store["secret/data/shop/legacy"]["admin_password"] != "someone-elses-value" {
		t.Fatal("a different value was overwritten")
	}
	if b, _ := os.ReadFile(filepath.Join(root, "apps/legacy/secret.yaml")); !strings.Contains(string(b), "Lx2-canary-crlf-B8nMk4") {
		t.Fatal("the skipped literal was rewritten anyway")
	}
	for _, l := range labelled {
		if l.value != "" && strings.Contains(out.String(), l.value) {
			t.Fatalf("the plan prints the value of %s:%d", l.file, l.line)
		}
	}
}

func readAll(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A secretGenerator env file reached through a symbolic link to a directory
// outside the tree is neither read nor rewritten.
func TestLocateRefusesFilesOutsideTheTree(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	env := "DB_PASSWORD=Mz4-canary-outside-Vw8Lk2\n"
	if err := os.WriteFile(filepath.Join(outside, "secrets.env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	k := "secretGenerator:\n- name: app\n  envs:\n  - link/secrets.env\nresources: []\n"
	if err := os.WriteFile(filepath.Join(root, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	findings := scanTree(t, root)
	if len(findings) == 0 {
		t.Fatal("no finding through the link: this test no longer exercises the refusal (the scanner reads kustomize siblings through links today)")
	}
	sites, skipped, err := Locate(root, findings, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != 0 || len(skipped) != 1 || !strings.Contains(skipped[0].Reason, "outside") {
		t.Fatalf("sites %+v, skipped %+v", sites, skipped)
	}
}

func TestRenderFailuresAreRedacted(t *testing.T) {
	r := &Renderer{Values: []string{"Ab3-canary-err-Zx9Qw1", "ab"}}
	got := r.redact(`line 3: "Ab3-canary-err-Zx9Qw1" and QWIzLWNhbmFyeS1lcnItWng5UXcx, about`)
	if strings.Contains(got, "canary") || strings.Contains(got, "QWIzLWNhbmFyeS1lcnItWng5UXcx") || !strings.Contains(got, "about") {
		t.Fatalf("redacted: %s", got)
	}
}

func TestHistorySplitsCommittedFromHistoryOnly(t *testing.T) {
	tree := []scanner.Finding{{File: "apps/s.yaml", Line: 3, RuleID: "kubernetes-secret", Fingerprint: "a", Secret: "Wq7-*****"}}
	history := []scanner.Finding{
		{File: "apps/s.yaml", Line: 3, RuleID: "kubernetes-secret", Fingerprint: "a", Secret: "Wq7-*****", Commit: "1111111111111111"},
		{File: "old/c.yaml", Line: 5, RuleID: "kubernetes-secret", Fingerprint: "b", Commit: "2222222222222222"},
		{File: "old/c.yaml", Line: 5, RuleID: "kubernetes-secret", Fingerprint: "b", Commit: "3333333333333333"},
	}
	sites := []*Site{{File: "apps/s.yaml", Line: 3}, {File: "apps/t.yaml", Line: 1}}
	only := History("", tree, sites, history)
	if len(only) != 1 || only[0].File != "old/c.yaml" || only[0].Commit != "2222222222222222" {
		t.Fatalf("history only: %+v", only)
	}
	if !sites[0].Committed || sites[1].Committed {
		t.Fatalf("committed: %v %v", sites[0].Committed, sites[1].Committed)
	}
	// A scan root below the repository root: history paths are cut to it,
	// and files outside it are not this migration's.
	only = History("sub", []scanner.Finding{{File: "apps/s.yaml", RuleID: "r", Secret: "x"}}, nil, []scanner.Finding{
		{File: "sub/apps/s.yaml", RuleID: "r", Secret: "x", Fingerprint: "other"},
		{File: "elsewhere/c.yaml", RuleID: "r", Fingerprint: "c"},
		{File: "sub/old.yaml", RuleID: "r", Fingerprint: "d", Commit: "4"},
	})
	if len(only) != 1 || only[0].File != "old.yaml" {
		t.Fatalf("below the root: %+v", only)
	}
	var out strings.Builder
	PrintHistory(&out, only)
	if !strings.Contains(out.String(), "NOT fixed (1): rotate these values") || !strings.Contains(out.String(), "old.yaml:0 in commit 4 (r)") {
		t.Fatalf("%s", out.String())
	}
}
