package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/scancommand"
	"github.com/latchkey-dev/latchkey/migration"
	"github.com/latchkey-dev/latchkey/resolver"
	"github.com/latchkey-dev/latchkey/resolver/vault"
	"github.com/latchkey-dev/latchkey/scanner"
	"github.com/latchkey-dev/latchkey/sealing"
)

// fixFlags are the flags of `latchkey scan --fix`.
type fixFlags struct {
	mode        string
	write       bool
	vaultPath   string
	namespace   string
	noHistory   bool
	noProof     bool
	unsealKeys  []string
	seal        sealFlags
	timeout     time.Duration
	maxFileSize int
}

// withFix adds --fix to the scan command: the migration from plaintext to
// references (or SealedSecrets). Without --fix, scan runs as before.
func withFix(cmd *cobra.Command) {
	var fl fixFlags
	f := cmd.Flags()
	f.StringVar(&fl.mode, "fix", "", "move the plaintext found into Vault (vault) or SealedSecrets (seal); a dry run printing the plan unless --write")
	f.BoolVar(&fl.write, "write", false, "with --fix: store the values and rewrite the files, then prove the tree renders the same")
	f.StringVar(&fl.vaultPath, "vault-path", migration.DefaultVaultPath, "with --fix vault: the Vault KV v2 path of each value, from {namespace}, {name}, {kind} and {key}")
	f.StringVar(&fl.namespace, "namespace", "default", "with --fix: the namespace of objects that name none (Vault paths, sealing scope, Helm release)")
	f.BoolVar(&fl.noHistory, "no-history", false, "with --fix: do not scan the Git history for values that must be rotated")
	f.BoolVar(&fl.noProof, "no-proof", false, "with --fix --write: skip rendering the tree before and after (the proof that no value changed)")
	f.StringSliceVar(&fl.unsealKeys, "unseal-key", nil, "with --fix: private key file to unseal SealedSecrets with in the proof (repeatable)")
	f.StringVar(&fl.seal.cert, "cert", "", "with --fix seal: certificate file or URL to seal with (default: the controller's, through the cluster)")
	f.StringVar(&fl.seal.controllerName, "controller-name", sealing.DefaultControllerName, "with --fix seal: name of the sealed-secrets controller")
	f.StringVar(&fl.seal.controllerNs, "controller-namespace", sealing.DefaultControllerNamespace, "with --fix seal: namespace of the sealed-secrets controller")
	f.StringVar(&fl.seal.scope, "scope", "", "with --fix seal: strict, namespace-wide or cluster-wide (default strict, or each Secret's scope annotations)")
	f.StringVar(&fl.seal.kubeconfig, "kubeconfig", "", "with --fix seal: kubeconfig to fetch the certificate with (default: KUBECONFIG, ~/.kube/config)")
	f.DurationVar(&fl.timeout, "fix-timeout", 10*time.Minute, "with --fix: give up after this long")
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if fl.mode == "" {
			if fl.write {
				return scancommand.UsageError("--write needs --fix vault or --fix seal")
			}
			return run(cmd, args)
		}
		for _, other := range []string{"staged", "git", "all", "stdin-name", "baseline", "write-baseline", "format", "output"} {
			if cmd.Flags().Changed(other) {
				return scancommand.UsageError("--fix works on a directory of the working tree; it does not combine with --%s", other)
			}
		}
		fl.maxFileSize, _ = cmd.Flags().GetInt("max-file-size")
		return runFix(cmd, args, fl)
	}
}

func runFix(cmd *cobra.Command, args []string, fl fixFlags) error {
	if fl.mode != "vault" && fl.mode != "seal" {
		return scancommand.UsageError("--fix %q: want vault or seal", fl.mode)
	}
	if len(args) > 1 {
		return scancommand.UsageError("--fix takes one directory")
	}
	root := "."
	if len(args) == 1 {
		root = args[0]
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return scancommand.UsageError("--fix needs a directory: %s", root)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), fl.timeout)
	defer cancel()
	out := cmd.OutOrStdout()

	scan, err := fixScanner(ctx, root, fl.maxFileSize)
	if err != nil {
		return scancommand.Exit(2, err)
	}
	res, err := scan.Run(ctx, &scanner.Worktree{Root: root})
	if err != nil {
		return scancommand.Exit(2, fmt.Errorf("scanning: %w", err))
	}
	sites, skipped, err := migration.Locate(root, res.Findings, fl.namespace)
	if err != nil {
		return scancommand.Exit(2, err)
	}
	historyOnly := fixHistory(ctx, cmd, root, scan, res.Findings, sites, fl.noHistory)

	backend, resolveOpts, err := fixBackend(ctx, fl)
	if err != nil {
		return scancommand.Exit(2, err)
	}
	write, err := fixPlan(ctx, cmd, fl, root, sites, skipped, backend)
	if err != nil {
		return err
	}
	migration.PrintHistory(out, historyOnly)
	if !fl.write {
		fmt.Fprintln(out, "dry run: nothing was written; run again with --write")
		return nil
	}

	renderer := &migration.Renderer{Options: resolveOpts, Namespace: fl.namespace, Values: migration.Values(sites)}
	if backend != nil {
		renderer.Backend = backend
	}
	return writeAndProve(ctx, out, root, fl.noProof, scan, renderer, write)
}

