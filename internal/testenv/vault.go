package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// VaultVersion is the Vault release tools/vault builds (with sdk v0.20.0).
const VaultVersion = "v1.21.0"

// vaultReadyPrefix starts the line tools/vault prints once the dev server is
// initialised, unsealed and has KV v2 at secret/; the line carries addr=URL.
const vaultReadyPrefix = "==> Vault dev server ready:"

// callTimeout bounds every harness call to Vault, so a hung server fails the
// test instead of hanging it.
const callTimeout = 30 * time.Second

// Vault is a running dev-mode Vault server: in-memory storage, unsealed, KV v2
// at secret/, and a root token the test chose.
type Vault struct {
	// Addr is the server URL, e.g. http://127.0.0.1:41234.
	Addr string
	// RootToken is the dev server's root token.
	RootToken string

	// dir holds files the server writes (audit logs); removed after the
	// server has stopped.
	dir string
}

// StartVault starts the Vault dev server built by `make tools` on a free
// loopback port with a random root token, waits until it reports healthy,
// and stops it (SIGTERM, then a clean-exit check) when the test ends.
func StartVault(t testing.TB) *Vault {
	t.Helper()
	bin := requireTool(t, "vault", VaultVersion)
	// Created before the stop cleanup is registered, so it is removed after
	// the server has exited (cleanups run last-in first-out).
	dir := t.TempDir()
	token := "root-" + rand.Text()

	// Port 0 lets the kernel pick the port; the server reports the address it
	// got, so there is no window in which another process can take it.
	cmd := exec.Command(bin, "server", "-dev",
		"-dev-listen-address=127.0.0.1:0",
		"-dev-root-token-id="+token)
	cmd.Env = environWithoutVault()
	cmd.Dir = dir
	out := &serverOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: starting vault %s: %v", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		stopVault(t, cmd, exited, &waitErr, out)
	})

	addr, err := out.waitReady(exited, 60*time.Second)
	if err != nil {
		t.Fatalf("testenv: vault %s did not start: %v\n%s", VaultVersion, err, out.tail())
	}
	v := &Vault{Addr: addr, RootToken: token, dir: dir}
	v.requireHealthy(t)
	return v
}

// Client returns a new API client for the server, authenticated with the root
// token. Each call returns an independent client, so a test may switch its
// token (after an AppRole login, say) without affecting others. Retries are
// off: a failing request must show up in the test, and request counts taken
// from the audit log must not include retries.
func (v *Vault) Client() *vaultapi.Client {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = v.Addr
	cfg.Timeout = callTimeout
	cfg.MaxRetries = 0
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		// Only a malformed VAULT_* environment variable can get here; it
		// would have failed StartVault's health check first.
		panic(fmt.Sprintf("testenv: vault client for %s: %v", v.Addr, err))
	}
	c.SetToken(v.RootToken)
	c.ClearNamespace()
	return c
}

func (v *Vault) requireHealthy(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		h, err := v.Client().Sys().HealthWithContext(ctx)
		switch {
		case err != nil:
			last = err
		case !h.Initialized || h.Sealed:
			last = fmt.Errorf("initialized=%t sealed=%t", h.Initialized, h.Sealed)
		default:
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("testenv: vault at %s is not healthy: %v", v.Addr, last)
}

// stopVault sends SIGTERM and expects the clean exit `vault server -dev`
// makes; a server that needs SIGKILL, or exits non-zero, fails the test.
func stopVault(t testing.TB, cmd *exec.Cmd, exited <-chan struct{}, waitErr *error, out *serverOutput) {
	select {
	case <-exited:
		t.Errorf("testenv: vault exited before the test ended: %v\n%s", *waitErr, out.tail())
		return
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("testenv: signalling vault: %v", err)
	}
	select {
	case <-exited:
		if *waitErr != nil {
			t.Errorf("testenv: vault did not exit cleanly on SIGTERM: %v\n%s", *waitErr, out.tail())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Errorf("testenv: vault did not stop within 30s of SIGTERM; killed\n%s", out.tail())
	}
	if t.Failed() {
		t.Logf("testenv: vault output:\n%s", out.tail())
	}
}

// environWithoutVault is the test's environment minus VAULT_* variables, which
// would otherwise change the server's flags (VAULT_DEV_ROOT_TOKEN_ID, ...).
func environWithoutVault() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") {
			env = append(env, kv)
		}
	}
	return env
}

// serverOutput collects the server's stdout and stderr for failure messages
// and spots the ready line. It keeps at most maxServerOutput bytes.
type serverOutput struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan string
	found bool
}

const maxServerOutput = 1 << 20

func (o *serverOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.buf.Len()+len(p) <= maxServerOutput {
		o.buf.Write(p)
	}
	if !o.found {
		if addr, ok := readyAddr(o.buf.String()); ok {
			o.found = true
			o.readyCh() <- addr
		}
	}
	return len(p), nil
}

// readyCh is created lazily so the zero serverOutput is usable; buffered so
// Write never blocks on a reader that gave up.
func (o *serverOutput) readyCh() chan string {
	if o.ready == nil {
		o.ready = make(chan string, 1)
	}
	return o.ready
}

func (o *serverOutput) waitReady(exited <-chan struct{}, timeout time.Duration) (string, error) {
	o.mu.Lock()
	ready := o.readyCh()
	o.mu.Unlock()
	select {
	case addr := <-ready:
		return addr, nil
	case <-exited:
		return "", fmt.Errorf("server exited before printing %q", vaultReadyPrefix)
	case <-time.After(timeout):
		return "", fmt.Errorf("no %q line within %s", vaultReadyPrefix, timeout)
	}
}

func (o *serverOutput) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.buf.String()
	const keep = 16 << 10
	if len(s) > keep {
		s = "...\n" + s[len(s)-keep:]
	}
	return s
}

// readyAddr finds the complete ready line in out and returns its addr= field.
func readyAddr(out string) (string, bool) {
	i := strings.Index(out, vaultReadyPrefix)
	if i < 0 {
		return "", false
	}
	line, _, complete := strings.Cut(out[i:], "\n")
	if !complete {
		return "", false
	}
	for _, field := range strings.Fields(line) {
		if addr, ok := strings.CutPrefix(field, "addr="); ok {
			return addr, true
		}
	}
	return "", false
}
