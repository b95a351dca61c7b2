package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// run executes latchkey in-process and returns its exit code and stdout.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	code := 0
	if err != nil {
		var ec exitCoder
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		} else {
			code = 2 // what main does with any other error
		}
		errOut.WriteString(err.Error())
	}
	return code, out.String(), errOut.String()
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

func TestScanExitCodes(t *testing.T) {
	clean, dirty := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(clean, "values.yaml"), "password: <path:secret/data/app#password>\n")
	writeFile(t, filepath.Join(dirty, "values.yaml"), "password: Cli-8s7d6f5g\n")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"clean tree", "", []string{"scan", clean}, 0},
		{"findings", "", []string{"scan", dirty}, 1},
		{"missing path", "", []string{"scan", filepath.Join(clean, "nope")}, 2},
		{"bad format", "", []string{"scan", "--format", "xml", clean}, 2},
		{"unknown flag", "", []string{"scan", "--bogus"}, 2},
		{"--git with two ranges", "", []string{"scan", "--git", "a..b", "c..d"}, 2},
		{"--git --all with a range", "", []string{"scan", "--git", "--all", "a..b"}, 2},
		{"--all without --git", "", []string{"scan", "--all"}, 2},
		{"exclusive modes", "", []string{"scan", "--staged", "--git", "--all"}, 2},
		{"stdin as values.yaml", "password: Cli-8s7d6f5g\n", []string{"scan", "-", "--stdin-name", "values.yaml"}, 1},
		{"stdin clean", "password: \"\"\n", []string{"scan", "-"}, 0},
		{"bad config", "", []string{"scan", "--config", filepath.Join(dirty, "values.yaml"), clean}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if strings.Contains(out+errOut, "Cli-8s7d6f5g") {
				t.Errorf("output carries the secret")
			}
		})
	}
}

func TestScanBaselineAndOutput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "values.yaml"), "password: Cli-8s7d6f5g\n")
	baseline := filepath.Join(dir, "..", filepath.Base(dir)+"-baseline.json")
	if code, _, errOut := run(t, "", "scan", dir, "--write-baseline", baseline); code != 0 {
		t.Fatalf("--write-baseline exit %d: %s", code, errOut)
	}
	if code, out, _ := run(t, "", "scan", dir, "--baseline", baseline); code != 0 {
		t.Fatalf("baselined finding still reported (exit %d): %s", code, out)
	}
	writeFile(t, filepath.Join(dir, "more.env"), "API_TOKEN=New-8s7d6f5g\n")
	report := filepath.Join(t.TempDir(), "out.sarif")
	code, out, _ := run(t, "", "scan", dir, "--baseline", baseline, "--format", "sarif", "--output", report)
	if code != 1 || out != "" {
		t.Fatalf("new finding: exit %d, stdout %q; want 1 and the report in the file", code, out)
	}
	data, err := os.ReadFile(report)
	if err != nil || !strings.Contains(string(data), `"uri": "more.env"`) || strings.Contains(string(data), "values.yaml") {
		t.Fatalf("report %s: %v\n%s", report, err, data)
	}
}

func TestInstallHook(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Unavailable(t, "git is not installed")
	}
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	t.Chdir(dir)
	if code, _, errOut := run(t, "", "scan", "install-hook"); code != 0 {
		t.Fatalf("install-hook exit %d: %s", code, errOut)
	}
	hook := filepath.Join(dir, ".git", "hooks", "pre-commit")
	st, err := os.Stat(hook)
	if err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("hook %s: %v, mode %v", hook, err, st.Mode())
	}
	data, _ := os.ReadFile(hook)
	if !strings.Contains(string(data), "scan --staged") {
		t.Fatalf("hook does not run the staged scan:\n%s", data)
	}
	if code, _, _ := run(t, "", "scan", "install-hook"); code != 2 {
		t.Fatalf("second install-hook exit %d, want 2 (refuses to overwrite)", code)
	}
	if code, _, _ := run(t, "", "scan", "install-hook", "--force"); code != 0 {
		t.Fatalf("install-hook --force exit %d", code)
	}
}
