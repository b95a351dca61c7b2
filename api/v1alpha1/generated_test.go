package v1alpha1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// TestGeneratedFilesAreCurrent regenerates the deepcopy functions and the CRD
// into a temp dir and compares them with the committed files, so a change to
// the types without `make generate` fails here rather than in a cluster.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs controller-gen")
	}
	gen := testenv.Tool(t, "controller-gen")
	root := testenv.ModuleRoot(t)

	tests := []struct {
		name      string
		args      []string // the output rule is appended
		outputArg string
		committed string // directory of the committed files
	}{
		{
			name:      "deepcopy",
			args:      []string{"object", "paths=./api/..."},
			outputArg: "output:object:dir=",
			committed: filepath.Join(root, "api", "v1alpha1"),
		},
		{
			name:      "CRD",
			args:      []string{"crd", "paths=./api/..."},
			outputArg: "output:crd:artifacts:config=",
			committed: filepath.Join(root, "charts", "latchkey", "crds"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command(gen, append(tc.args, tc.outputArg+out)...)
			cmd.Dir = root
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("controller-gen %v: %v\n%s", tc.args, err, b)
			}
			generated, err := os.ReadDir(out)
			if err != nil || len(generated) == 0 {
				t.Fatalf("controller-gen wrote nothing into %s (%v)", out, err)
			}
			for _, f := range generated {
				want, err := os.ReadFile(filepath.Join(out, f.Name()))
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(filepath.Join(tc.committed, f.Name()))
				if err != nil {
					t.Errorf("%s is not committed: run `make generate` (%v)", f.Name(), err)
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s is stale: run `make generate` and commit the result", filepath.Join(tc.committed, f.Name()))
				}
			}
		})
	}
}
