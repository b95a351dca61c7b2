package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/promotion"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/resolver"
)

// promoteExit carries promote's exit status: 1 when keys are missing, 2
// when the check could not be made.
type promoteExit struct {
	err  error
	code int
}

func (e *promoteExit) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *promoteExit) Unwrap() error { return e.err }
func (e *promoteExit) ExitCode() int { return e.code }

type promoteFlags struct {
	check, diff   bool
	repo          string
	revision      string
	mode          string
	helm          render.HelmOptions
	noRemoteBases bool
	timeout       time.Duration
}

func newPromoteCommand() *cobra.Command {
	var fl promoteFlags
	env := config.WithArgoCDPrefix(config.OSEnv)
	cmd := &cobra.Command{
		Use:   "promote --check [--revision REV] OVERLAY | --diff REV_A REV_B OVERLAY",
		Short: "Check an overlay's secret references against an environment's Vault before promoting, and diff two revisions with values masked",
		Long: `Promotion gates for CI, the ones a following Sync applies before it takes a revision.

--check renders OVERLAY (a directory: on disk as it is, or at --revision of the Git repository --repo)
and verifies that every Vault reference in it exists in the Vault configured by the environment
(VAULT_ADDR, VAULT_TOKEN, AVP_AUTH_TYPE..., as "latchkey render" reads them: point them at the NEXT
environment's Vault). Each missing key is listed with its file:line and path#key, followed by the
"vault kv" commands that add it (values are read from standard input, never written on the command
line). Values are read in memory to see their keys and dropped. Exit status: 0 when every key exists,
1 when any is missing, 2 when the check could not be made (Vault unreachable, access denied, a
malformed reference, a render failure).

--diff REV_A REV_B prints the changes of the rendered OVERLAY from REV_A to REV_B, object by object.
Secret values are masked: a reference shows as written with the secret version read and a keyed HMAC
of the value (keyed per run: equal HMACs mean equal values within one diff), a literal value of a
Secret as its HMAC; without Vault configured, references show "[not resolved]". With --check too,
REV_B is checked.

OVERLAY is relative to the repository root when a revision is given. --repo is a local repository (the
CI checkout, default: the one holding the current directory), where REV is anything go-git resolves
(branch, tag, origin/main, HEAD~1, a commit hash), or a URL fetched into memory as the controller does
(REV a branch, a tag or a full commit hash; credentials from LATCHKEY_GIT_USERNAME and
LATCHKEY_GIT_PASSWORD). See docs/rollout.md.`,
		Example: `  # in a pull request pipeline, against staging's Vault:
  latchkey promote --check --revision "$CI_COMMIT_SHA" apps/shop/overlays/staging
  # what promoting verified/dev to staging changes:
  latchkey promote --diff verified/staging verified/dev apps/shop/overlays/staging`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case fl.diff && len(args) != 3:
				return errors.New("--diff takes REV_A REV_B OVERLAY")
			case !fl.diff && !fl.check:
				return errors.New("say what to do: --check, --diff, or both")
			case !fl.diff && len(args) != 1:
				return errors.New("--check takes one OVERLAY directory")
			case fl.diff && fl.revision != "":
				return errors.New("--revision is for --check alone: with --diff, REV_B is checked")
			}
			return runPromote(cmd, args, fl, env)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&fl.check, "check", false, "verify that every Vault reference of OVERLAY exists in the configured Vault")
	f.BoolVar(&fl.diff, "diff", false, "print the rendered changes of OVERLAY from REV_A to REV_B, values masked")
	f.StringVar(&fl.repo, "repo", envOr("LATCHKEY_PROMOTE_REPO", "."), "Git repository: a local directory or a URL (env LATCHKEY_PROMOTE_REPO)")
	f.StringVar(&fl.revision, "revision", os.Getenv("LATCHKEY_PROMOTE_REVISION"), "revision to --check (default: OVERLAY as it is on disk; env LATCHKEY_PROMOTE_REVISION)")
	f.StringVar(&fl.mode, "mode", "auto", "how to render OVERLAY: auto, plain, kustomize or helm")
	f.StringVar(&fl.helm.ReleaseName, "release-name", "release-name", "Helm release name")
	f.StringVarP(&fl.helm.Namespace, "namespace", "n", "", "Helm release namespace")
	f.StringArrayVarP(&fl.helm.ValuesFiles, "values", "f", nil, "Helm values file, relative to the repository root when a revision is given (repeatable)")
	f.StringArrayVar(&fl.helm.Set, "set", nil, "Helm value on the command line, key=value (repeatable)")
	f.BoolVar(&fl.noRemoteBases, "no-remote-bases", true, "refuse kustomizations that load remote bases or files by URL (the controller's default)")
	f.DurationVar(&fl.timeout, "timeout", 5*time.Minute, "give up after this long")
	return cmd
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func runPromote(cmd *cobra.Command, args []string, fl promoteFlags, env config.Env) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), fl.timeout)
	defer cancel()
	mode, err := render.ParseMode(fl.mode)
	if err != nil {
		return err
	}
	ropts := render.Options{Mode: mode, Helm: fl.helm, NoRemoteBases: fl.noRemoteBases}
	backend, opts, err := vaultFromEnv(env)
	if err != nil {
		return &promoteExit{err: err, code: 2}
	}
	out := cmd.OutOrStdout()

	if !fl.diff {
		res, rev, err := renderAt(ctx, fl.repo, fl.revision, args[0], ropts)
		if err != nil {
			return &promoteExit{err: err, code: 2}
		}
		return promoteCheck(ctx, out, res, rev, backend, opts)
	}

	overlay := args[2]
	a, revA, err := renderAt(ctx, fl.repo, args[0], overlay, ropts)
	if err != nil {
		return &promoteExit{err: err, code: 2}
	}
	b, revB, err := renderAt(ctx, fl.repo, args[1], overlay, ropts)
	if err != nil {
		return &promoteExit{err: err, code: 2}
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	opts.HMACKey = key // for this run only: HMACs compare within the diff
	r := resolver.New(backend, opts)
	ma := maskRevision(ctx, cmd.ErrOrStderr(), r, a, args[0], backend != nil)
	mb := maskRevision(ctx, cmd.ErrOrStderr(), r, b, args[1], backend != nil)
	n, err := promotion.Diff(out, short(revA), short(revB), ma, mb)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d objects of %s differ from %s (%s) to %s (%s)\n", n, overlay, args[0], short(revA), args[1], short(revB))
	if fl.check {
		return promoteCheck(ctx, out, b, revB, backend, opts)
	}
	return nil
}

