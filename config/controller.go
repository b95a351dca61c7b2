package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
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
	// LeaderElection times the lease: how long a replica that stopped
	// renewing (killed, partitioned) keeps it, and so how long a failover
	// takes (config/leader.go).
	LeaderElection LeaderElection
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
	// RemoteHosts are the hosts renders may fetch from: Kustomize remote
	// bases and files, Helm chart repositories of dependencies and of
	// spec.source.helm. "*" is any host (what AllowRemoteBases means);
	// empty, nothing remote is fetched.
	RemoteHosts []string
	// MinInterval is the shortest spec.source.interval and
	// spec.rotation.interval the controller honours; shorter ones are raised
	// to it, with a Warning event. 0 disables the floor.
	MinInterval time.Duration
	// Render bounds each Helm and Kustomize render (config/render.go).
	Render RenderLimits
	// GitMaxFetchBytes, GitMaxFileBytes and GitMaxRevisionBytes bound one
	// Git fetch: on the wire, per object inflated, and all objects inflated;
	// GitCacheBytes bounds the snapshots kept in memory (source.Options).
	GitMaxFetchBytes, GitMaxFileBytes, GitMaxRevisionBytes, GitCacheBytes ByteSize

	// Tenancy is what each Sync may do on a cluster that many teams share.
	Tenancy Tenancy
}

// Tenancy configures the tenancy model (see reconcile/tenancy.Policy).
type Tenancy struct {
	// Enabled turns it on (the chart's default); off, the binary keeps the
	// single-team behaviour and warns at startup.
	Enabled bool
	// DefaultServiceAccount is impersonated by Syncs that name none.
	DefaultServiceAccount string
	// AllowCrossNamespace lets objects go to other namespaces than the
	// Sync's (its ServiceAccount's RBAC still decides).
	AllowCrossNamespace bool
	// ClusterKinds are the cluster-scoped kinds Syncs may apply ("Kind" or
	// "Kind.group").
	ClusterKinds []string
	// SourceHosts are the Git hosts Syncs may fetch from; empty is any.
	SourceHosts []string
	// VaultAddresses are the addresses spec.vault.address may name.
	VaultAddresses []string
	// VaultDefaultNamespaces may use the controller's own Vault credentials.
	VaultDefaultNamespaces []string
	// VaultAudience is the audience of the ServiceAccount tokens requested
	// for Vault's Kubernetes auth.
	VaultAudience string
	// KeysNamespaces are the sealing keys namespaces, besides
	// SealedSecretsNamespace, that Syncs may name.
	KeysNamespaces []string
}

