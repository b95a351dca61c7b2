package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Controller is the configuration of `latchkey controller`. Each field has
// a flag; the flag's default comes from the environment variable named in
// its help, so a Helm chart can set either.
type Controller struct {
	// Kubeconfig is a kubeconfig path for running outside the cluster; empty
	// means in-cluster configuration (or $KUBECONFIG).
	Kubeconfig string
	// Namespace is where the controller keeps its own objects (the HMAC key
	// Secret, the leader election lease).
	Namespace string

	MetricsAddr string
	HealthAddr  string
	// WebhookAddr serves the Git push webhook receiver; empty disables it.
	WebhookAddr string
	// WebhookSecretFile holds the shared secret GitHub signs payloads with and
	// GitLab sends as X-Gitlab-Token.
	WebhookSecretFile string

	LeaderElect bool
	// Concurrency is how many Syncs are reconciled at once.
	Concurrency int
	// Shard makes the controller reconcile only Syncs labelled
	// latchkey.dev/shard=Shard; empty means the Syncs with no shard label.
	Shard string
	// WatchNamespaces restricts the controller to Syncs and managed objects
	// in these namespaces (a namespaced install whose RBAC is a Role per
	// namespace); empty means the whole cluster.
	WatchNamespaces []string

	// LogLevel is debug, info or error; LogFormat json or text.
	LogLevel, LogFormat string

	// HMACKeySecret names the Secret in Namespace that holds the key of
	// every HMAC the controller records; it is created when missing.
	// HMACKeyFile, when set, is read instead.
	HMACKeySecret string
	HMACKeyFile   string

	// VaultCacheTTL is how long a secret version read stays in memory.
	VaultCacheTTL time.Duration
	// SealedSecretsNamespace is the default namespace of the sealing keys.
	SealedSecretsNamespace string
	// GitTimeout bounds each Git operation.
	GitTimeout time.Duration
	// KubeAPIQPS and KubeAPIBurst bound the controller's requests to the API
	// server (which protects itself with API Priority and Fairness).
	KubeAPIQPS   float32
	KubeAPIBurst int
	// AllowRemoteBases lets kustomizations load remote bases and files by
	// URL. Off, a kustomization that references anything outside the
	// repository fails before kustomize fetches it (as Flux's
	// --no-remote-bases).
	AllowRemoteBases bool
	// MinInterval is the shortest spec.source.interval and
	// spec.rotation.interval the controller honours; shorter ones are raised
	// to it, with a Warning event. 0 disables the floor.
	MinInterval time.Duration
}

// Controller environment variables (flag defaults).
const (
	EnvNamespace         = "POD_NAMESPACE"
	EnvMetricsAddr       = "LATCHKEY_METRICS_ADDR"
	EnvHealthAddr        = "LATCHKEY_HEALTH_ADDR"
	EnvWebhookAddr       = "LATCHKEY_WEBHOOK_ADDR"
	EnvWebhookSecretFile = "LATCHKEY_WEBHOOK_SECRET_FILE"
	EnvLeaderElect       = "LATCHKEY_LEADER_ELECT"
	EnvConcurrency       = "LATCHKEY_CONCURRENCY"
	EnvShard             = "LATCHKEY_SHARD"
	EnvWatchNamespaces   = "LATCHKEY_WATCH_NAMESPACES"
	EnvLogLevel          = "LATCHKEY_LOG_LEVEL"
	EnvLogFormat         = "LATCHKEY_LOG_FORMAT"
	EnvHMACKeySecret     = "LATCHKEY_HMAC_KEY_SECRET"
	EnvHMACKeyFile       = "LATCHKEY_HMAC_KEY_FILE"
	EnvVaultCacheTTL     = "LATCHKEY_VAULT_CACHE_TTL"
	EnvSealedSecretsNS   = "LATCHKEY_SEALED_SECRETS_NAMESPACE"
	EnvGitTimeout        = "LATCHKEY_GIT_TIMEOUT"
	EnvKubeAPIQPS        = "LATCHKEY_KUBE_API_QPS"
	EnvKubeAPIBurst      = "LATCHKEY_KUBE_API_BURST"
	EnvAllowRemoteBases  = "LATCHKEY_ALLOW_REMOTE_BASES"
)

// EnvMinInterval is --min-interval's default.
const EnvMinInterval = "LATCHKEY_MIN_INTERVAL"

