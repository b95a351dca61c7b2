package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/scanner"
	"github.com/latchkey-dev/latchkey/scanner/report"
)

// scanExit carries scan's exit codes: 1 for findings, 2 for usage and I/O
// errors.
type scanExit struct {
	code int
	err  error
}

func (e *scanExit) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *scanExit) Unwrap() error { return e.err }
func (e *scanExit) ExitCode() int { return e.code }

func usageError(format string, args ...any) error {
	return &scanExit{code: 2, err: fmt.Errorf(format, args...)}
}

type scanFlags struct {
	staged         bool
	git            bool
	all            bool
	stdinName      string
	format         string
	output         string
	config         string
	baseline       string
	writeBaseline  string
	maxFileSizeMiB int
}

func newScanCommand() *cobra.Command {
	var fl scanFlags
	cmd := &cobra.Command{
		Use:   "scan [PATH...] | --staged | --git REV-RANGE | --git --all | -",
		Short: "Reject plaintext secrets in a GitOps repository",
		Long: `Scan for plaintext secrets: Kubernetes Secrets whose values are not references, secret-named env
variables, ConfigMap keys and Helm values with literal values, Kustomize secretGenerator literals,
SealedSecrets and SOPS files carrying plaintext, and provider tokens, private keys and passwords in
URLs in any text file. Vault references (<path:...#key>, ref+vault://...), SealedSecret ciphertext,
SOPS ENC[...] values, secretKeyRef, ${VAR} and {{ }} expressions are not secrets.

Modes:
  latchkey scan [PATH...]          the working tree (default .), honouring .gitignore
  latchkey scan --staged           the staged content of added/modified files (pre-commit)
  latchkey scan --git RANGE        every blob added or modified by the commits in RANGE (CI)
  latchkey scan --git --all        the whole history of all refs
  latchkey scan - --stdin-name F   standard input, read as if it were file F

Suppress a finding with a "latchkey:allow" comment on its line, with a baseline
(--write-baseline, then --baseline), or with allow.paths in .latchkey.yaml.

Exit status: 0 clean, 1 findings, 2 usage or I/O error.`,
		Example: `  latchkey scan
  latchkey scan --staged
  latchkey scan --git origin/main..HEAD --format sarif --output latchkey.sarif
  helm template ./chart | latchkey scan - --stdin-name rendered.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd, args, fl)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&fl.staged, "staged", false, "scan the staged content of added and modified files (pre-commit mode)")
	f.BoolVar(&fl.git, "git", false, "scan Git history: the blobs added or modified by the commits of the REV-RANGE argument (or --all)")
	f.BoolVar(&fl.all, "all", false, "with --git: scan the history of all refs")
	f.StringVar(&fl.stdinName, "stdin-name", "stdin", "file name to report, and to choose how to read standard input (e.g. values.yaml, app.env)")
	f.StringVar(&fl.format, "format", "text", "output format: "+strings.Join(report.Formats, ", "))
	f.StringVarP(&fl.output, "output", "o", "", "write the report to this file instead of standard output")
	f.StringVar(&fl.config, "config", "", "repository config file (default: "+scanner.ConfigFile+" at the scan root)")
	f.StringVar(&fl.baseline, "baseline", "", "ignore the findings recorded in this baseline file")
	f.StringVar(&fl.writeBaseline, "write-baseline", "", "record all current findings in this baseline file and exit 0")
	f.IntVar(&fl.maxFileSizeMiB, "max-file-size", 64, "skip files larger than this many MiB")
	cmd.AddCommand(newInstallHookCommand())
	withFix(cmd)
	return cmd
}

func runScan(cmd *cobra.Command, args []string, fl scanFlags) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if !slices.Contains(report.Formats, fl.format) {
		return usageError("unknown --format %q (want %s)", fl.format, strings.Join(report.Formats, ", "))
	}
	src, root, err := scanSource(ctx, cmd, args, fl)
	if err != nil {
		return err
	}
	cfgPath := fl.config
	if cfgPath == "" {
		cfgPath = filepath.Join(root, scanner.ConfigFile)
	}
	cfg, err := scanner.LoadConfig(cfgPath)
	if err != nil {
		return &scanExit{code: 2, err: err}
	}
	fp := scanner.NewFingerprinter(scanner.RepoID(ctx, root), []byte(os.Getenv("LATCHKEY_FINGERPRINT_KEY")))
	sc, err := scanner.New(scanner.Options{Config: cfg, Fingerprints: fp, MaxFileSize: fl.maxFileSizeMiB << 20})
	if err != nil {
		return &scanExit{code: 2, err: err}
	}
	res, err := sc.Run(ctx, src)
	if err != nil {
		return &scanExit{code: 2, err: fmt.Errorf("scanning: %w", err)}
	}
	for _, s := range res.Skipped {
		fmt.Fprintln(cmd.ErrOrStderr(), "latchkey: skipped", s)
	}
	if fl.writeBaseline != "" {
		if err := scanner.NewBaseline(fp, res.Findings).Write(fl.writeBaseline); err != nil {
			return &scanExit{code: 2, err: err}
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "latchkey: wrote %d findings to baseline %s\n", len(res.Findings), fl.writeBaseline)
		return nil
	}
	findings := res.Findings
	if fl.baseline != "" {
		b, err := scanner.LoadBaseline(fl.baseline, fp)
		if err != nil {
			return &scanExit{code: 2, err: err}
		}
		findings = b.Filter(findings)
	}
	if err := writeReport(cmd, fl, findings, sc); err != nil {
		return &scanExit{code: 2, err: err}
	}
	if fl.format == "text" || fl.output != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "latchkey: %d finding(s) in %d file(s) scanned (%.1f MB)\n", len(findings), res.Files, float64(res.Bytes)/1e6)
	}
	if len(findings) > 0 {
		return &scanExit{code: 1}
	}
	return nil
}

// scanSource picks the source from the mode flags and arguments, and the
// root that paths are relative to.
func scanSource(ctx context.Context, cmd *cobra.Command, args []string, fl scanFlags) (scanner.Source, string, error) {
	modes := 0
	for _, on := range []bool{fl.staged, fl.git, len(args) == 1 && args[0] == "-"} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return nil, "", usageError("--staged, --git and - (stdin) are exclusive")
	}
	if fl.all && !fl.git {
		return nil, "", usageError("--all needs --git")
	}
	switch {
	case fl.staged:
		if len(args) > 0 {
			return nil, "", usageError("--staged takes no arguments")
		}
		repo, err := scanner.RepoRoot(ctx, ".")
		if err != nil {
			return nil, "", usageError("--staged needs a Git work tree: %v", err)
		}
		return &scanner.Staged{Repo: repo}, repo, nil
	case fl.git:
		if fl.all == (len(args) == 1) || len(args) > 1 {
			return nil, "", usageError("--git needs exactly one of REV-RANGE or --all")
		}
		repo, err := scanner.RepoRoot(ctx, ".")
		if err != nil {
			return nil, "", usageError("--git needs a Git repository: %v", err)
		}
		h := &scanner.History{Repo: repo, All: fl.all}
		if !fl.all {
			h.Range = args[0]
		}
		return h, repo, nil
	case len(args) == 1 && args[0] == "-":
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, "", &scanExit{code: 2, err: fmt.Errorf("reading standard input: %w", err)}
		}
		return &scanner.Input{Name: filepath.ToSlash(fl.stdinName), Data: data}, ".", nil
	}
	if len(args) == 1 {
		st, err := os.Stat(args[0])
		if err != nil {
			return nil, "", &scanExit{code: 2, err: fmt.Errorf("scan path: %w", err)}
		}
		if st.IsDir() {
			return &scanner.Worktree{Root: args[0]}, args[0], nil
		}
		if rel, err := filepath.Rel(".", args[0]); err != nil || strings.HasPrefix(rel, "..") {
			// A single file elsewhere: its directory is the scan root.
			return &scanner.Worktree{Root: filepath.Dir(args[0]), Paths: []string{filepath.Base(args[0])}}, filepath.Dir(args[0]), nil
		}
	}
	var paths []string
	for _, a := range args {
		if a == "-" {
			return nil, "", usageError("- (stdin) cannot be combined with paths")
		}
		rel, err := filepath.Rel(".", a)
		if err != nil || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
			abs, _ := filepath.Abs(a)
			cwd, _ := os.Getwd()
			if rel, err = filepath.Rel(cwd, abs); err != nil || strings.HasPrefix(rel, "..") {
				return nil, "", usageError("path %s is outside the current directory; scan it as a directory argument of its own", a)
			}
		}
		if _, err := os.Stat(a); err != nil {
			return nil, "", &scanExit{code: 2, err: fmt.Errorf("scan path: %w", err)}
		}
		paths = append(paths, filepath.ToSlash(rel))
	}
	return &scanner.Worktree{Root: ".", Paths: paths}, ".", nil
}

func writeReport(cmd *cobra.Command, fl scanFlags, findings []scanner.Finding, sc *scanner.Scanner) error {
	var buf bytes.Buffer
	tool := report.Tool{Name: "latchkey", Version: version, URI: "https://github.com/latchkey-dev/latchkey", Rules: sc.Rules()}
	if err := report.Write(&buf, fl.format, findings, tool); err != nil {
		return err
	}
	if fl.output == "" {
		_, err := cmd.OutOrStdout().Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(fl.output, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

var errHookExists = errors.New("a pre-commit hook already exists")
