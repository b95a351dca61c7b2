package migration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/resolver"
)

// Locate and Read make memStore a resolver backend of one KV v2 mount at
// secret/, for the proof's logic (the real Vault is in cmd/latchkey's tests).
func (m memStore) Locate(_ context.Context, path string, _ int) (resolver.Location, error) {
	return resolver.Location{Mount: "secret/", Path: strings.TrimPrefix(strings.TrimPrefix(path, "secret/"), "data/"), KVVersion: 2}, nil
}

func (m memStore) Read(_ context.Context, loc resolver.Location, _ string) (*resolver.Secret, error) {
	data, ok := m["secret/data/"+loc.Path]
	if !ok {
		return nil, fmt.Errorf("%s: %w", loc, resolver.ErrNotFound)
	}
	out := map[string]any{}
	for k, v := range data {
		out[k] = v
	}
	return &resolver.Secret{Location: loc, Version: 1, Data: out}, nil
}

func TestProofOfAVaultMigration(t *testing.T) {
	root := copyTree(t)
	ctx := context.Background()
	store := memStore{}
	r := &Renderer{Backend: store, Namespace: "default"}
	key := []byte("proof-key-proof-key-proof-key-32")
	before, err := r.Digest(ctx, root, key)
	if err != nil || len(before.Failed) > 0 {
		t.Fatalf("%v %v", err, before.Failed)
	}
	sites, skipped, err := Locate(root, scanTree(t, root), "default")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanVault(ctx, root, sites, skipped, DefaultVaultPath, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Write(ctx, store); err != nil {
		t.Fatal(err)
	}
	after, err := r.Digest(ctx, root, key)
	if err != nil {
		t.Fatal(err)
	}
	c := Compare(before, after)
	if len(c.Differ) > 0 || len(c.Unproven) > 0 || c.Compared != len(before.Values) {
		t.Fatalf("compare: %+v\nafter failed: %v", c, after.Failed)
	}

	// A value changed behind the migration's back is named, never shown.
	store["secret/data/shop/web"]["DB_PASSWORD"] = "changed"
	changed, err := r.Digest(ctx, root, key)
	if err != nil {
		t.Fatal(err)
	}
	c = Compare(before, changed)
	if len(c.Differ) != 1 || c.Differ[0] != "apps/web/deployment.yaml: Deployment shop/web: container web: env DB_PASSWORD: the value differs" {
		t.Fatalf("compare: %+v", c.Differ)
	}
	// A unit that no longer renders is named with the reason.
	if err := os.WriteFile(filepath.Join(root, "apps/api/secrets.env"), []byte("REDIS_PASSWORD=<path:secret/data/payments/nowhere#x>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken, err := r.Digest(ctx, root, key)
	if err != nil {
		t.Fatal(err)
	}
	if c := Compare(before, broken); len(c.Differ) == 0 || !strings.Contains(strings.Join(c.Differ, "\n"), "apps/api: Secret payments/api-creds: REDIS_PASSWORD: the fixed tree does not render") {
		t.Fatalf("compare: %+v", c.Differ)
	}
}
