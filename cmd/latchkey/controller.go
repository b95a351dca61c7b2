package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/reconcile/source"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
	"github.com/latchkey-dev/latchkey/reconcile/webhook"
	"github.com/latchkey-dev/latchkey/render/sandbox"
)

func newControllerCommand() *cobra.Command {
	cfg, envErrs := config.ControllerDefaults(config.OSEnv)
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the GitOps controller: pull Git, resolve secrets at apply time, apply, prune, heal drift",
		Long: `Run the Latchkey controller. It reconciles Sync objects (gitops.latchkey.dev/v1alpha1): for each,
it fetches the Git revision, renders it (plain YAML, Kustomize or Helm), resolves Vault references and
SealedSecrets in memory, applies the result with server-side apply, prunes what it no longer renders,
and reverts or reports manual changes. It runs in a cluster, or outside one with --kubeconfig.

Vault is configured through the environment, as Vault's CLI and argocd-vault-plugin are: VAULT_ADDR,
VAULT_TOKEN or AVP_AUTH_TYPE with AVP_ROLE_ID/AVP_SECRET_ID or AVP_K8S_ROLE, VAULT_CACERT, ...
A Sync's spec.vault overrides it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := errors.Join(append(envErrs, cfg.Validate())...); err != nil {
				return controllerConfigError{err}
			}
			ctrl.SetLogger(zap.New(logOptions(cfg)...))
			limit, err := applyMemoryLimit(os.Getenv, int64(cfg.Render.Workers)*int64(cfg.Render.Memory))
			if err != nil {
				return controllerConfigError{err}
			}
			if limit > 0 {
				ctrl.Log.WithName("latchkey").Info("Go memory limit set from the container's", "bytes", limit)
			}
			restCfg, err := restConfig(cfg.Kubeconfig)
			if err != nil {
				return err
			}
			vaultCfg, err := config.VaultFromEnv(config.OSEnv)
			if errors.Is(err, config.ErrVaultNotConfigured) {
				vaultCfg, err = nil, nil
			}
			if err != nil {
				return controllerConfigError{fmt.Errorf("the Vault configuration: %w", err)}
			}
			return runController(cmd.Context(), cfg, restCfg, vaultCfg)
		},
	}
	cfg.AddFlags(cmd.Flags())
	return cmd
}

// controllerConfigError exits 2, as bad flags do.
type controllerConfigError struct{ error }

func (controllerConfigError) ExitCode() int { return 2 }

func restConfig(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		if kubeconfig == "" {
			if in, ierr := rest.InClusterConfig(); ierr == nil {
				return in, nil
			}
		}
		return nil, fmt.Errorf("loading the Kubernetes configuration: %w", err)
	}
	return c, nil
}

// runController runs until ctx ends.
// vaultCfg nil means no controller-wide Vault.
func runController(ctx context.Context, cfg *config.Controller, restCfg *rest.Config, vaultCfg *config.Vault) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	restCfg = rest.CopyConfig(restCfg)
	restCfg.QPS, restCfg.Burst = cfg.KubeAPIQPS, cfg.KubeAPIBurst

	mgr, err := reconcile.NewManager(restCfg, reconcile.ManagerOptions{
		MetricsAddr: cfg.MetricsAddr, HealthAddr: cfg.HealthAddr, LeaderElect: cfg.LeaderElect,
		Namespace: cfg.Namespace, Shard: cfg.Shard, Namespaces: cfg.WatchNamespaces,
		LeaseDuration: cfg.LeaderElection.LeaseDuration, RenewDeadline: cfg.LeaderElection.RenewDeadline,
		RetryPeriod: cfg.LeaderElection.RetryPeriod,
	})
	if err != nil {
		return err
	}
	key, err := hmacKey(ctx, cfg, restCfg, mgr)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	policy, err := tenancyPolicy(cfg)
	if err != nil {
		return controllerConfigError{err}
	}
	secrets := reconcile.NewVaultSecrets(reconcile.VaultSecretsOptions{
		Default: vaultCfg, HMACKey: key, CacheTTL: cfg.VaultCacheTTL,
		SealedSecretsNamespace: cfg.SealedSecretsNamespace, Reader: mgr.GetAPIReader(),
		Unsealer: reconcile.ClusterUnsealer(cs), Tenancy: policy,
		ServiceAccounts: cs.CoreV1(), VaultAudience: cfg.Tenancy.VaultAudience,
	})
	r, err := reconcile.NewReconciler(mgr, reconcile.Options{
		HMACKey: key, Concurrency: cfg.Concurrency, Secrets: secrets,
		Source: source.Options{
			Timeout: cfg.GitTimeout, MaxFetchBytes: int64(cfg.GitMaxFetchBytes), MaxFileBytes: int64(cfg.GitMaxFileBytes),
			MaxBytes: int64(cfg.GitMaxRevisionBytes), CacheBytes: int64(cfg.GitCacheBytes),
		},
		Metrics:    reconcile.NewMetrics(crmetrics.Registry),
		Namespaces: cfg.WatchNamespaces,

		AllowRemoteBases: cfg.AllowRemoteBases,
		RemoteHosts:      cfg.RemoteHosts,
		MinInterval:      cfg.MinInterval,
		Tenancy:          policy,
		RenderSandbox: sandbox.Config{Limits: sandbox.Limits{
			Memory: int64(cfg.Render.Memory), CPU: cfg.Render.CPU, Timeout: cfg.Render.Timeout,
			Output: int64(cfg.Render.Output), Workers: cfg.Render.Workers,
		}},
	})
	if err != nil {
		return err
	}
	if cfg.WebhookAddr != "" && cfg.WebhookAddr != "0" {
		secret, err := os.ReadFile(cfg.WebhookSecretFile)
		if err != nil {
			return controllerConfigError{fmt.Errorf("--webhook-secret-file: %w", err)}
		}
		rc := &webhook.Receiver{
			Secret: []byte(strings.TrimSpace(string(secret))), Trigger: r.Trigger, Syncs: r,
			Ledger: &reconcile.DeliveryLedger{
				Client: mgr.GetClient(), Reader: mgr.GetAPIReader(),
				Namespace: cfg.Namespace, Name: reconcile.DeliveryLedgerName(cfg.Shard),
			},
		}
		srv := webhookServer(cfg.WebhookAddr, rc, defaultWebhookTimeouts)
		srv.warm = syncInformer(mgr)
		if err := mgr.Add(srv); err != nil {
			return err
		}
		if err := mgr.AddReadyzCheck("webhook", srv.ready); err != nil {
			return err
		}
	}
	if !policy.Enabled {
		ctrl.Log.WithName("latchkey").Info("WARNING: tenancy is off: Syncs without spec.serviceAccountName act with the controller's own rights and may use its Vault credentials; " +
			"this is for single-team installs only (the Helm chart turns tenancy on; start with --tenancy to turn it on)")
	}
	ctrl.Log.WithName("latchkey").Info("starting the controller", "shard", cfg.Shard, "concurrency", cfg.Concurrency,
		"vault", vaultCfg != nil, "webhook", cfg.WebhookAddr, "tenancy", policy.Enabled)
	return mgr.Start(ctx)
}

// hmacKey reads --hmac-key-file, or gets or creates the key Secret with a
// direct client (the manager's cache does not run yet).
func hmacKey(ctx context.Context, cfg *config.Controller, restCfg *rest.Config, mgr manager.Manager) ([]byte, error) {
	if cfg.HMACKeyFile != "" {
		key, err := os.ReadFile(cfg.HMACKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--hmac-key-file: %w", err)
		}
		if len(key) < 16 {
			return nil, fmt.Errorf("--hmac-key-file %s: the key must be at least 16 bytes", cfg.HMACKeyFile)
		}
		return key, nil
	}
	c, err := client.New(restCfg, client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return reconcile.EnsureHMACKey(ctx, c, cfg.Namespace, cfg.HMACKeySecret)
}

// tenancyPolicy turns the tenancy flags into the policy the reconciler and
// the Vault provider enforce.
func tenancyPolicy(cfg *config.Controller) (tenancy.Policy, error) {
	t := cfg.Tenancy
	kinds, err := tenancy.ParseKinds(t.ClusterKinds)
	if err != nil {
		return tenancy.Policy{}, fmt.Errorf("--allowed-cluster-kinds: %w", err)
	}
	return tenancy.Policy{
		Enabled: t.Enabled, DefaultServiceAccount: t.DefaultServiceAccount, AllowCrossNamespace: t.AllowCrossNamespace,
		ClusterKinds: kinds, SourceHosts: t.SourceHosts, VaultAddresses: t.VaultAddresses,
		VaultDefaultNamespaces: t.VaultDefaultNamespaces,
		KeysNamespace:          cfg.SealedSecretsNamespace, KeysNamespaces: t.KeysNamespaces,
	}, nil
}
