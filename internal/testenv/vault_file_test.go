package testenv

import (
	"context"
	"net/http"
	"testing"
)

// A durable Vault keeps its data and its address across a restart, serves
// the same KV v2 surface as dev mode, and a sealed one answers 503 until it
// is unsealed.
func TestVaultFileStorageSurvivesRestartAndSeal(t *testing.T) {
	v := StartVault(t, WithFileStorage())
	addr := v.Addr
	ctx := context.Background()
	if got := v.PutKV2(t, DefaultKV2Mount, "app/db", map[string]any{"password": "before-restart"}); got != 1 {
		t.Fatalf("first write is version %d, want 1", got)
	}

	v.Restart(t)
	if v.Addr != addr {
		t.Fatalf("restarted on %s, want the same address %s", v.Addr, addr)
	}
	s, err := v.Client().KVv2(DefaultKV2Mount).Get(ctx, "app/db")
	if err != nil {
		t.Fatalf("reading after restart: %v", err)
	}
	if s.Data["password"] != "before-restart" || s.VersionMetadata.Version != 1 {
		t.Errorf("after restart: version %d %v, want version 1 as written", s.VersionMetadata.Version, s.Data)
	}

	v.Seal(t)
	_, err = v.Client().KVv2(DefaultKV2Mount).Get(ctx, "app/db")
	if got := statusOf(err); got != http.StatusServiceUnavailable {
		t.Fatalf("sealed server answered %d (%v), want 503", got, err)
	}
	h, err := v.Client().Sys().HealthWithContext(ctx)
	if err != nil || !h.Sealed {
		t.Errorf("sys/health of the sealed server: %+v, %v; want sealed", h, err)
	}

	v.Unseal(t)
	if got := v.PutKV2(t, DefaultKV2Mount, "app/db", map[string]any{"password": "after-unseal"}); got != 2 {
		t.Errorf("write after unseal is version %d, want 2", got)
	}
}

// Dev mode has no unseal key to keep: restarting it would lose everything,
// so the harness refuses rather than pretend.
func TestVaultDevModeRefusesRestart(t *testing.T) {
	v := StartVault(t)
	if err := v.launched().Restart(context.Background()); err == nil {
		t.Fatal("restarting a dev-mode Vault succeeded; want an error naming WithFileStorage's storage")
	}
}
