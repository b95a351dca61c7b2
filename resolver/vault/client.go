package vault

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"
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
		MinRetryWait: minRetryWait,
		MaxRetryWait: 5 * time.Second,
		Backoff:      retryablehttp.DefaultBackoff,
		CheckRetry:   retryBeforeDeadline,
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

// minRetryWait is the shortest wait before a retry (the backoff's floor).
const minRetryWait = 250 * time.Millisecond

// retryBeforeDeadline is Vault's retry policy, minus the retries that could
// only start after the call's deadline (cfg.Timeout covers the call with
// its retries): a 429 from a rate-limit quota carries a Retry-After as long
// as the quota's interval, and waiting for it would end in a bare timeout.
// Not retrying returns what Vault answered, so the error names it (HTTP
// 429, rate limited) instead of "timed out".
func retryBeforeDeadline(ctx context.Context, resp *http.Response, err error) (bool, error) {
	retry, rerr := api.DefaultRetryPolicy(ctx, resp, err)
	if !retry || resp == nil {
		return retry, rerr
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return retry, rerr
	}
	wait := minRetryWait
	if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 &&
		(resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		wait = time.Duration(s) * time.Second
	}
	if time.Until(deadline) <= wait {
		return false, nil
	}
	return retry, rerr
}
