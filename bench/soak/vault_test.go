package soak

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// vault is a dev-mode Vault that can be restarted where the controller looks
// for it (same address, same root token), and the history of the secrets the
// bench wrote, so a restart can put them back: dev mode keeps nothing.
type vault struct {
	dir string

	mu      sync.Mutex
	server  *components.Vault
	history map[string][]string // KV v2 path under secret/ → values, version 1 first
}

func startVault(b *testing.B) *vault {
	b.Helper()
	v := &vault{dir: b.TempDir(), history: map[string][]string{}}
	v.server = &components.Vault{Dir: v.dir}
	err := v.server.Start(context.Background())
	b.Cleanup(func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		_ = v.server.Stop()
	})
	if errors.Is(err, components.ErrUnavailable) {
		testenv.Unavailable(b, err.Error())
	}
	if err != nil {
		b.Fatalf("starting vault: %v", err)
	}
	return v
}

func (v *vault) addr() string      { return v.server.Addr }
func (v *vault) rootToken() string { return v.server.RootToken }

// put writes value as the next version of path (the key is "password").
func (v *vault) put(ctx context.Context, path, value string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	version, err := v.server.PutKV2(ctx, "secret", path, map[string]any{"password": value})
	if err != nil {
		return err
	}
	v.history[path] = append(v.history[path], value)
	if version != len(v.history[path]) {
		return fmt.Errorf("vault gave %s version %d, the bench expected %d", path, version, len(v.history[path]))
	}
	return nil
}

// restart stops the server (SIGTERM), waits down, and starts a new one on
// the same address with the same root token. Between the two the controller
// finds no Vault. Once the new one is up, which is called up, and the secrets are
// written back, version by version, so each has its old version number; in
// between the controller finds a Vault without them.
func (v *vault) restart(ctx context.Context, down time.Duration, up func()) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	u, err := url.Parse(v.server.Addr)
	if err != nil {
		return err
	}
	stopErr := v.server.Stop()
	time.Sleep(down)
	next := &components.Vault{Dir: v.dir, ListenAddr: u.Host, RootToken: v.server.RootToken}
	if err := next.Start(ctx); err != nil {
		return errors.Join(stopErr, fmt.Errorf("restarting vault on %s: %w", u.Host, err))
	}
	v.server = next
	up()
	for path, values := range v.history {
		for i, value := range values {
			version, err := next.PutKV2(ctx, "secret", path, map[string]any{"password": value})
			if err != nil {
				return errors.Join(stopErr, fmt.Errorf("re-writing %s after the restart: %w", path, err))
			}
			if version != i+1 {
				return fmt.Errorf("re-writing %s after the restart: version %d, want %d", path, version, i+1)
			}
		}
	}
	return stopErr
}
