package components

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// VaultStorage is where a Vault server keeps its data.
type VaultStorage string

const (
	// VaultInMemory is dev mode: in-memory storage, initialised and unsealed
	// at start, KV v2 at secret/; everything is gone when it stops.
	VaultInMemory VaultStorage = ""
	// VaultFile keeps the data in Vault.Dir across restarts (`vault server
	// -config` with file storage), sealed at each start, initialised by the
	// first, with the unseal key kept by the launcher in memory: what a suite
	// that restarts or seals Vault under a running controller needs (Restart,
	// Seal, Unseal).
	VaultFile VaultStorage = "file"
)

// vaultReadyPrefixes start the line tools/vault prints once the dev server is
// initialised, unsealed and has KV v2 at secret/, or once a -config server
// listens (sealed); the line carries addr=URL.
var vaultReadyPrefixes = []string{"==> Vault dev server ready:", "==> Vault server ready:"}

// vaultCallTimeout bounds every launcher call to Vault, so a hung server fails
// instead of hanging its caller.
const vaultCallTimeout = 30 * time.Second

// Vault is a Vault server built by `make tools`.
type Vault struct {
	// Dir is the server's working directory (audit logs go there); it must
	// exist and outlive the server.
	Dir string
	// ListenAddr is the loopback address to serve on; empty lets the kernel
	// pick a free port (the server reports it). A fixed address lets a
	// restarted server come back where its clients look; a VaultFile server
	// started without one keeps the port it got here for its restarts.
	ListenAddr string
	// RootToken is the root token to create; empty picks a random one.
	RootToken string
	Storage   VaultStorage
	// Output receives the server's stdout and stderr (it may be nil); the
	// last of it is also in the error of a failed start.
	Output io.Writer

	// Set by Start.
	//
	// Addr is the server URL, e.g. http://127.0.0.1:41234.
	Addr string

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	out     *serverOutput
	// unsealKey is the only key share of a VaultFile server, from its
	// initialisation; in memory only.
	unsealKey string
}

// Start starts the server on loopback, waits until it reports healthy, and
// returns. Its environment has no VAULT_* variables, which would change its
// flags (VAULT_DEV_ROOT_TOKEN_ID...).
func (v *Vault) Start(ctx context.Context) error {
	if v.RootToken == "" {
		v.RootToken = "root-" + rand.Text()
	}
	switch v.Storage {
	case VaultInMemory:
	case VaultFile:
		return v.startFile(ctx)
	default:
		return fmt.Errorf("vault storage %q: want %q (in memory, dev mode) or %q", v.Storage, VaultInMemory, VaultFile)
	}
	bin, err := ToolPath("vault")
	if err != nil {
		return err
	}
	listen := v.ListenAddr
	if listen == "" {
		// Port 0: the server reports the address it got, so there is no
		// window in which another process can take it.
		listen = "127.0.0.1:0"
	}
	addr, err := v.launch(ctx, bin, "server", "-dev", "-dev-listen-address="+listen, "-dev-root-token-id="+v.RootToken)
	if err == nil {
		v.Addr = addr
		err = v.waitHealthy(ctx)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("vault %s did not start: %w\n%s", VaultVersion, err, v.out.tail()), v.Stop())
	}
	return nil
}

// launch starts the server with args and waits for the line saying where
// it listens; the caller checks it further (healthy, unsealed).
func (v *Vault) launch(ctx context.Context, bin string, args ...string) (string, error) {
	v.cmd = exec.Command(bin, args...)
	v.cmd.Env = environWithoutVault()
	v.cmd.Dir = v.Dir
	v.out = &serverOutput{copy: v.Output}
	v.cmd.Stdout, v.cmd.Stderr = v.out, v.out
	// Its own process group: a Ctrl-C at the terminal of `latchkey dev`
	// reaches the launcher, which stops the server in order.
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := v.cmd.Start(); err != nil {
		return "", fmt.Errorf("starting vault %s: %w", bin, err)
	}
	v.exited = make(chan struct{})
	go func() {
		v.waitErr = v.cmd.Wait()
		close(v.exited)
	}()
	return v.out.waitReady(ctx, v.exited, 60*time.Second)
}

// Client returns a new API client authenticated with the root token. Each
// call returns an independent client, so a caller may switch its token
// without affecting others. Retries are off: a failing request must show,
// and request counts taken from the audit log must not include retries.
func (v *Vault) Client() (*vaultapi.Client, error) {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = v.Addr
	cfg.Timeout = vaultCallTimeout
	cfg.MaxRetries = 0
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault client for %s: %w", v.Addr, err)
	}
	c.SetToken(v.RootToken)
	c.ClearNamespace()
	return c, nil
}

func (v *Vault) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, vaultCallTimeout)
	defer cancel()
	c, err := v.Client()
	if err != nil {
		return err
	}
	var last error
	for ctx.Err() == nil {
		h, err := c.Sys().HealthWithContext(ctx)
		switch {
		case err != nil:
			last = err
		case !h.Initialized || h.Sealed:
			last = fmt.Errorf("initialized=%t sealed=%t", h.Initialized, h.Sealed)
		default:
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("vault at %s is not healthy: %w", v.Addr, last)
}

// Stop sends SIGTERM and expects the clean exit `vault server` makes; a
// server that exited early, needs SIGKILL or exits non-zero is an error.
func (v *Vault) Stop() error {
	if v.cmd == nil {
		return nil
	}
	defer func() { v.cmd = nil }()
	select {
	case <-v.exited:
		return fmt.Errorf("vault exited before it was stopped: %v\n%s", v.waitErr, v.out.tail())
	default:
	}
	var errs []error
	if err := v.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		errs = append(errs, fmt.Errorf("signalling vault: %w", err))
	}
	select {
	case <-v.exited:
		if v.waitErr != nil {
			errs = append(errs, fmt.Errorf("vault did not exit cleanly on SIGTERM: %w\n%s", v.waitErr, v.out.tail()))
		}
	case <-time.After(30 * time.Second):
		_ = v.cmd.Process.Kill()
		<-v.exited
		errs = append(errs, fmt.Errorf("vault did not stop within 30s of SIGTERM; killed\n%s", v.out.tail()))
	}
	return errors.Join(errs...)
}

// Logs is the last of what the server printed, for failure messages.
func (v *Vault) Logs() string {
	if v.out == nil {
		return ""
	}
	return v.out.tail()
}

// PutKV2 writes data as a new version of path in the KV v2 engine at mount
// and returns the version number Vault assigned.
func (v *Vault) PutKV2(ctx context.Context, mount, path string, data map[string]any) (int, error) {
	c, err := v.Client()
	if err != nil {
		return 0, err
	}
	mount = strings.Trim(mount, "/")
	ctx, cancel := context.WithTimeout(ctx, vaultCallTimeout)
	defer cancel()
	s, err := c.KVv2(mount).Put(ctx, path, data)
	if err != nil {
		return 0, fmt.Errorf("writing KV v2 %s/%s: %w", mount, path, err)
	}
	if s.VersionMetadata == nil {
		return 0, fmt.Errorf("writing KV v2 %s/%s: no version in the response", mount, path)
	}
	return s.VersionMetadata.Version, nil
}

// environWithoutVault is this process's environment minus VAULT_* variables.
func environWithoutVault() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") {
			env = append(env, kv)
		}
	}
	return env
}
