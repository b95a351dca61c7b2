package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// hookScript runs the staged scan; the binary path is resolved at install
// time when latchkey is not on PATH.
const hookScript = `#!/bin/sh
# Installed by "latchkey scan install-hook": reject commits that add plaintext secrets.
# Bypass once (for a reviewed false positive, prefer a latchkey:allow comment): git commit --no-verify
exec %s scan --staged
`

func newInstallHookCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "install-hook",
		Short: "Install a Git pre-commit hook that runs latchkey scan --staged",
		Long: `Write a plain Git pre-commit hook (in the repository's hooks directory, honouring core.hooksPath)
that runs "latchkey scan --staged" and blocks the commit on findings. With the pre-commit framework,
use the hook id latchkey-scan from this repository's .pre-commit-hooks.yaml instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			path, err := installHook(ctx, force)
			if err != nil {
				return &scanExit{code: 2, err: err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "installed", path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing pre-commit hook")
	return cmd
}

func installHook(ctx context.Context, force bool) (string, error) {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--git-path", "hooks").Output()
	if err != nil {
		return "", fmt.Errorf("install-hook needs a Git repository: %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating hooks directory: %w", err)
	}
	path := filepath.Join(dir, "pre-commit")
	if _, err := os.Stat(path); err == nil && !force {
		return "", fmt.Errorf("%w at %s (use --force to replace it)", errHookExists, path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	bin := "latchkey"
	if _, err := exec.LookPath("latchkey"); err != nil {
		if exe, err := os.Executable(); err == nil {
			bin = shellQuote(exe)
		}
	}
	if err := os.WriteFile(path, []byte(fmt.Sprintf(hookScript, bin)), 0o755); err != nil {
		return "", fmt.Errorf("writing hook: %w", err)
	}
	return path, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
