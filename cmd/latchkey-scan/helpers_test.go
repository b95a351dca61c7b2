package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// moduleRoot is the Latchkey checkout these tests run in.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Unavailable(t, name+" is not installed")
	}
	return p
}

// buildScanner compiles this package as a user would and returns the binary.
func buildScanner(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "latchkey-scan")
	cmd := exec.Command(needTool(t, "go"), "build", "-trimpath", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// hostGoCaches keeps the host's Go build and module caches for jobs run with
// a fresh HOME: a CI runner would start cold, but compiling the standard
// library and downloading modules again in every test proves nothing more.
func hostGoCaches(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command(needTool(t, "go"), "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	v := strings.Fields(string(out))
	if len(v) != 2 {
		t.Fatalf("go env GOCACHE GOMODCACHE: %q", out)
	}
	return []string{"GOCACHE=" + v[0], "GOMODCACHE=" + v[1]}
}

// gitEnv is an environment for git commands that does not depend on the
// user's configuration.
func gitEnv(extra ...string) []string {
	env := append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"SKIP=")
	return append(env, extra...)
}

// sh runs name args in dir and returns its combined output and error.
func sh(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := sh(dir, gitEnv(), "git", args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newRepo makes a Git repository with one commit holding files.
func newRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	needTool(t, "git")
	dir := t.TempDir()
	mustGit(t, dir, "init", "-q", "-b", "main")
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
	}
	mustGit(t, dir, "add", "-A")
	mustGit(t, dir, "commit", "-q", "--allow-empty", "-m", "initial")
	return dir
}

// sourceRepo publishes the checkout's current sources (tracked and new
// files, uncommitted edits included) as a local Git repository with one
// commit, the stand-in for github.com/latchkey-dev/latchkey. It returns the
// repository and its commit.
func sourceRepo(t *testing.T) (string, string) {
	t.Helper()
	needTool(t, "git")
	root := moduleRoot(t)
	out, err := sh(root, gitEnv(), "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		t.Fatalf("git ls-files: %v\n%s", err, out)
	}
	dst := t.TempDir()
	mustGit(t, dst, "init", "-q", "-b", "main")
	for _, name := range strings.Split(out, "\x00") {
		if name == "" {
			continue
		}
		src := filepath.Join(root, name)
		st, err := os.Lstat(src)
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink/submodule
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	mustGit(t, dst, "add", "-A")
	mustGit(t, dst, "commit", "-q", "-m", "sources under test")
	return dst, mustGit(t, dst, "rev-parse", "HEAD")
}

// A secret the scanner must report, and content it must not.
const (
	plantedSecret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: Cli-8s7d6f5g\n"
	cleanManifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: <path:secret/data/db#password>\n"
)
