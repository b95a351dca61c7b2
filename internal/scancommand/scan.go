package scancommand

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

// Exit ends the scan with an exit status (0 clean, 1 findings, 2 errors) and
// an error to print, if any; the full binary's scan --fix ends the same way.
func Exit(code int, err error) error { return &scanExit{code: code, err: err} }

// UsageError is a command-line mistake: exit status 2, as for every scan error.
func UsageError(format string, args ...any) error {
	return &scanExit{code: 2, err: fmt.Errorf(format, args...)}
}

type scanFlags struct {
	staged         bool
	git            bool
	all            bool
	diff           string
	stdinName      string
	format         string
	output         string
	config         string
	baseline       string
	writeBaseline  string
	maxFileSizeMiB int
	exitCode       int
	redact         int
}

func newScanCommand() *cobra.Command {
	var fl scanFlags
	cmd := &cobra.Command{
		Use:   "scan [PATH...] | --staged | --git [REV-RANGE] | --diff BASE | -",
		Short: "Reject plaintext secrets in a GitOps repository",
		Long: `Scan for plaintext secrets: Kubernetes Secrets whose values are not references, secret-named env
variables, ConfigMap keys and Helm values with literal values, Kustomize secretGenerator literals,
SealedSecrets and SOPS files carrying plaintext, and provider tokens, private keys and passwords in
URLs in any text file. Vault references (<path:...#key>, ref+vault://...), SealedSecret ciphertext,
SOPS ENC[...] values, secretKeyRef, ${VAR} and {{ }} expressions are not secrets.

Modes:
  latchkey scan [PATH...]          the working tree (default .), honouring .gitignore
  latchkey scan --staged           the staged content of added/modified files (pre-commit)
  latchkey scan --git [RANGE]      every blob added or modified by the commits in RANGE (default: all history)
  latchkey scan --diff BASE        the files changed between BASE and HEAD, as they are in HEAD (CI in
                                   shallow clones: BASE is fetched at depth 1 when missing)
  latchkey scan -                  standard input (--stdin-name F reads it as file F; a manifest is
                                   recognised by its apiVersion and kind whatever the name)

Paths in the report, .latchkey.yaml (or .latchkey.yml), allow.paths, the baseline and fingerprints are
relative to the repository root (the Git top level; outside Git, the nearest directory holding
.latchkey.yaml), whatever the working directory or path argument.

Suppress a finding with a "latchkey:allow" comment on its line or alone on the line above
("gitleaks:allow" and "pragma: allowlist secret" work too), with a baseline (--write-baseline, then
--baseline or baseline: in .latchkey.yaml), with allow.paths in .latchkey.yaml, with .gitleaksignore,
or with the allowlists of a gitleaks.toml (gitleaks: in .latchkey.yaml).

Exit status: 0 clean, 1 findings (--exit-code), 2 usage or I/O error.`,
		Example: `  latchkey scan
  latchkey scan --staged
  latchkey scan --diff origin/main -o sarif -w latchkey.sarif
  latchkey scan --git origin/main..HEAD --format sarif --output latchkey.sarif
  helm template ./chart | latchkey scan -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd, args, fl)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&fl.staged, "staged", false, "scan the staged content of added and modified files (pre-commit mode)")
	f.BoolVar(&fl.git, "git", false, "scan Git history: the blobs added or modified by the commits of the REV-RANGE argument (default: all refs)")
	f.BoolVar(&fl.all, "all", false, "with --git: scan the history of all refs (the default without a REV-RANGE)")
	f.StringVar(&fl.diff, "diff", "", "scan the files changed between this base revision and HEAD, whole, as they are in HEAD (works in shallow clones)")
	f.StringVar(&fl.stdinName, "stdin-name", "stdin", "file name to report, and to choose how to read standard input (e.g. values.yaml, app.env)")
	f.StringVarP(&fl.format, "format", "o", "text", "output format: "+strings.Join(report.Formats, ", ")+" (case-insensitive; -o as in kubectl and kubeseal)")
	f.StringVarP(&fl.output, "output", "w", "", "write the report to this file instead of standard output (-w as in latchkey seal)")
	f.StringVar(&fl.config, "config", "", "repository config file (default: "+scanner.ConfigFile+" or "+scanner.ConfigFileAlt+" at the repository root)")
	f.StringVar(&fl.baseline, "baseline", "", "ignore the findings recorded in this baseline file (default: baseline: in "+scanner.ConfigFile+")")
	f.StringVar(&fl.writeBaseline, "write-baseline", "", "record all current findings in this baseline file and exit 0")
	f.IntVar(&fl.maxFileSizeMiB, "max-file-size", 64, "skip files larger than this many MiB")
	f.IntVar(&fl.exitCode, "exit-code", 1, "exit status when there are findings (0 reports without failing)")
	f.IntVar(&fl.redact, "redact", 0, "hide this percentage of each masked secret (--redact alone: 100, nothing shown); secrets are never shown whole")
	f.Lookup("redact").NoOptDefVal = "100"
	cmd.AddCommand(newInstallHookCommand())
	return cmd
}

func runScan(cmd *cobra.Command, args []string, fl scanFlags) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	stderr := cmd.ErrOrStderr()
	if err := checkScanFlags(&fl); err != nil {
		return err
	}
	src, root, err := scanSource(ctx, cmd, args, fl)
	if err != nil {
		return err
	}
	cfgPath := fl.config
	if cfgPath == "" {
		if cfgPath, err = scanner.FindConfig(root.Dir); err != nil {
			return &scanExit{code: 2, err: err}
		}
	}
	cfg := &scanner.Config{}
	if cfgPath != "" {
		if cfg, err = scanner.LoadConfig(cfgPath); err != nil {
			return &scanExit{code: 2, err: err}
		}
	}
	exceptions, err := loadExceptions(root, cfg)
	if err != nil {
		return &scanExit{code: 2, err: err}
	}
	keys, err := fingerprintKeys(ctx, fl, cfg, root)
	if err != nil {
		return err
	}
	fp, baseline := keys.fp, keys.baseline
	sc, err := scanner.New(scanner.Options{Config: cfg, Fingerprints: fp, MaxFileSize: fl.maxFileSizeMiB << 20, Exceptions: exceptions})
	if err != nil {
		return &scanExit{code: 2, err: err}
	}
	res, err := sc.Run(ctx, src)
	if err != nil {
		return &scanExit{code: 2, err: fmt.Errorf("scanning: %w", err)}
	}
	for _, s := range res.Skipped {
		fmt.Fprintln(stderr, "latchkey: skipped", s)
	}
	if fl.writeBaseline != "" {
		if err := scanner.NewBaseline(keys.salt, keys.keyed, fp, res.Findings).Write(fl.writeBaseline); err != nil {
			return &scanExit{code: 2, err: err}
		}
		fmt.Fprintf(stderr, "latchkey: wrote %d findings to baseline %s\n", len(res.Findings), fl.writeBaseline)
		return nil
	}
	return reportFindings(ctx, cmd, fl, sc, src, res, baseline, cfg, root)
}

// reportFindings filters the findings through the baseline, marks where
// each was committed, redacts, reports, and picks the exit code.
func reportFindings(ctx context.Context, cmd *cobra.Command, fl scanFlags, sc *scanner.Scanner, src scanner.Source, res *scanner.Result, baseline *scanner.Baseline, cfg *scanner.Config, root scanner.Root) error {
	stderr := cmd.ErrOrStderr()
	findings := res.Findings
	if baseline != nil {
		findings = baseline.Filter(findings)
	}
	switch src := src.(type) {
	case *scanner.History:
		sc.MarkHistory(ctx, src.Repo, findings)
	case *scanner.Diff:
		scanner.MarkCommitted(findings)
	}
	for i := range findings {
		findings[i].Secret = redact(findings[i].Secret, findings[i].Length, fl.redact)
	}
	if err := writeReport(cmd, fl, findings, sc); err != nil {
		return &scanExit{code: 2, err: err}
	}
	if fl.format == "text" || fl.output != "" {
		fmt.Fprintf(stderr, "latchkey: %d finding(s) in %d file(s) scanned (%.1f MB)\n", len(findings), res.Files, float64(res.Bytes)/1e6)
	}
	if len(findings) == 0 {
		return nil
	}
	if fl.staged {
		fmt.Fprint(stderr, blockedCommit(findings, cfg, root))
	}
	if fl.exitCode == 0 {
		return nil
	}
	return &scanExit{code: fl.exitCode}
}

// checkScanFlags refuses flag values no scan can honour, with the fix.
func checkScanFlags(fl *scanFlags) error {
	fl.format = strings.ToLower(fl.format)
	if !slices.Contains(report.Formats, fl.format) {
		hint := ""
		if strings.ContainsAny(fl.format, "./") {
			hint = "; -o is the format, as in kubectl and latchkey seal: write the report to a file with -w/--output FILE"
		}
		return UsageError("unknown --format %q (want %s)%s", fl.format, strings.Join(report.Formats, ", "), hint)
	}
	if fl.redact < 0 || fl.redact > 100 {
		return UsageError("--redact %d: want a percentage from 0 to 100", fl.redact)
	}
	if fl.exitCode < 0 || fl.exitCode > 125 {
		return UsageError("--exit-code %d: want 0 to 125", fl.exitCode)
	}
	return nil
}

// scanKeys is how findings are fingerprinted: the key, and the baseline
// that fixes it (its salt), or the salt of a baseline being written.
type scanKeys struct {
	fp       *scanner.Fingerprinter
	baseline *scanner.Baseline
	salt     string
	keyed    bool // LATCHKEY_FINGERPRINT_KEY is set
}

// fingerprintKeys decides the fingerprint key before the scan: a baseline's
// salt (version 2), else the repository's root commit.
func fingerprintKeys(ctx context.Context, fl scanFlags, cfg *scanner.Config, root scanner.Root) (scanKeys, error) {
	var err error
	k := scanKeys{keyed: os.Getenv("LATCHKEY_FINGERPRINT_KEY") != ""}
	secret := []byte(os.Getenv("LATCHKEY_FINGERPRINT_KEY"))
	identity := scanner.Identity{Missing: "this directory is not in a Git repository"}
	if root.Git {
		identity = scanner.RepoIdentity(ctx, root.Dir)
	}
	baselinePath := fl.baseline
	if baselinePath == "" && cfg.Baseline != "" {
		baselinePath = filepath.FromSlash(cfg.Baseline)
		if !filepath.IsAbs(baselinePath) {
			baselinePath = filepath.Join(root.Dir, baselinePath)
		}
	}
	switch {
	case fl.writeBaseline != "":
		k.salt = scanner.NewSalt()
		if old, err := scanner.ReadBaseline(fl.writeBaseline); err == nil && old.Salt != "" {
			k.salt = old.Salt // rewriting keeps the entries that did not change
		}
		k.fp = scanner.SaltFingerprinter(k.salt, secret)
	case baselinePath != "":
		if k.baseline, err = scanner.ReadBaseline(baselinePath); err != nil {
			return k, &scanExit{code: 2, err: err}
		}
		if k.fp, err = k.baseline.Fingerprinter(baselinePath, identity, secret); err != nil {
			return k, &scanExit{code: 2, err: err}
		}
	default:
		k.fp = scanner.NewFingerprinter(identity.ID, secret)
	}
	return k, nil
}

// loadExceptions reads the allowlists of gitleaks a repository may carry:
// .gitleaksignore at the root (as gitleaks does), and the gitleaks.toml
// named by gitleaks: in .latchkey.yaml.
func loadExceptions(root scanner.Root, cfg *scanner.Config) ([]scanner.Exception, error) {
	var out []scanner.Exception
	ign, err := scanner.LoadGitleaksIgnore(filepath.Join(root.Dir, scanner.GitleaksIgnoreFile))
	if err != nil {
		return nil, err
	}
	if ign != nil {
		out = append(out, ign)
	}
	if cfg.Gitleaks != "" {
		gl, err := scanner.LoadGitleaksConfig(filepath.Join(root.Dir, filepath.FromSlash(cfg.Gitleaks)))
		if err != nil {
			return nil, fmt.Errorf("gitleaks: in %s: %w", scanner.ConfigFile, err)
		}
		out = append(out, gl)
	}
	return out, nil
}

// redact hides pct percent of a secret's characters in its masked form
// (which already shows at most a quarter): 100 shows nothing.
func redact(masked string, length, pct int) string {
	if pct == 0 {
		return masked
	}
	shown := []rune(strings.TrimSuffix(masked, "*****"))
	keep := min(len(shown), length*(100-pct)/100)
	return string(shown[:keep]) + "*****"
}

// blockedCommit tells the committer that nothing was committed, and what to
// do next, concretely.
func blockedCommit(findings []scanner.Finding, cfg *scanner.Config, root scanner.Root) string {
	files := map[string]bool{}
	for _, f := range findings {
		files[f.File] = true
	}
	baseline := cfg.Baseline
	if baseline == "" {
		baseline = ".latchkey-baseline.json"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "latchkey: commit blocked: %d plaintext secret(s) in %d staged file(s); nothing was committed.\n", len(findings), len(files))
	b.WriteString("Next steps:\n")
	b.WriteString("  1. apply the fix printed under each finding above, then: git add <the files> && git commit again\n")
	b.WriteString("     (a value already pushed elsewhere must also be rotated)\n")
	b.WriteString("  2. a test value or a false positive: add a comment \"# latchkey:allow <why>\" on its line,\n")
	fmt.Fprintf(&b, "     or accept all current findings: latchkey scan --write-baseline %s", baseline)
	if cfg.Baseline == "" {
		fmt.Fprintf(&b, " and add \"baseline: %s\" to %s", baseline, scanner.ConfigFile)
	}
	b.WriteString("\n")
	b.WriteString("  3. bypass this check once (the secret WILL be committed): git commit --no-verify\n")
	b.WriteString("     (with the pre-commit framework: SKIP=latchkey-scan git commit)\n")
	return b.String()
}

// scanSource picks the source from the mode flags and arguments, and the
// repository root everything is relative to.
func scanSource(ctx context.Context, cmd *cobra.Command, args []string, fl scanFlags) (scanner.Source, scanner.Root, error) {
	var none scanner.Root
	stdin := len(args) == 1 && args[0] == "-"
	modes := 0
	for _, on := range []bool{fl.staged, fl.git, fl.diff != "", stdin} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return nil, none, UsageError("--staged, --git, --diff and - (stdin) are exclusive: pick one mode per run")
	}
	if fl.all && !fl.git {
		return nil, none, UsageError("--all needs --git: latchkey scan --git --all")
	}
	gitRoot := func(mode string) (scanner.Root, error) {
		root, err := scanner.FindRoot(ctx, ".")
		if err != nil || !root.Git {
			return none, UsageError("%s needs a Git work tree: run it inside the repository", mode)
		}
		return root, nil
	}
	switch {
	case fl.staged:
		if len(args) > 0 {
			return nil, none, UsageError("--staged takes no arguments (it scans the index); to scan paths: latchkey scan PATH...")
		}
		root, err := gitRoot("--staged")
		if err != nil {
			return nil, none, err
		}
		return &scanner.Staged{Repo: root.Dir}, root, nil
	case fl.git:
		if len(args) > 1 || (fl.all && len(args) == 1) {
			return nil, none, UsageError("--git takes one REV-RANGE (e.g. origin/main..HEAD), or none for the whole history")
		}
		root, err := gitRoot("--git")
		if err != nil {
			return nil, none, err
		}
		h := &scanner.History{Repo: root.Dir, All: len(args) == 0}
		if len(args) == 1 {
			h.Range = args[0]
		}
		return h, root, nil
	case fl.diff != "":
		if len(args) > 0 {
			return nil, none, UsageError("--diff takes no path arguments: latchkey scan --diff BASE scans what changed since BASE")
		}
		root, err := gitRoot("--diff")
		if err != nil {
			return nil, none, err
		}
		log := func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "latchkey:", msg) }
		return &scanner.Diff{Repo: root.Dir, Base: fl.diff, Log: log}, root, nil
	case stdin:
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, none, &scanExit{code: 2, err: fmt.Errorf("reading standard input: %w", err)}
		}
		root, err := scanner.FindRoot(ctx, ".")
		if err != nil {
			return nil, none, &scanExit{code: 2, err: err}
		}
		return &scanner.Input{Name: filepath.ToSlash(fl.stdinName), Data: data}, root, nil
	}
	return worktreeSource(ctx, args)
}

// worktreeSource is the default mode: the files at args (the whole
// repository when none), all in one repository.
func worktreeSource(ctx context.Context, args []string) (scanner.Source, scanner.Root, error) {
	var none scanner.Root
	if len(args) == 0 {
		args = []string{"."}
	}
	for _, a := range args {
		if a == "-" {
			return nil, none, UsageError("- (stdin) cannot be combined with paths: scan them in separate runs")
		}
		if _, err := os.Stat(a); err != nil {
			return nil, none, &scanExit{code: 2, err: fmt.Errorf("scan path: %w (check the spelling; paths are relative to the working directory)", err)}
		}
	}
	root, err := scanner.FindRoot(ctx, args[0])
	if err != nil {
		return nil, none, &scanExit{code: 2, err: err}
	}
	var paths []string
	for _, a := range args {
		rel, ok := root.Rel(a)
		if !ok {
			return nil, none, UsageError("path %s is not in the repository of %s (%s): scan it on its own", a, args[0], root.Dir)
		}
		if rel == "" {
			paths = nil // the whole repository
			break
		}
		paths = append(paths, rel)
	}
	return &scanner.Worktree{Root: root.Dir, Paths: paths}, root, nil
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
