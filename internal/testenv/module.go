package testenv

import (
	"path/filepath"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// ModuleRoot returns the directory holding the project's go.mod, so tests in
// any package find the chart, testdata and ../shared/corpus the same way.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := components.ModuleRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return root
}

// CorpusDir is ../shared/corpus next to the checkout: real public data that
// tests and benchmarks read in place.
func CorpusDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(ModuleRoot(t), "..", "shared", "corpus")
}
