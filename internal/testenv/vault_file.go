package testenv

import (
	"context"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// Restart stops a durable Vault (WithFileStorage) and starts it again on
// the same address, unsealed, with the data it had.
func (v *Vault) Restart(t testing.TB) {
	t.Helper()
	if err := v.durable(t).Restart(context.Background()); err != nil {
		t.Fatalf("testenv: restarting vault: %v", err)
	}
}

// Seal seals a durable Vault: every request but sys/health, sys/seal-status
// and sys/unseal answers 503 until Unseal.
func (v *Vault) Seal(t testing.TB) {
	t.Helper()
	if err := v.durable(t).Seal(context.Background()); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Unseal unseals a sealed durable Vault with the key the harness kept and
// waits until it serves again.
func (v *Vault) Unseal(t testing.TB) {
	t.Helper()
	if err := v.durable(t).Unseal(context.Background()); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

func (v *Vault) durable(t testing.TB) *components.Vault {
	t.Helper()
	if v.server == nil {
		t.Fatal("testenv: this Vault is a dev-mode server (in memory): start it with StartVault(t, WithFileStorage()) to restart or seal it")
	}
	return v.server
}

// Stop stops a durable Vault and leaves it stopped (connections refused)
// until Start: an outage of any length.
func (v *Vault) Stop(t testing.TB) {
	t.Helper()
	if err := v.durable(t).Stop(); err != nil {
		t.Fatalf("testenv: stopping vault: %v", err)
	}
}

// Start starts a stopped durable Vault again on its address and unseals it.
func (v *Vault) Start(t testing.TB) {
	t.Helper()
	if err := v.durable(t).Start(context.Background()); err != nil {
		t.Fatalf("testenv: starting vault again: %v", err)
	}
}
