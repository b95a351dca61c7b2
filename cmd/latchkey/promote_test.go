package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

const promoteCanary = "canary-promote-5b9c2e"

const stagingDB = `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
stringData:
  user: <path:secret/data/shop/db#user>
  password: <path:secret/data/shop/db#password>
`

// promoteRepo is a repository whose second commit adds a reference to a
// key staging's Vault does not have yet.
func promoteRepo(t *testing.T) (repo *testenv.GitRepo, r1, r2 string) {
	t.Helper()
	repo = testenv.StartGitServer(t).NewRepo(t, "shop")
	r1 = repo.Commit(t, "shop: staging overlay", map[string]string{
		"apps/shop/overlays/staging/db.yaml":  stagingDB,
		"apps/shop/overlays/staging/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\ndata: {level: info}\n",
	})
	r2 = repo.Commit(t, "shop: the payments API key", map[string]string{
		"apps/shop/overlays/staging/db.yaml":  stagingDB + "  apikey: <path:secret/data/shop/db#apikey>\n",
		"apps/shop/overlays/staging/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\ndata: {level: debug}\n",
	})
	return repo, r1, r2
}

func exitCode(err error) int {
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestPromoteCheckNamesTheMissingKeyAndTheCommandThatAddsIt(t *testing.T) {
	v := testenv.StartVault(t)
	v.PutKV2(t, "secret", "shop/db", map[string]any{"user": "shop_app", "password": promoteCanary})
	repo, r1, r2 := promoteRepo(t)
	env := map[string]string{"VAULT_ADDR": v.Addr, "VAULT_TOKEN": v.RootToken}
	overlay := "apps/shop/overlays/staging"

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"a local checkout at the new commit", []string{"promote", "--check", "--repo", repo.Work, "--revision", r2, overlay}, 1, []string{
			"apps/shop/overlays/staging/db.yaml:1: secret/data/shop/db#apikey: key missing (Secret shop/db, stringData.apikey)",
			"1 key is missing in Vault for apps/shop/overlays/staging at " + r2[:12] + " (3 references checked)",
			"  vault kv patch -mount=secret shop/db apikey=-",
		}},
		{"the remote repository's branch", []string{"promote", "--check", "--repo", repo.URL, "--revision", "main", overlay}, 1, []string{
			"secret/data/shop/db#apikey: key missing",
		}},
		{"the previous commit, by a go-git revision", []string{"promote", "--check", "--repo", repo.Work, "--revision", "HEAD~1", overlay}, 0, []string{
			"every key exists: 2 references of apps/shop/overlays/staging at " + r1[:12] + " checked in 1 secret",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := runLatchkey(t, env, "", tt.args...)
			if got := exitCode(err); got != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d; stdout:\n%s\nstderr:\n%s", got, err, tt.wantCode, out, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out+stderr, promoteCanary) {
				t.Errorf("the output holds the secret value:\n%s\n%s", out, stderr)
			}
			t.Logf("stdout:\n%s", out)
		})
	}

	// Once the key is written, the same revision passes.
	v.PutKV2(t, "secret", "shop/db", map[string]any{"user": "shop_app", "password": promoteCanary, "apikey": promoteCanary + "-2"})
	out, _, err := runLatchkey(t, env, "", "promote", "--check", "--repo", repo.Work, "--revision", r2, overlay)
	if exitCode(err) != 0 || !strings.Contains(out, "every key exists: 3 references") {
		t.Errorf("after writing the key: exit %d, stdout:\n%s", exitCode(err), out)
	}
}

func TestPromoteCheckErrorIsNotAMissingKey(t *testing.T) {
	repo, _, r2 := promoteRepo(t)
	env := map[string]string{"VAULT_ADDR": "http://" + testenv.FreeLoopbackAddr(t), "VAULT_TOKEN": "unused", "VAULT_MAX_RETRIES": "0"}
	out, stderr, err := runLatchkey(t, env, "", "promote", "--check", "--repo", repo.Work, "--revision", r2, "apps/shop/overlays/staging")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "could not be checked") {
		t.Fatalf("exit %d (%v), want 2 with the unchecked references; stdout:\n%s\nstderr:\n%s", exitCode(err), err, out, stderr)
	}
	if strings.Contains(out, "missing") {
		t.Errorf("an unreachable Vault reported missing keys:\n%s", out)
	}
}

func TestPromoteDiffMasksValues(t *testing.T) {
	v := testenv.StartVault(t)
	v.PutKV2(t, "secret", "shop/db", map[string]any{"user": "shop_app", "password": promoteCanary, "apikey": promoteCanary + "-api"})
	repo, r1, r2 := promoteRepo(t)
	env := map[string]string{"VAULT_ADDR": v.Addr, "VAULT_TOKEN": v.RootToken}

	out, stderr, err := runLatchkey(t, env, "", "promote", "--diff", "--repo", repo.Work, r1, r2, "apps/shop/overlays/staging")
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
	t.Logf("the diff:\n%s", out)
	for _, w := range []string{
		"~ ConfigMap shop/app",
		"-  level: info",
		"+  level: debug",
		"~ Secret shop/db",
		"+  apikey: <path:secret/data/shop/db#apikey> [v1 hmac:",
		"2 objects of apps/shop/overlays/staging differ from " + r1 + " (" + r1[:12] + ") to " + r2,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("diff lacks %q:\n%s", w, out)
		}
	}
	// The password is the same value on both sides: it is not a change.
	if strings.Contains(out, "-  password:") || strings.Contains(out, "+  password:") {
		t.Errorf("an unchanged value shows as changed:\n%s", out)
	}
	if strings.Contains(out+stderr, promoteCanary) {
		t.Errorf("the diff holds a secret value:\n%s\n%s", out, stderr)
	}
}
