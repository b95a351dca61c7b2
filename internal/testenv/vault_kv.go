package testenv

import (
	"context"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

// DefaultKV2Mount is where dev mode mounts KV v2, as upstream `vault server
// -dev` does.
const DefaultKV2Mount = "secret"

// EnableKV1 mounts a KV version 1 engine at mount (tests use "kv1").
func (v *Vault) EnableKV1(t testing.TB, mount string) {
	t.Helper()
	v.enableKV(t, mount, "1")
}

// EnableKV2 mounts a KV version 2 engine at mount. secret/ is already KV v2.
func (v *Vault) EnableKV2(t testing.TB, mount string) {
	t.Helper()
	v.enableKV(t, mount, "2")
}

func (v *Vault) enableKV(t testing.TB, mount, version string) {
	t.Helper()
	mount = strings.Trim(mount, "/")
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err := v.Client().Sys().MountWithContext(ctx, mount, &vaultapi.MountInput{
		Type:    "kv",
		Options: map[string]string{"version": version},
	})
	if err != nil {
		t.Fatalf("testenv: mounting KV v%s at %s/: %v", version, mount, err)
	}
}

// PutKV2 writes data as a new version of path in the KV v2 engine at mount
// and returns the version number Vault assigned.
func (v *Vault) PutKV2(t testing.TB, mount, path string, data map[string]any) int {
	t.Helper()
	version, err := v.launched().PutKV2(context.Background(), mount, path, data)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return version
}

// PutKV1 writes data to path in the KV v1 engine at mount, replacing it.
func (v *Vault) PutKV1(t testing.TB, mount, path string, data map[string]any) {
	t.Helper()
	mount = strings.Trim(mount, "/")
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := v.Client().KVv1(mount).Put(ctx, path, data); err != nil {
		t.Fatalf("testenv: writing KV v1 %s/%s: %v", mount, path, err)
	}
}