// ControllerDefaults returns the defaults, taking env into account. Values
// in env that do not parse are reported by Validate (through the flag set)
// rather than silently ignored: they are kept as the flag's default text.
func ControllerDefaults(env Env) (*Controller, []error) {
	get := func(name, def string) string {
		if v, ok := env(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	var errs []error
	c := &Controller{
		Namespace:              get(EnvNamespace, "latchkey-system"),
		MetricsAddr:            get(EnvMetricsAddr, ":8080"),
		HealthAddr:             get(EnvHealthAddr, ":8081"),
		WebhookAddr:            get(EnvWebhookAddr, ":9292"),
		WebhookSecretFile:      get(EnvWebhookSecretFile, ""),
		Shard:                  get(EnvShard, ""),
		HMACKeySecret:          get(EnvHMACKeySecret, "latchkey-hmac-key"),
		HMACKeyFile:            get(EnvHMACKeyFile, ""),
		SealedSecretsNamespace: get(EnvSealedSecretsNS, "kube-system"),
		LogLevel:               get(EnvLogLevel, "info"),
		LogFormat:              get(EnvLogFormat, "json"),
	}
	for _, ns := range strings.Split(get(EnvWatchNamespaces, ""), ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			c.WatchNamespaces = append(c.WatchNamespaces, ns)
		}
	}
	var err error
	if c.LeaderElect, err = strconv.ParseBool(get(EnvLeaderElect, "false")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want true or false", EnvLeaderElect))
	}
	if c.Concurrency, err = strconv.Atoi(get(EnvConcurrency, "8")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want a number", EnvConcurrency))
	}
	if c.VaultCacheTTL, err = time.ParseDuration(get(EnvVaultCacheTTL, "5m")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want a duration such as 5m", EnvVaultCacheTTL))
	}
	if c.GitTimeout, err = time.ParseDuration(get(EnvGitTimeout, "60s")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want a duration such as 60s", EnvGitTimeout))
	}
	qps, err := strconv.ParseFloat(get(EnvKubeAPIQPS, "1000"), 32)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: want a number", EnvKubeAPIQPS))
	}
	c.KubeAPIQPS = float32(qps)
	if c.KubeAPIBurst, err = strconv.Atoi(get(EnvKubeAPIBurst, "2000")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want a number", EnvKubeAPIBurst))
	}
	if c.AllowRemoteBases, err = strconv.ParseBool(get(EnvAllowRemoteBases, "false")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want true or false", EnvAllowRemoteBases))
	}
	if c.MinInterval, err = time.ParseDuration(get(EnvMinInterval, "10s")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want a duration such as 10s", EnvMinInterval))
	}
	return c, errs
}

