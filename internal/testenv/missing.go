package testenv

import (
	"os"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// ToolPath is requireTool for tests and benchmarks outside this package.
func ToolPath(t testing.TB, name, version string) string {
	t.Helper()
	return requireTool(t, name, version)
}

// Unavailable stops a test whose real component or environment is missing
// (git not installed, no mount namespaces, no corpus, no non-loopback
// address). Locally that is a skip with the fix in the message; in CI it is a
// failure, so a green CI run always exercised the real thing.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: %s (CI=true: a missing real component is a failure)", why)
	}
	t.Skipf("testenv: %s", why)
}

// FindTool returns where a tool is (or would be, with the error when it is
// not built there), for callers that carry on without an optional component
// (the benchmark without Flux) instead of skipping.
func FindTool(name, version string) (path string, err error) {
	return components.ToolPathAt(name, version)
}

// Tool is ToolPath at the version of components.Tools, the one table of
// tool versions.
func Tool(t testing.TB, name string) string {
	t.Helper()
	path, err := components.ToolPath(name)
	if err != nil {
		Unavailable(t, err.Error())
	}
	return path
}
