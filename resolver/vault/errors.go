package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/latchkey-dev/latchkey/resolver"
)

// classify wraps an error from the Vault API in the resolver's error class,
// with what was being done. Vault's own error strings ("permission denied",
// "Vault is sealed") are kept: they never contain secret data.
func classify(what string, err error) error {
	if errors.Is(err, resolver.ErrAuth) {
		// The login before the request failed: its error already says why
		// (and a login that never reached Vault is ErrUnavailable too).
		return fmt.Errorf("%s: %w", what, err)
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		detail := fmt.Sprintf("HTTP %d", re.StatusCode)
		if len(re.Errors) > 0 {
			detail += ": " + strings.Join(re.Errors, "; ")
		}
		switch {
		case re.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%s: %w (%s)", what, resolver.ErrPermissionDenied, detail)
		case re.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%s: %w (%s)", what, resolver.ErrNotFound, detail)
		case re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500:
			return fmt.Errorf("%s: %w (%s, after retries)", what, resolver.ErrUnavailable, detail)
		}
		return fmt.Errorf("%s: Vault rejected the request (%s)", what, detail)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w (timed out)", what, resolver.ErrUnavailable)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", what, err)
	}
	// Network errors: the URL in them names the path, never a value.
	return fmt.Errorf("%s: %w (%v)", what, resolver.ErrUnavailable, err)
}

func isForbidden(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusForbidden
}
