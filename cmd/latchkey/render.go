package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/render/chartrepo"
	"github.com/latchkey-dev/latchkey/resolver"
	"github.com/latchkey-dev/latchkey/sealing"
)

// renderExit is render's failure: exit 1, nothing on stdout.
type renderExit struct{ err error }

func (e *renderExit) Error() string { return e.err.Error() }
func (e *renderExit) Unwrap() error { return e.err }
func (e *renderExit) ExitCode() int { return 1 }

type renderFlags struct {
	mode                string
	helm                render.HelmOptions
	noRemoteBases       bool
	resolveValues       bool
	remoteHosts         []string
	unsealKeys          []string
	unsealFromCluster   bool
	controllerNamespace string
	kubeconfig          string
	timeout             time.Duration
}

func newRenderCommand() *cobra.Command {
	var fl renderFlags
	env := config.WithArgoCDPrefix(config.OSEnv)
	// Outside Argo CD all of it is empty; a malformed ARGOCD_APP_PARAMETERS
	// is reported when the command runs.
	app, appErr := config.ArgoCDAppFromEnv(config.OSEnv)
	if app == nil {
		app = &config.ArgoCDApp{}
	}
	cmd := &cobra.Command{
		Use:   "render [DIR|FILE|-]",
		Short: "Render manifests and resolve their Vault references and SealedSecrets",
		Long: `Render a directory (plain YAML and JSON recursively, a Kustomize kustomization or a Helm chart,
detected or forced with --mode), a file, or standard input ("-"), then resolve every Vault reference
(argocd-vault-plugin placeholders <path:PATH#KEY>, <KEY> with avp.kubernetes.io/path, and
ref+vault://PATH#/KEY), unseal SealedSecrets when keys are given, and print the YAML stream.

On any failure nothing is printed on standard output and the exit status is 1, so
"latchkey render DIR | kubectl apply -f -" never applies half a set; standard error lists every
reference that failed, with its object, file and what to do, and never a secret value.

Vault is configured from the environment: VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT,
VAULT_SKIP_VERIFY, ..., and argocd-vault-plugin's AVP_AUTH_TYPE (token, approle, k8s), AVP_ROLE_ID,
AVP_SECRET_ID, AVP_K8S_ROLE, AVP_K8S_MOUNT_PATH, AVP_KV_VERSION, AVP_PATH_VALIDATION, each also read
with Argo CD's ARGOCD_ENV_ prefix. In an Argo CD plugin, ARGOCD_APP_NAME and ARGOCD_APP_NAMESPACE
are the default Helm release name and namespace, the plugin parameters mode, values-files, set and
set-string apply, and ARGOCD_ENV_HELM_ARGS is added to the command line, as argocd-vault-plugin's Helm
plugin passes it to helm. See docs/resolving.md and docs/argocd-plugin.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if appErr != nil {
				return &renderExit{err: appErr}
			}
			if err := applyArgoCD(cmd, app, &fl); err != nil {
				return &renderExit{err: err}
			}
			target := "."
			if len(args) == 1 {
				target = args[0]
			}
			if err := runRender(cmd, target, fl, env); err != nil {
				return &renderExit{err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.mode, "mode", "auto", "how to render DIR: auto, plain, kustomize or helm")
	f.StringVar(&fl.helm.ReleaseName, "release-name", cmp.Or(app.Name, "release-name"), "Helm release name (default $ARGOCD_APP_NAME)")
	f.StringVarP(&fl.helm.Namespace, "namespace", "n", app.Namespace, "Helm release namespace, and the namespace of SealedSecrets that name none (default $ARGOCD_APP_NAMESPACE)")
	f.StringArrayVarP(&fl.helm.ValuesFiles, "values", "f", nil, "Helm values file (repeatable; later files win)")
	f.StringArrayVar(&fl.helm.Set, "set", nil, "Helm value on the command line, key=value (repeatable)")
	f.StringArrayVar(&fl.helm.SetString, "set-string", nil, "Helm string value on the command line, key=value (repeatable)")
	f.StringVar(&fl.helm.KubeVersion, "kube-version", app.KubeVersion, "Kubernetes version for Helm's .Capabilities (default $KUBE_VERSION)")
	f.StringSliceVar(&fl.helm.APIVersions, "api-versions", app.APIVersions, "API versions for Helm's .Capabilities (repeatable; default $KUBE_API_VERSIONS)")
	f.BoolVar(&fl.helm.SkipCRDs, "skip-crds", false, "leave out the Helm chart's crds/ directory")
	f.BoolVar(&fl.helm.SkipHooks, "no-hooks", false, "leave out Helm hooks")
	f.BoolVar(&fl.resolveValues, "resolve-values", false, "resolve the references in the Helm chart's values (values.yaml, -f, --set) before templating, so the chart sees the real values (checksums, b64enc, tpl); values outside a Secret's data are reported on standard error")
	f.StringSliceVar(&fl.remoteHosts, "allow-remote-hosts", nil, "hosts a Helm chart's dependencies missing from charts/ may be fetched from (host or host:port; * for any), as the controller's flag; also allows them for Kustomize with --no-remote-bases")
	f.BoolVar(&fl.noRemoteBases, "no-remote-bases", false, "refuse kustomizations that load remote bases or files by URL, before anything is fetched (the controller's default)")
	f.StringSliceVar(&fl.unsealKeys, "unseal-key", nil, "private key file to unseal SealedSecrets with: PEM, or a backup of the controller's key Secrets (repeatable)")
	f.BoolVar(&fl.unsealFromCluster, "unseal-from-cluster", false, "unseal SealedSecrets with the sealed-secrets controller's keys, read from the cluster")
	f.StringVar(&fl.controllerNamespace, "controller-namespace", sealing.DefaultControllerNamespace, "namespace of the sealed-secrets controller's keys (with --unseal-from-cluster)")
	f.StringVar(&fl.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to render for: Helm's .Capabilities (Kubernetes version, served API versions) come from its discovery; also the cluster of --unseal-from-cluster (default for that: KUBECONFIG, ~/.kube/config, or in-cluster)")
	f.DurationVar(&fl.timeout, "timeout", 5*time.Minute, "give up after this long")
	return cmd
}

func runRender(cmd *cobra.Command, target string, fl renderFlags, env config.Env) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), fl.timeout)
	defer cancel()
	mode, err := render.ParseMode(fl.mode)
	if err != nil {
		return err
	}

	backend, opts, err := vaultFromEnv(env)
	if err != nil {
		return err
	}
	if u, err := unsealer(ctx, fl); err != nil {
		return err
	} else if u != nil {
		u.DefaultNamespace = fl.helm.Namespace
		opts.Unsealer = u
	}

	rsv := resolver.New(backend, opts)

	var res *render.Result
	var values *resolvedValues
	if target == "-" {
		res, err = render.Stream(cmd.InOrStdin(), "<stdin>")
	} else {
		helm := fl.helm
		if isHelm(target, mode) {
			if helm, err = helmCapabilities(ctx, cmd, fl); err != nil {
				return err
			}
			fetcher := chartrepo.New(chartrepo.Options{Hosts: render.Hosts(fl.remoteHosts)})
			if helm.Dependencies, err = fetcher.Dependencies(ctx, os.DirFS(target), "."); err != nil {
				return err
			}
			if fl.resolveValues {
				if values, err = resolveChartValues(ctx, rsv, target, helm); err != nil {
					return err
				}
				helm = helm.WithValues(resolver.ValuesOf(values.after))
			}
		}
		res, err = render.Dir(ctx, target, render.Options{Mode: mode, Helm: helm, NoRemoteBases: fl.noRemoteBases, RemoteHosts: render.Hosts(fl.remoteHosts)})
		if err != nil && values != nil {
			// The chart saw the values: its errors may quote them.
			err = values.redact(err)
		}
	}
	if err != nil {
		return err
	}
	for _, s := range res.Skipped {
		name := s.Source.String()
		if res.Dir != "" && res.Dir != "." {
			name = strings.TrimSuffix(res.Dir, "/") + "/" + name
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "latchkey: skipped %s: %s\n", name, s.Reason)
	}

	out, err := rsv.Resolve(ctx, res.Objects, res.Origin)
	if err != nil {
		if values != nil {
			return values.redact(err)
		}
		return err
	}
	if values != nil {
		warnValues(cmd, values, out, res.Origin)
	}
	// argocd-vault-plugin places values anywhere, and render is its drop-in:
	// it keeps doing so, and says where (the controller refuses these).
	for _, m := range resolver.MisplacedValues(res.Objects, out, res.Origin) {
		fmt.Fprintf(cmd.ErrOrStderr(), "latchkey: warning: %s: a value %s is readable by whoever may read the object (the controller refuses it%s)\n",
			m, placementWhere(m.Landing), placementOptIn(m.Landing))
	}
	// Everything is encoded before anything is written: stdout gets all or nothing.
	var buf bytes.Buffer
	for _, obj := range out.Objects {
		y, err := yaml.Marshal(obj.Object)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		buf.Write(y)
		buf.WriteString("---\n")
	}
	_, err = cmd.OutOrStdout().Write(buf.Bytes())
	return err
}

// unsealer loads the keys SealedSecrets are unsealed with, if any were asked for.
func unsealer(ctx context.Context, fl renderFlags) (*sealing.Unsealer, error) {
	keys := sealing.Keys{}
	if len(fl.unsealKeys) > 0 {
		k, err := sealing.KeysFromFiles(fl.unsealKeys...)
		if err != nil {
			return nil, err
		}
		for fp, key := range k {
			keys[fp] = key
		}
	}
	if fl.unsealFromCluster {
		loading := clientcmd.NewDefaultClientConfigLoadingRules()
		loading.ExplicitPath = fl.kubeconfig
		rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("--unseal-from-cluster: %w", err)
		}
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("--unseal-from-cluster: %w", err)
		}
		k, err := sealing.KeysFromCluster(ctx, cs.CoreV1().Secrets(fl.controllerNamespace))
		if err != nil {
			return nil, err
		}
		for fp, key := range k {
			keys[fp] = key
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return sealing.NewUnsealer(keys), nil
}

// applyArgoCD applies what an Argo CD Application passes a plugin: its
// parameters, where no flag says otherwise, and ARGOCD_ENV_HELM_ARGS as
// more command-line flags.
func applyArgoCD(cmd *cobra.Command, app *config.ArgoCDApp, fl *renderFlags) error {
	f := cmd.Flags()
	// Flags first: a list flag set for the first time replaces its value,
	// which would drop parameters appended before.
	if len(app.ExtraArgs) > 0 {
		if err := f.Parse(app.ExtraArgs); err != nil {
			return fmt.Errorf("%sHELM_ARGS: %w", config.ArgoCDEnvPrefix, err)
		}
		if f.NArg() > 0 {
			return fmt.Errorf("%sHELM_ARGS holds arguments that are not flags: %q", config.ArgoCDEnvPrefix, f.Args())
		}
	}
	if p, ok := app.Parameter("mode"); ok && p.String != nil && !f.Changed("mode") {
		fl.mode = *p.String
	}
	if p, ok := app.Parameter("release-name"); ok && p.String != nil && !f.Changed("release-name") {
		fl.helm.ReleaseName = *p.String
	}
	if p, ok := app.Parameter("values-files"); ok {
		fl.helm.ValuesFiles = append(fl.helm.ValuesFiles, p.Array...)
	}
	for _, name := range []string{"set", "set-string"} {
		p, ok := app.Parameter(name)
		if !ok {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(p.Map)) {
			if name == "set" {
				fl.helm.Set = append(fl.helm.Set, k+"="+p.Map[k])
			} else {
				fl.helm.SetString = append(fl.helm.SetString, k+"="+p.Map[k])
			}
		}
	}
	return nil
}

// stdinIsTerminal reports whether standard input is an interactive
// terminal, to hint that a manifest is expected there.
func stdinIsTerminal() bool {
	fi, err := os.Stdin.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func placementWhere(l resolver.Landing) string {
	if l == resolver.InMetadata {
		return "in metadata is copied into lists, events and logs and"
	}
	return "outside a Secret"
}

func placementOptIn(l resolver.Landing) string {
	if l == resolver.InMetadata {
		return ""
	}
	return " unless the Sync sets spec.render.allowValuesOutsideSecrets"
}
