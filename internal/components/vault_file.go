package components

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
)

// vaultConfig is the server configuration of a VaultFile server: file
// storage under Dir, one plain-HTTP listener on loopback. Written once per
// start; it holds no secret.
const vaultConfig = `storage "file" {
  path = %q
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
disable_mlock = true
`

// startFile starts a VaultFile server: sealed at each start, initialised by
// the first one (the unseal key and root token stay in this struct, in
// memory), unsealed, with KV v2 at secret/ as dev mode has. Later starts
// (Restart) come back on the same address and unseal with the kept key.
func (v *Vault) startFile(ctx context.Context) error {
	if v.Dir == "" {
		// Not the working directory: the data would land in the caller's
		// checkout.
		return errors.New("vault: file storage needs Vault.Dir, the directory its data and configuration go to")
	}
	bin, err := ToolPath("vault")
	if err != nil {
		return err
	}
	listen := v.ListenAddr
	if listen == "" {
		// Port 0 the first time: the server reports the address it got,
		// which is kept for every restart.
		listen = "127.0.0.1:0"
	}
	config := filepath.Join(v.Dir, "vault.hcl")
	text := fmt.Sprintf(vaultConfig, filepath.Join(v.Dir, "data"), listen)
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		return fmt.Errorf("writing the Vault configuration: %w", err)
	}
	addr, err := v.launch(ctx, bin, "server", "-config", config)
	if err == nil {
		v.Addr = addr
		err = v.initAndUnseal(ctx)
	}
	if err != nil {
		if strings.Contains(v.out.tail(), "flag provided but not defined: -config") {
			err = unavailable("vault %s in the tool cache predates `server -config` (file storage): delete %s and run `tools/install.sh vault`", VaultVersion, bin)
		}
		return errors.Join(fmt.Errorf("vault %s did not start: %w\n%s", VaultVersion, err, v.out.tail()), v.Stop())
	}
	if v.ListenAddr == "" {
		u, err := url.Parse(addr)
		if err != nil {
			return errors.Join(fmt.Errorf("vault reported address %q: %w", addr, err), v.Stop())
		}
		v.ListenAddr = u.Host
	}
	return nil
}

// initAndUnseal initialises a new server (once), unseals it and waits until
// it is active.
func (v *Vault) initAndUnseal(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, vaultCallTimeout)
	defer cancel()
	c, err := v.Client()
	if err != nil {
		return err
	}
	if v.unsealKey == "" {
		// One key share, as dev mode: the harness is the only operator.
		init, err := c.Sys().InitWithContext(ctx, &vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
		if err != nil {
			return fmt.Errorf("initialising (sys/init): %w", err)
		}
		v.unsealKey = init.KeysB64[0]
		if err := v.unseal(ctx); err != nil {
			return err
		}
		return v.firstSetup(ctx, init.RootToken)
	}
	return v.unseal(ctx)
}

func (v *Vault) unseal(ctx context.Context) error {
	c, err := v.Client()
	if err != nil {
		return err
	}
	st, err := c.Sys().UnsealWithContext(ctx, v.unsealKey)
	if err != nil {
		return fmt.Errorf("unsealing (sys/unseal): %w", err)
	}
	if st.Sealed {
		return errors.New("unsealing (sys/unseal): still sealed after the only key share")
	}
	return v.waitHealthy(ctx)
}

// firstSetup gives a new server what dev mode has: the requested root token
// (or the generated one) and KV v2 at secret/.
func (v *Vault) firstSetup(ctx context.Context, generated string) error {
	c, err := v.Client()
	if err != nil {
		return err
	}
	c.SetToken(generated)
	if v.RootToken == "" {
		v.RootToken = generated
	} else {
		_, err := c.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{
			ID: v.RootToken, Policies: []string{"root"}, NoParent: true, NoDefaultPolicy: true,
		})
		if err != nil {
			return fmt.Errorf("creating the requested root token: %w", err)
		}
		if err := c.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil {
			return fmt.Errorf("revoking the generated root token: %w", err)
		}
		c.SetToken(v.RootToken)
	}
	err = c.Sys().MountWithContext(ctx, "secret", &vaultapi.MountInput{
		Type: "kv", Description: "key/value secret storage", Options: map[string]string{"version": "2"},
	})
	if err != nil {
		return fmt.Errorf("mounting KV v2 at secret/: %w", err)
	}
	return nil
}

// Restart stops a VaultFile server and starts it again on the same address
// with the same storage, unsealed: what an upgrade or a node restart does to
// Vault's clients.
func (v *Vault) Restart(ctx context.Context) error {
	if v.Storage != VaultFile {
		return fmt.Errorf("vault storage %q: only file storage survives a restart; set Storage: VaultFile", v.Storage)
	}
	if err := v.Stop(); err != nil {
		return err
	}
	return v.startFile(ctx)
}

// Seal seals the server: until Unseal, every request but sys/health,
// sys/seal-status and sys/unseal answers 503.
func (v *Vault) Seal(ctx context.Context) error {
	if v.Storage != VaultFile {
		return fmt.Errorf("vault storage %q: sealing needs the unseal key, which only file storage keeps; set Storage: VaultFile", v.Storage)
	}
	c, err := v.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, vaultCallTimeout)
	defer cancel()
	if err := c.Sys().SealWithContext(ctx); err != nil {
		return fmt.Errorf("sealing (sys/seal): %w", err)
	}
	return nil
}

// Unseal unseals a sealed VaultFile server with the kept key and waits until
// it is active.
func (v *Vault) Unseal(ctx context.Context) error {
	if v.unsealKey == "" {
		return errors.New("vault: no unseal key: the server was not started with Storage: VaultFile")
	}
	ctx, cancel := context.WithTimeout(ctx, vaultCallTimeout)
	defer cancel()
	return v.unseal(ctx)
}
