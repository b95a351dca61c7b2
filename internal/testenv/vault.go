package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// VaultVersion is the Vault release tools/vault builds (components.Tools).
const VaultVersion = components.VaultVersion

// callTimeout bounds every harness call to Vault, so a hung server fails the
// test instead of hanging it.
const callTimeout = 30 * time.Second

// Vault is a running Vault server: unsealed, KV v2 at secret/, and a root
// token the test chose. By default it is a dev-mode server (in-memory
// storage); WithFileStorage makes it durable, for Restart, Seal and Unseal.
type Vault struct {
	// Addr is the server URL, e.g. http://127.0.0.1:41234.
	Addr string
	// RootToken is the dev server's root token.
	RootToken string

	// dir holds files the server writes (audit logs); removed after the
	// server has stopped.
	dir string
	// server is the launched server of a durable Vault (nil in dev mode,
	// whose launcher needs nothing but the address and token).
	server *components.Vault
}

// VaultOption changes how StartVault starts the server.
type VaultOption func(*components.Vault)

// WithFileStorage starts a durable server: file storage under the test's
// temporary directory, sealed at each start and unsealed by the harness
// with the key it kept, on an address that stays the same across
// Restart. Its data survive Restart; Seal and Unseal work.
func WithFileStorage() VaultOption {
	return func(v *components.Vault) { v.Storage = components.VaultFile }
}

// StartVault starts the Vault server built by `make tools` (dev mode unless
// an option says otherwise) on a free loopback port with a random root
// token, waits until it reports healthy, and stops it when the test ends; a
// server that does not exit cleanly on SIGTERM fails the test.
func StartVault(t testing.TB, opts ...VaultOption) *Vault {
	t.Helper()
	// Created before the stop cleanup is registered, so it is removed after
	// the server has exited (cleanups run last-in first-out).
	v := &components.Vault{Dir: t.TempDir()}
	for _, o := range opts {
		o(v)
	}
	err := v.Start(context.Background())
	t.Cleanup(func() {
		stopped(t, "vault", v.Stop())
		if t.Failed() {
			t.Logf("testenv: vault output:\n%s", v.Logs())
		}
	})
	started(t, "starting vault", err)
	tv := &Vault{Addr: v.Addr, RootToken: v.RootToken, dir: v.Dir}
	if v.Storage == components.VaultFile {
		tv.server = v
	}
	return tv
}

// Client returns a new API client for the server, authenticated with the root
// token. Each call returns an independent client, so a test may switch its
// token (after an AppRole login, say) without affecting others. Retries are
// off: a failing request must show up in the test, and request counts taken
// from the audit log must not include retries.
func (v *Vault) Client() *vaultapi.Client {
	c, err := v.launched().Client()
	if err != nil {
		// Only a malformed VAULT_* environment variable can get here; it
		// would have failed StartVault's health check first.
		panic(fmt.Sprintf("testenv: %v", err))
	}
	return c
}

func (v *Vault) launched() *components.Vault {
	if v.server != nil {
		return v.server
	}
	return &components.Vault{Dir: v.dir, Addr: v.Addr, RootToken: v.RootToken}
}