// AddFlags registers the flags, with the current values as defaults.
func (c *Controller) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, "kubeconfig to run against from outside the cluster (default: in-cluster, or $KUBECONFIG)")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "namespace of the controller's own objects: HMAC key Secret, leader lease ($"+EnvNamespace+")")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "address of the Prometheus metrics endpoint; 0 disables ($"+EnvMetricsAddr+")")
	fs.StringVar(&c.HealthAddr, "health-addr", c.HealthAddr, "address of the /healthz and /readyz probes; 0 disables ($"+EnvHealthAddr+")")
	fs.StringVar(&c.WebhookAddr, "webhook-addr", c.WebhookAddr, "address of the GitHub/GitLab push webhook receiver; empty disables ($"+EnvWebhookAddr+")")
	fs.StringVar(&c.WebhookSecretFile, "webhook-secret-file", c.WebhookSecretFile, "file holding the webhook shared secret; required when the receiver is on ($"+EnvWebhookSecretFile+")")
	fs.BoolVar(&c.LeaderElect, "leader-elect", c.LeaderElect, "elect a leader among replicas of the same shard ($"+EnvLeaderElect+")")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "Syncs reconciled at once ($"+EnvConcurrency+")")
	fs.StringVar(&c.Shard, "shard", c.Shard, "reconcile only Syncs labelled latchkey.dev/shard=SHARD; empty: those without the label ($"+EnvShard+")")
	fs.StringSliceVar(&c.WatchNamespaces, "watch-namespaces", c.WatchNamespaces, "comma-separated namespaces to reconcile Syncs in and apply to; empty: the whole cluster ($"+EnvWatchNamespaces+")")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info or error ($"+EnvLogLevel+")")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "json or text ($"+EnvLogFormat+")")
	fs.StringVar(&c.HMACKeySecret, "hmac-key-secret", c.HMACKeySecret, "Secret (in --namespace) with the HMAC key, created if missing ($"+EnvHMACKeySecret+")")
	fs.StringVar(&c.HMACKeyFile, "hmac-key-file", c.HMACKeyFile, "file with the HMAC key (32+ bytes), instead of --hmac-key-secret ($"+EnvHMACKeyFile+")")
	fs.DurationVar(&c.VaultCacheTTL, "vault-cache-ttl", c.VaultCacheTTL, "how long a secret version read from Vault stays in memory ($"+EnvVaultCacheTTL+")")
	fs.StringVar(&c.SealedSecretsNamespace, "sealed-secrets-namespace", c.SealedSecretsNamespace, "default namespace of the SealedSecrets sealing keys ($"+EnvSealedSecretsNS+")")
	fs.DurationVar(&c.GitTimeout, "git-timeout", c.GitTimeout, "timeout of each Git operation ($"+EnvGitTimeout+")")
	fs.Float32Var(&c.KubeAPIQPS, "kube-api-qps", c.KubeAPIQPS, "sustained requests per second to the Kubernetes API ($"+EnvKubeAPIQPS+")")
	fs.IntVar(&c.KubeAPIBurst, "kube-api-burst", c.KubeAPIBurst, "burst of requests to the Kubernetes API ($"+EnvKubeAPIBurst+")")
	fs.DurationVar(&c.MinInterval, "min-interval", c.MinInterval, "shortest source and rotation interval of a Sync; shorter ones are raised to it, with a Warning event; 0 disables ($"+EnvMinInterval+")")
	fs.BoolVar(&c.AllowRemoteBases, "allow-remote-bases", c.AllowRemoteBases, "let kustomizations load remote bases and files by URL during a render; off, they fail before anything is fetched ($"+EnvAllowRemoteBases+")")
}

// Validate reports every problem, each naming its flag.
func (c *Controller) Validate() error {
	var errs []error
	for _, a := range []struct{ flag, addr string }{
		{"--metrics-addr", c.MetricsAddr}, {"--health-addr", c.HealthAddr}, {"--webhook-addr", c.WebhookAddr},
	} {
		if a.addr == "" || a.addr == "0" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want host:port or :port", a.flag, a.addr))
		}
	}
	if c.WebhookAddr != "" && c.WebhookAddr != "0" && c.WebhookSecretFile == "" {
		errs = append(errs, errors.New("--webhook-addr is set but --webhook-secret-file is not: unauthenticated webhooks are refused (set --webhook-addr='' to disable the receiver)"))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("--concurrency=%d: want 1 or more", c.Concurrency))
	}
	if c.Namespace == "" {
		errs = append(errs, errors.New("--namespace is empty"))
	}
	if c.HMACKeyFile == "" && c.HMACKeySecret == "" {
		errs = append(errs, errors.New("set --hmac-key-secret or --hmac-key-file"))
	}
	if c.VaultCacheTTL < 0 {
		errs = append(errs, fmt.Errorf("--vault-cache-ttl=%s: want 0 or more", c.VaultCacheTTL))
	}
	if c.KubeAPIQPS <= 0 || c.KubeAPIBurst < 1 {
		errs = append(errs, fmt.Errorf("--kube-api-qps=%g --kube-api-burst=%d: want positive values", c.KubeAPIQPS, c.KubeAPIBurst))
	}
	if c.MinInterval < 0 {
		errs = append(errs, fmt.Errorf("--min-interval=%s: want 0 or more", c.MinInterval))
	}
	if c.GitTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--git-timeout=%s: want a positive duration", c.GitTimeout))
	}
	for _, ns := range c.WatchNamespaces {
		if ns == "" || strings.ContainsAny(ns, " /,") {
			errs = append(errs, fmt.Errorf("--watch-namespaces: %q is not a namespace name", ns))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level=%q: want debug, info or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs = append(errs, fmt.Errorf("--log-format=%q: want json or text", c.LogFormat))
	}
	if strings.ContainsAny(c.Shard, " /") {
		errs = append(errs, fmt.Errorf("--shard=%q: want a label value", c.Shard))
	}
	return errors.Join(errs...)
}
