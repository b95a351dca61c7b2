package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// CI checks out one commit (depth 1): --diff BASE fetches the base at
// depth 1 and scans the files the branch changed, as they are in HEAD.
func TestScanDiffInDepthOneClone(t *testing.T) {
	origin := gitRepo(t, map[string]string{"old.env": "API_TOKEN=Old-8s7d6f5g\n", "README.md": "x\n"})
	gitIn(t, origin, "checkout", "-q", "-b", "feature")
	writeFile(t, filepath.Join(origin, "apps/new/values.yaml"), "password: New-8s7d6f5g\n")
	writeFile(t, filepath.Join(origin, "README.md"), "y\n")
	gitIn(t, origin, "add", "-A")
	gitIn(t, origin, "commit", "-q", "-m", "feature")
	gitIn(t, origin, "checkout", "-q", "main")

	clone := filepath.Join(t.TempDir(), "clone")
	gitIn(t, origin, "clone", "-q", "--depth", "1", "--single-branch", "--branch", "feature", "file://"+origin, clone)
	t.Chdir(filepath.Join(clone, "apps"))
	code, out, errOut := run(t, "", "scan", "--diff", "origin/main", "-o", "sarif")
	if code != 1 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	uris, fps := sarifResults(t, out)
	if len(uris) != 1 || uris[0] != "apps/new/values.yaml" || len(fps[0]) != 32 {
		t.Fatalf("SARIF uris %v fingerprints %v: want the branch's new file only, with a partial fingerprint", uris, fps)
	}
	if !strings.Contains(errOut, "fetched main from origin at depth 1") || !strings.Contains(errOut, "as they are in HEAD") {
		t.Errorf("no account of what --diff did:\n%s", errOut)
	}
	// The fingerprint does not depend on the line: an unrelated edit keeps it.
	writeFile(t, filepath.Join(clone, "apps/new/values.yaml"), "# note\npassword: New-8s7d6f5g\n")
	gitIn(t, clone, "commit", "-q", "-am", "note")
	_, out, _ = run(t, "", "scan", "--diff", "origin/main", "-o", "sarif")
	if _, fps2 := sarifResults(t, out); len(fps2) != 1 || fps2[0] != fps[0] {
		t.Errorf("partial fingerprint changed with the line: %v → %v", fps, fps2)
	}
	// --git with a range the clone does not have points at --diff.
	code, _, errOut = run(t, "", "scan", "--git", "origin/main..HEAD")
	if code != 2 || !strings.Contains(errOut, "shallow clone") || !strings.Contains(errOut, "--diff BASE") {
		t.Errorf("--git in a shallow clone: exit %d %s", code, errOut)
	}
	// A base that cannot be had is named with the fix.
	code, _, errOut = run(t, "", "scan", "--diff", "origin/nope")
	if code != 2 || !strings.Contains(errOut, "git fetch --depth=1 origin nope") {
		t.Errorf("missing base: exit %d %s", code, errOut)
	}
}

// gitleaks' exceptions carry over: the fingerprints gitleaks v8.30.1 prints
// go into .gitleaksignore, and a gitleaks.toml allowlist (which gitleaks
// itself accepts) applies through gitleaks: in .latchkey.yaml.
func TestScanImportsGitleaksExceptions(t *testing.T) {
	gitleaks := testenv.ToolPath(t, "gitleaks", "v8.30.1")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ci.env"), "GITHUB_TOKEN=ghp_"+strings.Repeat("Ab1Cd2Ef3G", 3)+"h4ij56\n")
	writeFile(t, filepath.Join(dir, "fixtures/values.yaml"), "password: Fixture-8s7d6f5g\n")
	writeFile(t, filepath.Join(dir, "values.yaml"), "password: Stopword-fixture-8s7d6f5g\ntoken: Kept-9x8c7v6b5n\n")
	writeFile(t, filepath.Join(dir, ".gitleaks.toml"), "[extend]\nuseDefault = true\n\n[[allowlists]]\ndescription = \"fixtures\"\npaths = ['''^fixtures/''']\n\n"+
		"[[allowlists]]\nstopwords = [\"stopword-fixture\"]\n")
	report := filepath.Join(t.TempDir(), "gitleaks.json")
	cmd := exec.Command(gitleaks, "dir", dir, "--config", filepath.Join(dir, ".gitleaks.toml"), "--report-format", "json", "--report-path", report, "--exit-code", "0", "--no-banner")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gitleaks refused the config or failed: %v\n%s", err, out)
	}
	var leaks []struct{ Fingerprint, File string }
	data, _ := os.ReadFile(report)
	if err := json.Unmarshal(data, &leaks); err != nil {
		t.Fatalf("gitleaks report: %v\n%s", err, data)
	}
	var ignore []string
	for _, l := range leaks {
		if strings.HasSuffix(l.File, "ci.env") {
			fp := l.Fingerprint
			if rel, err := filepath.Rel(dir, strings.SplitN(fp, ":", 2)[0]); err == nil && !strings.HasPrefix(rel, "..") {
				fp = rel + fp[len(strings.SplitN(fp, ":", 2)[0]):]
			}
			ignore = append(ignore, fp)
		}
	}
	if len(ignore) != 1 {
		t.Fatalf("gitleaks found %d leaks in ci.env, want 1: %s", len(ignore), data)
	}
	// Without the exceptions, latchkey reports all four.
	if _, out, _ := run(t, "", "scan", "-o", "json", dir); strings.Count(out, `"rule"`) != 4 || !strings.Contains(out, "ci.env") {
		t.Fatalf("without exceptions: want 4 findings, ci.env among them:\n%s", out)
	}
	writeFile(t, filepath.Join(dir, ".gitleaksignore"), "# from gitleaks\n"+strings.Join(ignore, "\n")+"\n")
	writeFile(t, filepath.Join(dir, ".latchkey.yaml"), "gitleaks: .gitleaks.toml\n")
	code, out, errOut := run(t, "", "scan", "-o", "json", dir)
	if code != 1 || strings.Contains(out, "ci.env") || strings.Contains(out, "fixtures/") || strings.Contains(out, `"line": 1,`) || !strings.Contains(out, `"line": 2,`) {
		t.Fatalf("want only values.yaml line 2 (the rest is excepted): exit %d\n%s\n%s", code, out, errOut)
	}
}