// fixPlan prints what --fix would do in fl.mode and returns the function
// that does it: the keys stored in Vault or the Secrets sealed, and the files
// rewritten and created.
func fixPlan(ctx context.Context, cmd *cobra.Command, fl fixFlags, root string, sites []*migration.Site, skipped []migration.Skip, backend *vault.Backend) (func() ([]string, []string, error), error) {
	out := cmd.OutOrStdout()
	switch fl.mode {
	case "vault":
		var store migration.Store
		switch {
		case backend != nil:
			store = backend
		case fl.write:
			return nil, scancommand.UsageError("--fix vault --write needs Vault: set VAULT_ADDR and a token or AVP_AUTH_TYPE, as for latchkey render")
		default:
			fmt.Fprintln(cmd.ErrOrStderr(), "latchkey: VAULT_ADDR is not set: the plan does not say which keys Vault already holds")
		}
		plan, err := migration.PlanVault(ctx, root, sites, skipped, fl.vaultPath, store)
		if err != nil {
			return nil, scancommand.Exit(2, err)
		}
		plan.Print(out)
		return func() ([]string, []string, error) {
			w, err := plan.Write(ctx, backend)
			if w == nil {
				return nil, nil, err
			}
			fmt.Fprintf(out, "stored %d key(s) in Vault, reused %d equal one(s); rewrote %d file(s)\n", w.Stored, w.Reused, len(w.Files))
			return w.Files, w.Created, err
		}, nil
	case "seal":
		plan, err := migration.PlanSeal(root, sites, skipped)
		if err != nil {
			return nil, scancommand.Exit(2, err)
		}
		plan.Print(out)
		return func() ([]string, []string, error) {
			pub, scope, err := sealCert(ctx, fl.seal)
			if err != nil {
				return nil, nil, err
			}
			w, err := plan.Write(pub, scope, fl.namespace)
			if w == nil {
				return nil, nil, err
			}
			fmt.Fprintf(out, "sealed %d Secret(s) in %d file(s)\n", len(plan.Secrets), len(w.Files))
			return w.Files, nil, err
		}, nil
	}
	return nil, scancommand.UsageError("--fix %q: want vault or seal", fl.mode)
}

// writeAndProve writes the migration, proves the tree renders the same
// values as before (unless noProof) and scans it again: exit 1 when the proof
// fails or findings remain, with the commands that undo the write.
func writeAndProve(ctx context.Context, out io.Writer, root string, noProof bool, scan *scanner.Scanner, renderer *migration.Renderer, write func() ([]string, []string, error)) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return scancommand.Exit(2, err)
	}
	var before *migration.Digest
	if !noProof {
		var err error
		if before, err = renderer.Digest(ctx, root, key); err != nil {
			return scancommand.Exit(2, fmt.Errorf("rendering the tree before the migration (or skip the proof with --no-proof): %w", err))
		}
	}
	files, created, err := write()
	if err != nil {
		return scancommand.Exit(2, fmt.Errorf("%w%s", err, undo(files, created)))
	}
	failed := false
	if before != nil {
		after, err := renderer.Digest(ctx, root, key)
		if err != nil {
			return scancommand.Exit(2, fmt.Errorf("rendering the fixed tree: %w%s", err, undo(files, created)))
		}
		cmp := migration.Compare(before, after)
		for _, u := range cmp.Unproven {
			fmt.Fprintf(out, "not proven: %s\n", u)
		}
		if len(cmp.Differ) > 0 {
			failed = true
			fmt.Fprintf(out, "PROOF FAILED: the fixed tree renders differently (%d value(s)):\n", len(cmp.Differ))
			for _, d := range cmp.Differ {
				fmt.Fprintf(out, "  %s\n", d)
			}
			fmt.Fprintf(out, "undo:%s\n", undo(files, created))
		} else {
			fmt.Fprintf(out, "proof: the fixed tree renders the same %d value(s) (Secrets and container env, compared by keyed HMAC)\n", cmp.Compared)
		}
	}
	again, err := scan.Run(ctx, &scanner.Worktree{Root: root})
	if err != nil {
		return scancommand.Exit(2, fmt.Errorf("scanning the fixed tree: %w", err))
	}
	if n := len(again.Findings); n > 0 {
		failed = true
		fmt.Fprintf(out, "the fixed tree still has %d finding(s) (left alone above); run latchkey scan %s for details\n", n, root)
	} else {
		fmt.Fprintln(out, "the fixed tree scans clean")
	}
	if failed {
		return scancommand.Exit(1, nil)
	}
	return nil
}

