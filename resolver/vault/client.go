package vault

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/vault/api"

	"github.com/latchkey-dev/latchkey/config"
)

// newClient builds a Vault API client from cfg alone: the process
// environment (VAULT_TOKEN and friends, which the API package would read on
// its own) has already been folded into cfg by package config.
func newClient(cfg *config.Vault) (*api.Client, error) {
	c := &api.Config{
		Address:    cfg.Address,
		HttpClient: cleanhttp.DefaultPooledClient(),
		Timeout:    cfg.Timeout,
		MaxRetries: cfg.MaxRetries,
		// Exponential backoff from 250ms, honouring Retry-After on 429/503.
		MinRetryWait: 250 * time.Millisecond,
		MaxRetryWait: 5 * time.Second,
		Backoff:      retryablehttp.DefaultBackoff,
		CheckRetry:   api.DefaultRetryPolicy,
	}
	c.HttpClient.Timeout = cfg.Timeout
	// ConfigureTLS edits the transport's TLS config in place; the pooled
	// transport starts without one.
	c.HttpClient.Transport.(*http.Transport).TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tls := &api.TLSConfig{
		CACert:        cfg.CACert,
		CAPath:        cfg.CAPath,
		ClientCert:    cfg.ClientCert,
		ClientKey:     cfg.ClientKey,
		TLSServerName: cfg.TLSServerName,
		Insecure:      cfg.SkipVerify,
	}
	if len(cfg.CACertPEM) > 0 {
		// The API would prefer a CA file over the bytes; an in-memory bundle
		// is the more specific choice (a Sync's own CA over the controller's).
		tls.CACert, tls.CAPath, tls.CACertBytes = "", "", cfg.CACertPEM
	}
	if err := c.ConfigureTLS(tls); err != nil {
		return nil, fmt.Errorf("configuring TLS for Vault at %s: %w", cfg.Address, err)
	}
	client, err := api.NewClient(c)
	if err != nil {
		return nil, fmt.Errorf("creating the Vault client for %s: %w", cfg.Address, err)
	}
	// api.NewClient picks VAULT_TOKEN and VAULT_NAMESPACE up from the process
	// environment; only cfg decides.
	client.ClearToken()
	client.ClearNamespace()
	if cfg.Namespace != "" {
		client.SetNamespace(cfg.Namespace)
	}
	return client, nil
}
