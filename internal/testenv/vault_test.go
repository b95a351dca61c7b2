package testenv

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

func TestVaultDevModeMountsKV2AtSecret(t *testing.T) {
	v := StartVault(t)
	mounts, err := v.Client().Sys().ListMountsWithContext(context.Background())
	if err != nil {
		t.Fatalf("listing mounts: %v", err)
	}
	m, ok := mounts["secret/"]
	if !ok {
		t.Fatalf("no secret/ mount; mounts: %v", slices.Sorted(maps.Keys(mounts)))
	}
	if m.Type != "kv" || m.Options["version"] != "2" {
		t.Errorf("secret/ is type %q options %v, want kv version 2", m.Type, m.Options)
	}
}

func TestVaultKV2KeepsEveryVersion(t *testing.T) {
	v := StartVault(t)
	ctx := context.Background()
	writes := []map[string]any{
		{"password": "first-value"},
		{"password": "second-value"},
	}
	for i, data := range writes {
		if got := v.PutKV2(t, DefaultKV2Mount, "app/db", data); got != i+1 {
			t.Fatalf("write %d got version %d, want %d", i+1, got, i+1)
		}
	}

	kv := v.Client().KVv2(DefaultKV2Mount)
	for i, want := range writes {
		s, err := kv.GetVersion(ctx, "app/db", i+1)
		if err != nil {
			t.Fatalf("reading version %d: %v", i+1, err)
		}
		if s.Data["password"] != want["password"] || s.VersionMetadata.Version != i+1 {
			t.Errorf("version %d: got %v (version %d), want %v", i+1, s.Data, s.VersionMetadata.Version, want)
		}
	}
	latest, err := kv.Get(ctx, "app/db")
	if err != nil {
		t.Fatalf("reading latest: %v", err)
	}
	if latest.VersionMetadata.Version != 2 || latest.Data["password"] != "second-value" {
		t.Errorf("latest: got %v (version %d), want second-value (version 2)", latest.Data, latest.VersionMetadata.Version)
	}
}

func TestVaultKV1PutReplaces(t *testing.T) {
	v := StartVault(t)
	v.EnableKV1(t, "kv1/")
	v.PutKV1(t, "kv1", "app/api", map[string]any{"token": "old", "user": "svc"})
	v.PutKV1(t, "kv1", "app/api", map[string]any{"token": "new"})

	s, err := v.Client().KVv1("kv1").Get(context.Background(), "app/api")
	if err != nil {
		t.Fatalf("reading kv1/app/api: %v", err)
	}
	// KV v1 has no versions: a put replaces the whole secret.
	if len(s.Data) != 1 || s.Data["token"] != "new" {
		t.Errorf("kv1/app/api = %v, want only token=new", s.Data)
	}
}

func TestVaultAppRoleTokenFollowsItsPolicy(t *testing.T) {
	v := StartVault(t)
	v.PutKV2(t, DefaultKV2Mount, "app/db", map[string]any{"password": "p"})
	v.PutKV2(t, DefaultKV2Mount, "other/db", map[string]any{"password": "q"})
	v.WritePolicy(t, "app-read", `path "secret/data/app/*" { capabilities = ["read"] }`)
	roleID, secretID := v.EnableAppRole(t, "app", []string{"app-read"})

	c := v.Client()
	c.ClearToken()
	login, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil {
		t.Fatalf("approle login: %v", err)
	}
	if login.Auth == nil || login.Auth.ClientToken == "" {
		t.Fatalf("approle login returned no token: %+v", login)
	}
	if !slices.Contains(login.Auth.TokenPolicies, "app-read") {
		t.Errorf("login token policies = %v, want app-read among them", login.Auth.TokenPolicies)
	}
	c.SetToken(login.Auth.ClientToken)

	tests := []struct {
		path       string
		wantStatus int // 0: the read succeeds
	}{
		{path: "app/db"},
		{path: "other/db", wantStatus: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := c.KVv2(DefaultKV2Mount).Get(context.Background(), tt.path)
			if got := statusOf(err); got != tt.wantStatus {
				t.Errorf("reading secret/%s: status %d (err %v), want %d", tt.path, got, err, tt.wantStatus)
			}
		})
	}

	c.ClearToken()
	if _, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": "wrong"}); err == nil {
		t.Error("approle login with a wrong secret_id succeeded")
	}
}

func TestVaultAuditLogCountsRequestsByPath(t *testing.T) {
	v := StartVault(t)
	v.PutKV2(t, DefaultKV2Mount, "a", map[string]any{"k": "v"})
	audit := v.EnableAuditFile(t)

	kv := v.Client().KVv2(DefaultKV2Mount)
	reads := map[string]int{"a": 3, "missing": 2}
	for path, n := range reads {
		for range n {
			_, _ = kv.Get(context.Background(), path) // a missing path is a request too
		}
	}
	v.PutKV2(t, DefaultKV2Mount, "a", map[string]any{"k": "v2"})

	tests := []struct {
		path string
		want int
	}{
		{"secret/data/a", 3 + 1}, // three reads and the write
		{"secret/data/missing", 2},
		{"secret/data/never", 0},
	}
	for _, tt := range tests {
		if got := audit.Count(t, tt.path); got != tt.want {
			t.Errorf("Count(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
	ops := map[string]int{}
	for _, r := range audit.Requests(t) {
		if r.Path == "secret/data/a" {
			ops[r.Operation]++
			if r.MountType != "kv" {
				t.Errorf("request %s %s: mount type %q, want kv", r.Operation, r.Path, r.MountType)
			}
		}
	}
	if ops["read"] != 3 || ops["update"] != 1 {
		t.Errorf("operations on secret/data/a = %v, want 3 read and 1 update", ops)
	}
}

func statusOf(err error) int {
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	if err != nil {
		return -1
	}
	return 0
}
