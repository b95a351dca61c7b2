package scancommand

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

// hookScript runs the staged scan; %[1]s is the command that installed it,
// %[2]s the scan command line (the binary path is resolved at install time
// when it is not on PATH). It honours SKIP as the pre-commit framework does
// (comma-separated hook ids, blanks ignored), so SKIP=latchkey-scan means the
// same with either kind of hook.
const hookScript = `#!/bin/sh
# Installed by "%[1]s install-hook": reject commits that add plaintext secrets.
# Skip it for one commit: SKIP=latchkey-scan git commit ... (as with the pre-commit framework),
# or git commit --no-verify (every hook). For a reviewed false positive, prefer a latchkey:allow comment.
case ",$(printf '%%s' "${SKIP:-}" | tr -d ' \t')," in
*,latchkey-scan,*)
	echo "latchkey-scan: skipped (SKIP=$SKIP)" >&2
	exit 0 ;;
esac
exec %[2]s --staged
`

func newInstallHookCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "install-hook",
		Short: "Install a Git pre-commit hook that runs latchkey scan --staged",
		Long: `Write a plain Git pre-commit hook (in the repository's hooks directory, honouring core.hooksPath)
that runs "latchkey scan --staged" and blocks the commit on findings. SKIP=latchkey-scan skips it
for one commit, as with the pre-commit framework. With the pre-commit framework, use the hook id
latchkey-scan from this repository's .pre-commit-hooks.yaml instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			path, err := installHook(ctx, force, strings.Fields(cmd.Parent().CommandPath()))
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

// installHook writes the hook; scan is the command line of the scan command
// ("latchkey scan" or "latchkey-scan"), whose first word is the binary.
func installHook(ctx context.Context, force bool, scan []string) (string, error) {
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
	bin := scan[0]
	if _, err := exec.LookPath(bin); err != nil {
		if exe, err := os.Executable(); err == nil {
			bin = shellQuote(exe)
		}
	}
	line := strings.Join(append([]string{bin}, scan[1:]...), " ")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(hookScript, strings.Join(scan, " "), line)), 0o755); err != nil {
		return "", fmt.Errorf("writing hook: %w", err)
	}
	return path, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
