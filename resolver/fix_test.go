package resolver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/resolver/reference"
)

// The fix a failure suggests follows what actually went wrong: a login that
// never reached Vault (network, TLS) is an auth error too, but its fix is the
// address or the CA, not the credentials.
func TestFailureFixNamesTheCause(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"login rejected", fmt.Errorf("%w: logging in with approle", ErrAuth), "check the Vault auth configuration"},
		{"login refused by Vault (a role the identity is not bound to)", fmt.Errorf("reading: %w: logging in with kubernetes: login: %w (HTTP 403)", ErrAuth, ErrPermissionDenied), "a Kubernetes role bound to its ServiceAccount"},
		{"read refused by a policy", fmt.Errorf("reading: %w (HTTP 403)", ErrPermissionDenied), "grant the Vault identity"},
		{"login never reached Vault", fmt.Errorf("%w: logging in: %w (x509: unknown authority)", ErrAuth, ErrUnavailable), "the CA that verifies it"},
		{"read never reached Vault", fmt.Errorf("reading: %w", ErrUnavailable), "check VAULT_ADDR"},
		{"no such path", fmt.Errorf("reading: %w", ErrNotFound), "check the path"},
	}
	p := &objectPlan{}
	s := &site{field: "stringData.password"}
	ref := reference.Ref{Kind: reference.AVPPath, Path: "secret/data/db", Key: "password"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := failureFor(p, s, ref, tt.err)
			if !strings.Contains(f.Fix, tt.want) {
				t.Fatalf("fix %q does not say %q", f.Fix, tt.want)
			}
		})
	}
}
