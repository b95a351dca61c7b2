package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the directory holding the project's go.mod, so tests in
// any package find the chart, testdata and ../shared/corpus the same way.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: working directory: %v", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		// tools/* are modules of their own; only the product's go.mod counts.
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && isProductModule(data) {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("testenv: no go.mod of github.com/latchkey-dev/latchkey above %s", dir)
		}
	}
}

func isProductModule(gomod []byte) bool {
	return bytes.HasPrefix(gomod, []byte("module github.com/latchkey-dev/latchkey\n"))
}

// CorpusDir is ../shared/corpus next to the checkout: real public data that
// tests and benchmarks read in place.
func CorpusDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(ModuleRoot(t), "..", "shared", "corpus")
}
