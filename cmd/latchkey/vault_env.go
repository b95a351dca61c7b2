package main

import (
	"errors"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/resolver"
	"github.com/latchkey-dev/latchkey/resolver/vault"
)

// vaultFromEnv is the Vault backend render and promote read from
// (VAULT_*, AVP_*, each also with Argo CD's ARGOCD_ENV_ prefix), and the
// resolver options it implies. backend is nil when Vault is not configured:
// manifests without references still render, and any reference fails
// saying to configure Vault.
func vaultFromEnv(env config.Env) (resolver.Backend, resolver.Options, error) {
	b, opts, err := vaultBackendFromEnv(env)
	if b == nil {
		// A nil *vault.Backend in the interface would not compare equal to nil.
		return nil, opts, err
	}
	return b, opts, err
}

// vaultBackendFromEnv is vaultFromEnv for callers that also write (scan --fix).
func vaultBackendFromEnv(env config.Env) (*vault.Backend, resolver.Options, error) {
	var opts resolver.Options
	vcfg, err := config.VaultFromEnv(env)
	switch {
	case errors.Is(err, config.ErrVaultNotConfigured):
		return nil, opts, nil
	case err != nil:
		return nil, opts, err
	}
	b, err := vault.New(vcfg)
	if err != nil {
		return nil, opts, err
	}
	opts.DefaultKVVersion = vcfg.KVVersion
	opts.PathValidation = vcfg.PathValidation
	opts.Concurrency = vcfg.Concurrency
	return b, opts, nil
}
