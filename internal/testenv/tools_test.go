package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestToolPathResolvesTheCacheLayoutOfMakeTools(t *testing.T) {
	tmp := t.TempDir()
	tests := []struct {
		name                string
		toolsDir, xdg, home string
		want                string
	}{
		{"LATCHKEY_TOOLS_DIR wins", filepath.Join(tmp, "tools"), filepath.Join(tmp, "xdg"), filepath.Join(tmp, "home"),
			filepath.Join(tmp, "tools", "vault-v1.21.0", "vault")},
		{"XDG_CACHE_HOME", "", filepath.Join(tmp, "xdg"), filepath.Join(tmp, "home"),
			filepath.Join(tmp, "xdg", "latchkey", "tools", "vault-v1.21.0", "vault")},
		{"HOME fallback", "", "", filepath.Join(tmp, "home"),
			filepath.Join(tmp, "home", ".cache", "latchkey", "tools", "vault-v1.21.0", "vault")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(toolsDirEnv, tt.toolsDir)
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)

			got, err := toolPath("vault", "v1.21.0")
			if got != tt.want {
				t.Errorf("toolPath = %q, want %q", got, tt.want)
			}
			if err == nil || !strings.Contains(err.Error(), "make tools") {
				t.Errorf("missing binary: error %v, want one naming `make tools`", err)
			}

			writeFile(t, tt.want, 0o755)
			if _, err := toolPath("vault", "v1.21.0"); err != nil {
				t.Errorf("built binary: %v", err)
			}
		})
	}
}

func TestToolPathRejectsANonExecutable(t *testing.T) {
	root := t.TempDir()
	t.Setenv(toolsDirEnv, root)
	writeFile(t, filepath.Join(root, "vault-v1.21.0", "vault"), 0o644)
	if _, err := toolPath("vault", "v1.21.0"); err == nil {
		t.Error("toolPath accepted a file without execute permission")
	}
}

func TestRequireToolFailsInCIAndSkipsElsewhere(t *testing.T) {
	tests := []struct {
		ci                  string
		wantFatal, wantSkip bool
	}{
		{ci: "true", wantFatal: true},
		{ci: "", wantSkip: true},
		{ci: "false", wantSkip: true},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv(toolsDirEnv, t.TempDir())
			t.Setenv("CI", tt.ci)
			rec := &recordingTB{TB: t}
			requireTool(rec, "vault", "v1.21.0")
			if rec.fatal != tt.wantFatal || rec.skip != tt.wantSkip {
				t.Errorf("fatal=%t skip=%t, want fatal=%t skip=%t", rec.fatal, rec.skip, tt.wantFatal, tt.wantSkip)
			}
			if !strings.Contains(rec.msg, "make tools") {
				t.Errorf("message %q does not name `make tools`", rec.msg)
			}
		})
	}
}

// recordingTB records how a helper ends a test instead of ending it. Like the
// real Fatalf and Skipf, only the first call counts: the real ones stop the
// goroutine, so a later call can never happen.
type recordingTB struct {
	testing.TB
	fatal, skip bool
	msg         string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	if !r.fatal && !r.skip {
		r.fatal, r.msg = true, fmt.Sprintf(format, args...)
	}
}

func (r *recordingTB) Skipf(format string, args ...any) {
	if !r.fatal && !r.skip {
		r.skip, r.msg = true, fmt.Sprintf(format, args...)
	}
}

func writeFile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}
