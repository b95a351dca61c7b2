package main

import (
	"context"
	"fmt"

	"github.com/hashicorp/vault/helper/namespace"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
	vaultseal "github.com/hashicorp/vault/vault/seal"
)

// initDev does what upstream's ServerCommand.enableDev does for a Shamir-sealed
// core: initialise with a single key share, unseal with it, replace the
// generated root token with the requested one, and mount KV v2 at secret/.
// It returns the root token clients must use.
func initDev(core *vault.Core, rootTokenID string) (string, error) {
	ctx := namespace.ContextWithNamespace(context.Background(), namespace.RootNamespace)

	barrier := &vault.SealConfig{SecretShares: 1, SecretThreshold: 1, Name: "shamir"}
	if core.SealAccess().StoredKeysSupported() != vaultseal.StoredKeysNotSupported {
		barrier.StoredShares = 1
	}
	init, err := core.Initialize(ctx, &vault.InitParams{BarrierConfig: barrier})
	if err != nil {
		return "", fmt.Errorf("initialising: %w", err)
	}

	if core.SealAccess().StoredKeysSupported() == vaultseal.StoredKeysSupportedGeneric {
		if err := core.UnsealWithStoredKeys(ctx); err != nil {
			return "", fmt.Errorf("unsealing with stored keys: %w", err)
		}
	} else {
		key := append([]byte(nil), init.SecretShares[0]...)
		unsealed, err := core.Unseal(key)
		if err != nil {
			return "", fmt.Errorf("unsealing: %w", err)
		}
		if !unsealed {
			return "", fmt.Errorf("unsealing: core still sealed after the only key share")
		}
	}
	// Upstream waits here for the core to become HA leader; in-memory storage
	// has no HA, so the unsealed core is already active.

	rootToken := init.RootToken
	if rootTokenID != "" {
		resp, err := core.HandleRequest(ctx, &logical.Request{
			ID:          "dev-gen-root",
			Operation:   logical.UpdateOperation,
			ClientToken: rootToken,
			Path:        "auth/token/create",
			Data: map[string]interface{}{
				"id":                rootTokenID,
				"policies":          []string{"root"},
				"no_parent":         true,
				"no_default_policy": true,
			},
		})
		if err != nil {
			return "", fmt.Errorf("creating the requested root token: %w", err)
		}
		if resp == nil || resp.Auth == nil {
			return "", fmt.Errorf("creating the requested root token: no auth in response")
		}
		_, err = core.HandleRequest(ctx, &logical.Request{
			ID:          "dev-revoke-init-root",
			Operation:   logical.UpdateOperation,
			ClientToken: rootToken,
			Path:        "auth/token/revoke-self",
		})
		if err != nil {
			return "", fmt.Errorf("revoking the generated root token: %w", err)
		}
		rootToken = resp.Auth.ClientToken
	}

	resp, err := core.HandleRequest(ctx, &logical.Request{
		Operation:   logical.UpdateOperation,
		ClientToken: rootToken,
		Path:        "sys/mounts/secret",
		Data: map[string]interface{}{
			"type":        "kv",
			"path":        "secret/",
			"description": "key/value secret storage",
			"options":     map[string]string{"version": "2"},
		},
	})
	if err != nil {
		return "", fmt.Errorf("mounting KV v2 at secret/: %w", err)
	}
	if resp.IsError() {
		return "", fmt.Errorf("mounting KV v2 at secret/: %w", resp.Error())
	}
	return rootToken, nil
}
