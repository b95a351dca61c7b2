package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// commitOutcome tries to commit a file holding content with the given SKIP
// and reports whether the commit was made.
func commitOutcome(t *testing.T, repo, name, content, skip string) (bool, string) {
	t.Helper()
	writeFile(t, filepath.Join(repo, name), content)
	mustGit(t, repo, "add", name)
	before := mustGit(t, repo, "rev-parse", "HEAD")
	out, err := sh(repo, gitEnv("SKIP="+skip), "git", "commit", "-q", "-m", "add "+name)
	after := mustGit(t, repo, "rev-parse", "HEAD")
	if (err == nil) != (after != before) {
		t.Fatalf("git commit: error %v but HEAD %s → %s\n%s", err, before, after, out)
	}
	if err != nil {
		mustGit(t, repo, "reset", "-q", "HEAD", "--", name) // unstage for the next case
	}
	return after != before, out
}

// skipCases are how pre-commit users write SKIP: comma-separated hook ids,
// blanks ignored; any other id does not skip this hook.
var skipCases = []struct {
	skip    string
	skipped bool
}{
	{"", false},
	{"latchkey-scan", true},
	{"gitleaks,latchkey-scan", true},
	{"gitleaks, latchkey-scan ", true},
	{"gitleaks", false},
	{"latchkey-scan-system", false},
	{"latchkey", false},
}

// The plain Git hook from `latchkey-scan install-hook` blocks a planted secret
// and honours SKIP=latchkey-scan like the pre-commit framework does.
func TestInstalledHookBlocksAndHonoursSkip(t *testing.T) {
	bin := buildScanner(t)
	repo := newRepo(t, map[string]string{"README.md": "hello\n"})
	if out, err := sh(repo, gitEnv(), bin, "install-hook"); err != nil {
		t.Fatalf("install-hook: %v\n%s", err, out)
	}
	hook, _ := os.ReadFile(filepath.Join(repo, ".git", "hooks", "pre-commit"))
	if !strings.Contains(string(hook), bin+"' --staged") {
		t.Fatalf("the hook does not run the binary that installed it (%s --staged):\n%s", bin, hook)
	}
	for i, tc := range skipCases {
		t.Run("SKIP="+tc.skip, func(t *testing.T) {
			name := filepath.Join("apps", "secret"+string(rune('a'+i))+".yaml")
			committed, out := commitOutcome(t, repo, name, plantedSecret, tc.skip)
			if committed != tc.skipped {
				t.Fatalf("planted secret committed=%v, want %v\n%s", committed, tc.skipped, out)
			}
			if strings.Contains(out, "Cli-8s7d6f5g") {
				t.Errorf("hook output carries the secret:\n%s", out)
			}
		})
	}
	if committed, out := commitOutcome(t, repo, "apps/clean.yaml", cleanManifest, ""); !committed {
		t.Fatalf("clean commit blocked:\n%s", out)
	}
}

// The pre-commit framework hook, from this repository as pre-commit clones
// it: it blocks a planted secret, honours SKIP=latchkey-scan, and builds the
// scanner once per hook revision (the second run uses the cached binary).
func TestPreCommitFrameworkHook(t *testing.T) {
	preCommit := needTool(t, "pre-commit")
	hookRepo, rev := sourceRepo(t)
	t.Setenv("GOFLAGS", "") // go's defaults, VCS stamping included, as on a user's machine
	repo := newRepo(t, map[string]string{
		".pre-commit-config.yaml": "repos:\n  - repo: " + hookRepo + "\n    rev: " + rev + "\n    hooks:\n      - id: latchkey-scan\n",
	})
	home := t.TempDir()
	env := func(extra ...string) []string {
		return gitEnv(append([]string{"PRE_COMMIT_HOME=" + home}, extra...)...)
	}
	if out, err := sh(repo, env(), preCommit, "install"); err != nil {
		t.Fatalf("pre-commit install: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(repo, "apps", "secret.yaml"), plantedSecret)
	mustGit(t, repo, "add", "apps/secret.yaml")
	out, err := sh(repo, env(), "git", "commit", "-q", "-m", "planted")
	if err == nil {
		t.Fatalf("planted secret committed through pre-commit:\n%s", out)
	}
	if !strings.Contains(out, "kubernetes-secret") || strings.Contains(out, "Cli-8s7d6f5g") {
		t.Fatalf("pre-commit output should name the finding, masked:\n%s", out)
	}
	bins, _ := filepath.Glob(filepath.Join(home, "repo*", ".bin", "latchkey-scan"))
	if len(bins) != 1 {
		t.Fatalf("built binary in pre-commit's clone: %v, want one", bins)
	}
	first, err := os.Stat(bins[0])
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sh(repo, env(), bins[0], "--version"); err != nil || !strings.Contains(out, rev) {
		t.Errorf("the hook's binary does not report the hook revision %s: %v %s", rev, err, out)
	}
	time.Sleep(10 * time.Millisecond) // so a rebuild would show in the modification time

	out, err = sh(repo, env("SKIP=latchkey-scan"), "git", "commit", "-q", "-m", "planted, skipped")
	if err != nil || !strings.Contains(out, "Skipped") {
		t.Fatalf("SKIP=latchkey-scan: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(repo, "apps", "clean.yaml"), cleanManifest)
	mustGit(t, repo, "add", "apps/clean.yaml")
	if out, err := sh(repo, env(), "git", "commit", "-q", "-m", "clean"); err != nil {
		t.Fatalf("clean commit blocked: %v\n%s", err, out)
	}
	again, err := os.Stat(bins[0])
	if err != nil || !again.ModTime().Equal(first.ModTime()) {
		t.Fatalf("the hook rebuilt its binary on the second run (%v → %v, %v)", first.ModTime(), again.ModTime(), err)
	}
}