// fixScanner is the scanner `latchkey scan` would run on root: its
// fingerprints key the comparison of the tree with the Git history.
func fixScanner(ctx context.Context, root string, maxMiB int) (*scanner.Scanner, error) {
	cfgPath, err := scanner.FindConfig(root)
	if err != nil {
		return nil, err
	}
	cfg, err := scanner.LoadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	fp := scanner.NewFingerprinter(scanner.RepoIdentity(ctx, root).ID, []byte(os.Getenv("LATCHKEY_FINGERPRINT_KEY")))
	if maxMiB <= 0 {
		maxMiB = 64
	}
	return scanner.New(scanner.Options{Config: cfg, Fingerprints: fp, MaxFileSize: maxMiB << 20})
}

// fixHistory scans the whole Git history of the repository holding root,
// marks the sites whose values were committed and returns the findings
// that are only in history. Outside a Git repository there is none.
func fixHistory(ctx context.Context, cmd *cobra.Command, root string, sc *scanner.Scanner, tree []scanner.Finding, sites []*migration.Site, off bool) []migration.Skip {
	if off {
		return nil
	}
	repo, err := scanner.RepoRoot(ctx, root)
	if err != nil {
		return nil
	}
	res, err := sc.Run(ctx, &scanner.History{Repo: repo, All: true})
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "latchkey: Git history not scanned (%v); values committed before must be rotated\n", err)
		return nil
	}
	absRoot, _ := filepath.Abs(root)
	absRoot, _ = filepath.EvalSymlinks(absRoot)
	repoReal, _ := filepath.EvalSymlinks(repo)
	prefix, err := filepath.Rel(repoReal, absRoot)
	if err != nil || strings.HasPrefix(prefix, "..") {
		return nil
	}
	return migration.History(filepath.ToSlash(prefix), tree, sites, res.Findings)
}

// fixBackend is Vault as `latchkey render` configures it (nil when
// VAULT_ADDR is unset), and the resolver options for the proof.
func fixBackend(ctx context.Context, fl fixFlags) (*vault.Backend, resolver.Options, error) {
	b, opts, err := vaultBackendFromEnv(config.WithArgoCDPrefix(config.OSEnv))
	if err != nil {
		return nil, opts, err
	}
	if len(fl.unsealKeys) > 0 {
		u, err := unsealer(ctx, renderFlags{unsealKeys: fl.unsealKeys})
		if err != nil {
			return nil, opts, err
		}
		u.DefaultNamespace = fl.namespace
		opts.Unsealer = u
	}
	return b, opts, nil
}

// sealCert fetches the certificate as `latchkey seal` does.
func sealCert(ctx context.Context, fl sealFlags) (pub *rsa.PublicKey, scope sealing.Scope, err error) {
	if scope, err = sealing.ParseScope(fl.scope); err != nil {
		return nil, scope, err
	}
	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	loading.ExplicitPath = fl.kubeconfig
	cluster := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, &clientcmd.ConfigOverrides{})
	src := sealing.CertSource{Cert: fl.cert, ControllerName: fl.controllerName, ControllerNamespace: fl.controllerNs, Cluster: cluster}
	pemBytes, err := sealing.FetchCert(ctx, src)
	if err != nil {
		return nil, scope, fmt.Errorf("--fix seal needs the controller's certificate (--cert FILE, or cluster access): %w", err)
	}
	pub, err = sealing.ParseCert(pemBytes)
	return pub, scope, err
}

// undo says how to return to the tree before the migration.
func undo(files, created []string) string {
	if len(files) == 0 {
		return ""
	}
	var changed []string
	for _, f := range files {
		isNew := false
		for _, c := range created {
			isNew = isNew || c == f
		}
		if !isNew {
			changed = append(changed, f)
		}
	}
	s := ""
	if len(changed) > 0 {
		s += " git checkout -- " + strings.Join(changed, " ")
	}
	if len(created) > 0 {
		if s != "" {
			s += " &&"
		}
		s += " rm " + strings.Join(created, " ")
	}
	return "\n  (paths relative to the fixed directory; undo with:" + s + ")"
}