// Controller environment variables (flag defaults).
const (
	EnvNamespace         = "POD_NAMESPACE"
	EnvMetricsAddr       = "LATCHKEY_METRICS_ADDR"
	EnvHealthAddr        = "LATCHKEY_HEALTH_ADDR"
	EnvWebhookAddr       = "LATCHKEY_WEBHOOK_ADDR"
	EnvWebhookSecretFile = "LATCHKEY_WEBHOOK_SECRET_FILE"
	EnvLeaderElect       = "LATCHKEY_LEADER_ELECT"
	EnvLeaseDuration     = "LATCHKEY_LEADER_ELECT_LEASE_DURATION"
	EnvRenewDeadline     = "LATCHKEY_LEADER_ELECT_RENEW_DEADLINE"
	EnvRetryPeriod       = "LATCHKEY_LEADER_ELECT_RETRY_PERIOD"
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
	EnvAllowRemoteHosts  = "LATCHKEY_ALLOW_REMOTE_HOSTS"
	EnvGitMaxFetchBytes  = "LATCHKEY_GIT_MAX_FETCH_BYTES"
	EnvGitMaxFileBytes   = "LATCHKEY_GIT_MAX_FILE_BYTES"
	EnvGitMaxRevision    = "LATCHKEY_GIT_MAX_REVISION_BYTES"
	EnvGitCacheBytes     = "LATCHKEY_GIT_CACHE_BYTES"

	EnvTenancy                = "LATCHKEY_TENANCY"
	EnvDefaultServiceAccount  = "LATCHKEY_DEFAULT_SERVICE_ACCOUNT"
	EnvAllowCrossNamespace    = "LATCHKEY_ALLOW_CROSS_NAMESPACE"
	EnvAllowedClusterKinds    = "LATCHKEY_ALLOWED_CLUSTER_KINDS"
	EnvAllowedSourceHosts     = "LATCHKEY_ALLOWED_SOURCE_HOSTS"
	EnvVaultAllowedAddresses  = "LATCHKEY_VAULT_ALLOWED_ADDRESSES"
	EnvVaultDefaultNamespaces = "LATCHKEY_VAULT_DEFAULT_NAMESPACES"
	EnvVaultTokenAudience     = "LATCHKEY_VAULT_TOKEN_AUDIENCE"
	EnvAllowedKeysNamespaces  = "LATCHKEY_ALLOWED_KEYS_NAMESPACES"
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
	list := func(name string) []string {
		var out []string
		for _, v := range strings.Split(get(name, ""), ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	c.WatchNamespaces = list(EnvWatchNamespaces)
	c.RemoteHosts = list(EnvAllowRemoteHosts)
	c.Tenancy = Tenancy{
		DefaultServiceAccount:  get(EnvDefaultServiceAccount, ""),
		ClusterKinds:           list(EnvAllowedClusterKinds),
		SourceHosts:            list(EnvAllowedSourceHosts),
		VaultAddresses:         list(EnvVaultAllowedAddresses),
		VaultDefaultNamespaces: list(EnvVaultDefaultNamespaces),
		VaultAudience:          get(EnvVaultTokenAudience, "vault"),
		KeysNamespaces:         list(EnvAllowedKeysNamespaces),
	}
	var err error
	if c.Tenancy.Enabled, err = strconv.ParseBool(get(EnvTenancy, "false")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want true or false", EnvTenancy))
	}
	if c.Tenancy.AllowCrossNamespace, err = strconv.ParseBool(get(EnvAllowCrossNamespace, "false")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want true or false", EnvAllowCrossNamespace))
	}
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
	// The defaults are source's Default* bounds (why those: reconcile/source/limits.go).
	for _, b := range []struct {
		env, def string
		dst      *ByteSize
	}{
		{EnvGitMaxFetchBytes, "64Mi", &c.GitMaxFetchBytes}, {EnvGitMaxFileBytes, "16Mi", &c.GitMaxFileBytes},
		{EnvGitMaxRevision, "128Mi", &c.GitMaxRevisionBytes}, {EnvGitCacheBytes, "128Mi", &c.GitCacheBytes},
	} {
		if *b.dst, err = ParseByteSize(get(b.env, b.def)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b.env, err))
		}
	}
	le, leErrs := leaderElectionDefaults(get)
	c.LeaderElection, errs = le, append(errs, leErrs...)
	render, renderErrs := renderDefaults(get)
	c.Render, errs = render, append(errs, renderErrs...)
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
	c.LeaderElection.addFlags(fs)
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
	fs.Float32Var(&c.KubeAPIQPS, "kube-api-qps", c.KubeAPIQPS, "sustained requests per second to the Kubernetes API; each ServiceAccount Syncs act as gets a 1/--concurrency share of it, so one busy Sync cannot starve the others ($"+EnvKubeAPIQPS+")")
	fs.IntVar(&c.KubeAPIBurst, "kube-api-burst", c.KubeAPIBurst, "burst of requests to the Kubernetes API (each ServiceAccount: a 1/--concurrency share) ($"+EnvKubeAPIBurst+")")
	fs.DurationVar(&c.MinInterval, "min-interval", c.MinInterval, "shortest source and rotation interval of a Sync; shorter ones are raised to it, with a Warning event; 0 disables ($"+EnvMinInterval+")")
	t := &c.Tenancy
	fs.BoolVar(&t.Enabled, "tenancy", t.Enabled, "each Sync acts only with its own namespace's rights: impersonates its ServiceAccount, stays in its namespace, uses only allowed Vault addresses and keys ($"+EnvTenancy+")")
	fs.StringVar(&t.DefaultServiceAccount, "default-service-account", t.DefaultServiceAccount, "ServiceAccount (in the Sync's namespace) impersonated by Syncs without spec.serviceAccountName ($"+EnvDefaultServiceAccount+")")
	fs.BoolVar(&t.AllowCrossNamespace, "allow-cross-namespace", t.AllowCrossNamespace, "with --tenancy, let a Sync's objects and spec.targetNamespace name other namespaces (its ServiceAccount's RBAC still decides) ($"+EnvAllowCrossNamespace+")")
	fs.StringSliceVar(&t.ClusterKinds, "allowed-cluster-kinds", t.ClusterKinds, "with --tenancy, cluster-scoped kinds Syncs may apply, as Kind or Kind.group ($"+EnvAllowedClusterKinds+")")
	fs.StringSliceVar(&t.SourceHosts, "allowed-source-hosts", t.SourceHosts, "Git hosts Syncs may fetch from (host, host:port or *.domain); empty: any ($"+EnvAllowedSourceHosts+")")
	fs.StringSliceVar(&t.VaultAddresses, "vault-allowed-addresses", t.VaultAddresses, "with --tenancy, Vault addresses (scheme://host:port) a Sync may name in spec.vault.address ($"+EnvVaultAllowedAddresses+")")
	fs.StringSliceVar(&t.VaultDefaultNamespaces, "vault-default-namespaces", t.VaultDefaultNamespaces, "with --tenancy, namespaces whose Syncs may resolve with the controller's own Vault credentials ($"+EnvVaultDefaultNamespaces+")")
	fs.StringVar(&t.VaultAudience, "vault-token-audience", t.VaultAudience, "audience of the ServiceAccount tokens requested for a Sync's Vault Kubernetes auth ($"+EnvVaultTokenAudience+")")
	fs.StringSliceVar(&t.KeysNamespaces, "allowed-keys-namespaces", t.KeysNamespaces, "with --tenancy, sealing keys namespaces besides --sealed-secrets-namespace that Syncs may name ($"+EnvAllowedKeysNamespaces+")")
	fs.BoolVar(&c.AllowRemoteBases, "allow-remote-bases", c.AllowRemoteBases, "let renders fetch from any host: the same as --allow-remote-hosts '*' ($"+EnvAllowRemoteBases+")")
	fs.StringSliceVar(&c.RemoteHosts, "allow-remote-hosts", c.RemoteHosts, "hosts renders may fetch from (host or host:port; * for any): Kustomize remote bases and files, Helm chart repositories of dependencies not in charts/ and of spec.source.helm; others fail before anything is fetched, naming the host ($"+EnvAllowRemoteHosts+")")
	fs.Var(&c.GitMaxFetchBytes, "git-max-fetch-bytes", "bytes one Git fetch may receive from the host; a larger fetch fails ($"+EnvGitMaxFetchBytes+")")
	fs.Var(&c.GitMaxFileBytes, "git-max-file-bytes", "size of each file (Git object) once inflated, checked before inflating ($"+EnvGitMaxFileBytes+")")
	fs.Var(&c.GitMaxRevisionBytes, "git-max-revision-bytes", "size of all Git objects of one fetch once inflated, checked before inflating ($"+EnvGitMaxRevision+")")
	fs.Var(&c.GitCacheBytes, "git-cache-bytes", "memory for fetched revisions kept between reconciles; the least recently used are dropped ($"+EnvGitCacheBytes+")")
	c.Render.addFlags(fs)
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
	errs = append(errs, c.Render.validate()...)
	errs = append(errs, c.LeaderElection.validate()...)
	if c.GitTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--git-timeout=%s: want a positive duration", c.GitTimeout))
	}
	if c.GitMaxFileBytes > c.GitMaxRevisionBytes {
		errs = append(errs, fmt.Errorf("--git-max-file-bytes=%s is larger than --git-max-revision-bytes=%s: want at most the revision's bound", &c.GitMaxFileBytes, &c.GitMaxRevisionBytes))
	}
	for _, ns := range c.WatchNamespaces {
		if ns == "" || strings.ContainsAny(ns, " /,") {
			errs = append(errs, fmt.Errorf("--watch-namespaces: %q is not a namespace name", ns))
		}
	}
	errs = append(errs, c.Tenancy.validate()...)
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

func (t *Tenancy) validate() []error {
	var errs []error
	if t.DefaultServiceAccount != "" && !isDNSName(t.DefaultServiceAccount) {
		errs = append(errs, fmt.Errorf("--default-service-account=%q: want a ServiceAccount name", t.DefaultServiceAccount))
	}
	for _, a := range t.VaultAddresses {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("--vault-allowed-addresses: %q: want scheme://host[:port], e.g. https://vault.example:8200", a))
		}
	}
	for _, lists := range []struct {
		flag  string
		names []string
	}{{"--vault-default-namespaces", t.VaultDefaultNamespaces}, {"--allowed-keys-namespaces", t.KeysNamespaces}} {
		for _, ns := range lists.names {
			if !isDNSName(ns) {
				errs = append(errs, fmt.Errorf("%s: %q is not a namespace name", lists.flag, ns))
			}
		}
	}
	if t.VaultAudience == "" {
		errs = append(errs, errors.New("--vault-token-audience is empty"))
	}
	return errs
}

func isDNSName(s string) bool {
	return s != "" && len(s) <= 253 && !strings.ContainsAny(s, " /,:_") && strings.ToLower(s) == s
}
