package vault

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/resolver"
)

func tokenConfig(v *testenv.Vault) *config.Vault {
	return &config.Vault{
		Address: v.Addr, Timeout: 10 * time.Second, MaxRetries: 2, Concurrency: 4,
		Auth: config.VaultAuth{Method: config.VaultAuthToken, Token: config.Sensitive(v.RootToken)},
	}
}

func newBackend(t *testing.T, cfg *config.Vault) *Backend {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLocateAndReadKV(t *testing.T) {
	v := testenv.StartVault(t)
	v.EnableKV1(t, "kv1")
	v.EnableKV2(t, "team/kv")
	v.PutKV1(t, "kv1", "legacy/app", map[string]any{"name": "legacy"})
	v.PutKV2(t, "secret", "app", map[string]any{"password": "first"})
	v.PutKV2(t, "secret", "app", map[string]any{"password": "second"})
	v.PutKV2(t, "secret", "data/odd", map[string]any{"k": "written under a path starting with data/"})
	v.PutKV2(t, "team/kv", "x", map[string]any{"k": "nested mount"})
	v.PutKV2(t, "secret", "gone", map[string]any{"k": "deleted"})
	if err := v.Client().KVv2("secret").Delete(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, tokenConfig(v))
	ctx := context.Background()

	tests := []struct {
		path, version string
		wantLoc       resolver.Location
		wantVersion   int
		wantData      map[string]any
		wantErr       error
	}{
		{"kv1/legacy/app", "", resolver.Location{Mount: "kv1/", Path: "legacy/app", KVVersion: 1}, 0, map[string]any{"name": "legacy"}, nil},
		{"kv1/legacy/app", "7", resolver.Location{Mount: "kv1/", Path: "legacy/app", KVVersion: 1}, 0, map[string]any{"name": "legacy"}, nil},
		{"secret/app", "", resolver.Location{Mount: "secret/", Path: "app", KVVersion: 2}, 2, map[string]any{"password": "second"}, nil},
		{"secret/data/app", "", resolver.Location{Mount: "secret/", Path: "app", KVVersion: 2}, 2, map[string]any{"password": "second"}, nil},
		{"/secret/data/app/", "1", resolver.Location{Mount: "secret/", Path: "app", KVVersion: 2}, 1, map[string]any{"password": "first"}, nil},
		{"secret/data/data/odd", "", resolver.Location{Mount: "secret/", Path: "data/odd", KVVersion: 2}, 1, map[string]any{"k": "written under a path starting with data/"}, nil},
		{"team/kv/data/x", "", resolver.Location{Mount: "team/kv/", Path: "x", KVVersion: 2}, 1, map[string]any{"k": "nested mount"}, nil},
		{"secret/app", "9", resolver.Location{Mount: "secret/", Path: "app", KVVersion: 2}, 0, nil, resolver.ErrNotFound},
		{"secret/nothing", "", resolver.Location{Mount: "secret/", Path: "nothing", KVVersion: 2}, 0, nil, resolver.ErrNotFound},
		{"kv1/nothing", "", resolver.Location{Mount: "kv1/", Path: "nothing", KVVersion: 1}, 0, nil, resolver.ErrNotFound},
		{"secret/gone", "", resolver.Location{Mount: "secret/", Path: "gone", KVVersion: 2}, 0, nil, resolver.ErrDeleted},
	}
	for _, tt := range tests {
		t.Run(tt.path+"@"+tt.version, func(t *testing.T) {
			loc, err := b.Locate(ctx, tt.path, 0)
			if err != nil {
				t.Fatalf("Locate: %v", err)
			}
			if !loc.Detected || loc.Key() != tt.wantLoc {
				t.Fatalf("Locate = %+v, want %+v (detected)", loc, tt.wantLoc)
			}
			s, err := b.Read(ctx, loc, tt.version)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Read error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if s.Version != tt.wantVersion || len(s.Data) != len(tt.wantData) {
				t.Fatalf("Read = version %d %v", s.Version, s.Data)
			}
			for k, want := range tt.wantData {
				if s.Data[k] != want {
					t.Fatalf("Read[%s] wrong value", k)
				}
			}
		})
	}

	t.Run("not a KV mount", func(t *testing.T) {
		_, err := b.Locate(ctx, "cubbyhole/x", 0)
		if err == nil || !strings.Contains(err.Error(), `"cubbyhole" secrets engine, not KV`) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("current versions come from metadata", func(t *testing.T) {
		app := resolver.Location{Mount: "secret/", Path: "app", KVVersion: 2}
		legacy := resolver.Location{Mount: "kv1/", Path: "legacy/app", KVVersion: 1}
		got, err := b.CurrentVersions(ctx, []resolver.Location{app, legacy, app})
		if err != nil {
			t.Fatal(err)
		}
		if got[app] != 2 || got[legacy] != 0 || len(got) != 2 {
			t.Fatalf("CurrentVersions = %v", got)
		}
		v.PutKV2(t, "secret", "app", map[string]any{"password": "third"})
		if got, _ := b.CurrentVersions(ctx, []resolver.Location{app}); got[app] != 3 {
			t.Fatalf("after a write CurrentVersions = %v, want 3", got)
		}
		_, err = b.CurrentVersions(ctx, []resolver.Location{{Mount: "secret/", Path: "nope", KVVersion: 2}})
		if !errors.Is(err, resolver.ErrNotFound) {
			t.Fatalf("missing metadata: %v", err)
		}
	})
}

func TestAppRoleAuth(t *testing.T) {
	v := testenv.StartVault(t)
	v.PutKV2(t, "secret", "app/db", map[string]any{"password": "p"})
	v.PutKV2(t, "secret", "other", map[string]any{"password": "q"})
	v.WritePolicy(t, "app", `path "secret/data/app/*" { capabilities = ["read"] }`)
	roleID, secretID := v.EnableAppRole(t, "app", []string{"app"})
	audit := v.EnableAuditFile(t)

	cfg := tokenConfig(v)
	cfg.Auth = config.VaultAuth{Method: config.VaultAuthAppRole, RoleID: roleID, SecretID: config.Sensitive(secretID), MountPath: "approle"}
	b := newBackend(t, cfg)
	ctx := context.Background()

	loc, err := b.Locate(ctx, "secret/data/app/db", 0)
	if err != nil {
		t.Fatalf("Locate with a token that may read only secret/data/app/*: %v", err)
	}
	if _, err := b.Read(ctx, loc, ""); err != nil {
		t.Fatalf("Read: %v", err)
	}
	other, err := b.Locate(ctx, "secret/other", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Read(ctx, other, "")
	if !errors.Is(err, resolver.ErrPermissionDenied) || !strings.Contains(err.Error(), "secret/data/other") {
		t.Fatalf("reading outside the policy: %v", err)
	}
	if n := audit.Count(t, "auth/approle/login"); n != 2 {
		// One login, and one more after the 403 in case the token had expired.
		t.Fatalf("logins = %d, want 2", n)
	}

	t.Run("a revoked token is replaced by logging in again", func(t *testing.T) {
		if _, err := v.Client().Logical().Write("sys/leases/revoke-prefix/auth/approle/login", nil); err != nil {
			t.Fatal(err)
		}
		before := audit.Count(t, "auth/approle/login")
		if _, err := b.Read(ctx, loc, ""); err != nil {
			t.Fatalf("Read after revocation: %v", err)
		}
		if n := audit.Count(t, "auth/approle/login"); n != before+1 {
			t.Fatalf("logins after revocation = %d, want %d", n, before+1)
		}
	})

	t.Run("bad credentials fail as an auth error", func(t *testing.T) {
		cfg := tokenConfig(v)
		cfg.Auth = config.VaultAuth{Method: config.VaultAuthAppRole, RoleID: roleID, SecretID: "wrong-secret-id", MountPath: "approle"}
		_, err := newBackend(t, cfg).Locate(ctx, "secret/app/db", 0)
		if !errors.Is(err, resolver.ErrAuth) || strings.Contains(err.Error(), "wrong-secret-id") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTokenRenewalAndRelogin(t *testing.T) {
	v := testenv.StartVault(t)
	v.PutKV2(t, "secret", "app", map[string]any{"k": "v"})
	v.WritePolicy(t, "app", `path "secret/*" { capabilities = ["read"] }`)
	roleID, secretID := v.EnableAppRole(t, "short", []string{"app"})
	// Tokens live 4s and can be renewed up to 6s after login.
	if _, err := v.Client().Logical().Write("auth/approle/role/short", map[string]any{
		"token_policies": []string{"app"}, "token_ttl": "4s", "token_max_ttl": "6s",
	}); err != nil {
		t.Fatal(err)
	}
	audit := v.EnableAuditFile(t)
	cfg := tokenConfig(v)
	cfg.Auth = config.VaultAuth{Method: config.VaultAuthAppRole, RoleID: roleID, SecretID: config.Sensitive(secretID), MountPath: "approle"}
	b := newBackend(t, cfg)
	ctx := context.Background()
	loc, err := b.Locate(ctx, "secret/app", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Read for 9s, past the max TTL: the token is renewed, then replaced.
	deadline := time.Now().Add(9 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := b.Read(ctx, loc, ""); err != nil {
			t.Fatalf("Read at %s: %v", time.Until(deadline), err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	renewals, logins := audit.Count(t, "auth/token/renew-self"), audit.Count(t, "auth/approle/login")
	if renewals == 0 || logins < 2 {
		t.Fatalf("renew-self %d, logins %d: want renewals and a second login", renewals, logins)
	}
}

func TestKubernetesAuth(t *testing.T) {
	k := testenv.Shared(t)
	v := testenv.StartVault(t)
	const reviewerNS, reviewerSA = "vault-system", "reviewer"
	reviewerJWT := k.ServiceAccountToken(t, reviewerNS, reviewerSA)
	k.BindClusterRole(t, "system:auth-delegator", reviewerNS, reviewerSA)
	v.PutKV2(t, "secret", "apps/web", map[string]any{"token": "t"})
	v.WritePolicy(t, "web", `path "secret/data/apps/*" { capabilities = ["read"] }`)
	v.EnableKubernetesAuth(t, k.Host(), k.CACert(), reviewerJWT, "web", "latchkey", "latchkey-system", []string{"web"})

	tests := []struct {
		name, saNamespace, saName string
		wantErr                   error
	}{
		{"the bound ServiceAccount logs in", "latchkey-system", "latchkey", nil},
		{"another ServiceAccount is refused", "latchkey-system", "intruder", resolver.ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokenFile := t.TempDir() + "/token"
			writeFile(t, tokenFile, k.ServiceAccountToken(t, tt.saNamespace, tt.saName))
			cfg := tokenConfig(v)
			cfg.Auth = config.VaultAuth{Method: config.VaultAuthKubernetes, Role: "web", TokenPath: tokenFile, MountPath: "kubernetes"}
			b := newBackend(t, cfg)
			loc, err := b.Locate(context.Background(), "secret/apps/web", 0)
			if err == nil {
				_, err = b.Read(context.Background(), loc, "")
			}
			if !errors.Is(err, tt.wantErr) && (tt.wantErr != nil || err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