// renderAt renders overlay at revision rev of repo, or from the disk as
// it is when rev is empty; it returns the full commit hash rendered ("" for
// the disk).
func renderAt(ctx context.Context, repo, rev, overlay string, opts render.Options) (*render.Result, string, error) {
	if rev == "" {
		res, err := render.Dir(ctx, overlay, opts)
		return res, "", err
	}
	tree, err := openRevision(ctx, repo, rev)
	if err != nil {
		return nil, "", err
	}
	dir := path.Clean(filepath.ToSlash(overlay))
	if strings.HasPrefix(dir, "../") || path.IsAbs(dir) {
		return nil, "", fmt.Errorf("OVERLAY %s must be relative to the repository root when a revision is given", overlay)
	}
	res, err := render.FS(ctx, tree.fsys, dir, opts)
	if err != nil {
		return nil, "", fmt.Errorf("at %s: %w", short(tree.revision), err)
	}
	return res, tree.revision, nil
}

// maskRevision resolves res to learn each value's version and HMAC, keeps
// only those, and returns its objects masked. A revision whose references
// do not all resolve is masked without them, and says so.
func maskRevision(ctx context.Context, stderr io.Writer, r *resolver.Resolver, res *render.Result, name string, vault bool) []*unstructured.Unstructured {
	if !vault {
		return r.Mask(res.Objects, nil)
	}
	out, err := r.Resolve(ctx, res.Objects, res.Origin)
	if err != nil {
		fmt.Fprintf(stderr, "latchkey: %s: references shown unresolved: %v\n", name, err)
		return r.Mask(res.Objects, nil)
	}
	return r.Mask(res.Objects, out.Provenance)
}

// promoteCheck runs the secrets gate on res and reports it on out.
func promoteCheck(ctx context.Context, out io.Writer, res *render.Result, rev string, backend resolver.Backend, opts resolver.Options) error {
	if backend == nil {
		return &promoteExit{code: 2, err: errors.New("--check needs the Vault of the environment to promote to: set VAULT_ADDR and its auth (VAULT_TOKEN, or AVP_AUTH_TYPE with its settings)")}
	}
	opts.HMACKey = nil
	rep, err := promotion.CheckWith(ctx, res, resolver.New(backend, opts))
	at := res.Dir
	if rev != "" {
		at += " at " + short(rev)
	}
	for _, m := range rep.Missing {
		fmt.Fprintln(out, m)
	}
	if len(rep.Missing) > 0 {
		noun := "keys are"
		if len(rep.Missing) == 1 {
			noun = "key is"
		}
		fmt.Fprintf(out, "%d %s missing in Vault for %s (%d references checked). To add them (KEY=- reads the value from standard input):\n", len(rep.Missing), noun, at, rep.References)
		for _, s := range promotion.NextSteps(rep.Missing) {
			fmt.Fprintln(out, "  "+s)
		}
	}
	switch {
	case err != nil:
		return &promoteExit{err: err, code: 2}
	case len(rep.Missing) > 0:
		return &promoteExit{code: 1}
	}
	secrets := "secrets"
	if len(rep.Verified) == 1 {
		secrets = "secret"
	}
	fmt.Fprintf(out, "every key exists: %d references of %s checked in %d %s\n", rep.References, at, len(rep.Verified), secrets)
	return nil
}

// short is a commit hash as people read it.
func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	if rev == "" {
		return "working tree"
	}
	return rev
}
