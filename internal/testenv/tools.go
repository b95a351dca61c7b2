package testenv

import (
	"errors"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// toolsDirEnv overrides the root of the tool cache, as tools/install.sh does.
const toolsDirEnv = components.ToolsDirEnv

// toolPath is components.ToolPathAt.
func toolPath(name, version string) (string, error) {
	return components.ToolPathAt(name, version)
}

// requireTool returns the path of a built tool, or ends the test through
// Unavailable when `make tools` has not built it.
func requireTool(t testing.TB, name, version string) string {
	t.Helper()
	path, err := toolPath(name, version)
	if err != nil {
		Unavailable(t, err.Error())
	}
	return path
}

// started ends the test when a component failed to start: through
// Unavailable when it is not installed here (skip locally, fail in CI),
// with a failure otherwise.
func started(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, components.ErrUnavailable) {
		Unavailable(t, err.Error())
	}
	t.Fatalf("testenv: %s: %v", what, err)
}

// stopped reports a component that did not stop cleanly as a failure of the
// test that used it.
func stopped(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("testenv: stopping %s: %v", what, err)
	}
}
