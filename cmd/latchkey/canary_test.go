package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// buildLatchkey builds the binary (components.LatchkeyBinary, once per test
// binary; TestMain removes it), so a test sees every byte it writes
// (including what libraries print on their own) and every file it leaves.
func buildLatchkey(t *testing.T) string {
	t.Helper()
	bin, err := components.LatchkeyBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// A unique value written to Vault is resolved into the manifest on stdout,
// and appears nowhere else: not on stderr, not in error messages (which
// list failures right next to it), not in any file under TMPDIR, HOME or the
// working directory.
func TestCanaryValueStaysInTheManifest(t *testing.T) {
	t.Parallel() // its Vault is its own; the binary runs with its own TMPDIR and HOME
	canary := "canary-" + strings.ToLower(rand.Text())
	forms := []string{canary, base64.StdEncoding.EncodeToString([]byte(canary)), canary[7:19]}

	v := testenv.StartVault(t)
	v.PutKV2(t, "secret", "app", map[string]any{
		"password": canary,
		"json":     `{"token":"` + canary + `"}`,
	})
	bin := buildLatchkey(t)
	work, tmp, home := t.TempDir(), t.TempDir(), t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Dir(p)
	}
	good := write("good/secret.yaml", `apiVersion: v1
kind: Secret
metadata: {name: app, namespace: apps}
type: Opaque
stringData:
  password: <path:secret/data/app#password>
  token: <path:secret/data/app#json | jsonPath {.token}>
data:
  encoded: <path:secret/data/app#password | base64encode>
`)
	bad := write("bad/secret.yaml", `apiVersion: v1
kind: Secret
metadata: {name: app, namespace: apps}
stringData:
  password: <path:secret/data/app#password>
  notjson: <path:secret/data/app#password | jsonParse>
  nopath: <path:secret/data/app#json | jsonPath {.missing}>
  base64: <path:secret/data/app#password | base64decode>
  missing: <path:secret/data/app#nokey>
  typo: <path:secret/data/app#password | sha512sum>
`)
	run := func(dir string) (stdout, stderr string, code int) {
		cmd := exec.Command(bin, "render", dir)
		cmd.Dir = work
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + tmp,
			"VAULT_ADDR=" + v.Addr, "VAULT_TOKEN=" + v.RootToken}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}

	stdout, stderr, code := run(good)
	if code != 0 {
		t.Fatalf("render failed (%d): %s", code, stderr)
	}
	if !strings.Contains(stdout, canary) || !strings.Contains(stdout, forms[1]) {
		t.Fatalf("the value was not resolved into the manifest:\n%s", stdout)
	}

	stdout, stderr, code = run(bad)
	t.Logf("stderr of the failed render:\n%s", stderr)
	if code != 1 || stdout != "" {
		t.Fatalf("a failed render must exit 1 with nothing on stdout; got %d and\n%s", code, stdout)
	}
	for _, want := range []string{"5 references could not be resolved", "field stringData.notjson", "field stringData.nopath",
		"field stringData.base64", `key "nokey" not found`, `unknown modifier "sha512sum"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	for _, f := range forms {
		if strings.Contains(stderr, f) {
			t.Errorf("stderr holds the value (%q):\n%s", f, stderr)
		}
	}
	for _, dir := range []string{tmp, home, work} {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, f := range forms {
				if bytes.Contains(data, []byte(f)) {
					t.Errorf("file %s holds the value", p)
				}
			}
			return nil
		})
	}
}
