package testenv

import (
	"os"
	"testing"
)

// ToolPath is requireTool for tests and benchmarks outside this package.
func ToolPath(t testing.TB, name, version string) string {
	t.Helper()
	return requireTool(t, name, version)
}

// missing stops a test whose real component is unavailable for a reason other
// than a missing tool binary (git not installed, no mount namespaces). Locally
// that is a skip with the fix in the message; in CI it is a failure.
func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: %s (CI=true: a missing real component is a failure)", why)
	}
	t.Skipf("testenv: %s", why)
}
