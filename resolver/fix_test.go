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

// The fix is chosen by what the error is, not by how its message is worded:
// each error here comes from the code that produces it in a resolve, and
// each is also checked with its message reworded around it.
func TestFailureFixFollowsTheErrorNotItsWording(t *testing.T) {
	_, modErr := applyModifiers([]reference.Modifier{{Name: "base64decode"}}, "not base64!", 1<<20)
	_, bigErr := applyModifiers([]reference.Modifier{{Name: "base64encode"}}, "abcdef", 4)
	_, versionErr := readVersion(Location{KVVersion: 2}, target{version: "latest"})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"a modifier fails on the value", modErr, "correct the modifier pipeline"},
		{"a modifier's result is too large", bigErr, "store a smaller value"},
		{"a pinned version is not a number", &versionError{version: "latest", mount: "secret/"}, "pin a numeric version"},
		{"readVersion's own error", versionErr, "pin a numeric version"},
	}
	p := &objectPlan{}
	s := &site{field: "stringData.password"}
	ref := reference.Ref{Kind: reference.AVPPath, Path: "secret/data/db", Key: "password"}
	for _, tt := range tests {
		if tt.err == nil {
			t.Fatalf("%s: the code path returned no error", tt.name)
		}
		for _, err := range []error{tt.err, fmt.Errorf("while resolving (reworded): %w", tt.err)} {
			t.Run(tt.name, func(t *testing.T) {
				f := failureFor(p, s, ref, err)
				if !strings.Contains(f.Fix, tt.want) {
					t.Fatalf("error %q: fix %q does not say %q", err, f.Fix, tt.want)
				}
			})
		}
	}
}
