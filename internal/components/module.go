package components

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// ModuleRoot returns the directory holding the project's go.mod, at or above
// the working directory, so tests in any package and `latchkey dev` run from
// a checkout find the chart and testdata the same way.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		// tools/* are modules of their own; only the product's go.mod counts.
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && isProductModule(data) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of github.com/latchkey-dev/latchkey above %s: run from a Latchkey checkout", dir)
		}
	}
}

func isProductModule(gomod []byte) bool {
	return bytes.HasPrefix(gomod, []byte("module github.com/latchkey-dev/latchkey\n"))
}

// ChartCRDs is charts/latchkey/crds of the checkout: the Sync CRD.
func ChartCRDs() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "charts", "latchkey", "crds"), nil
}
