package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// VaultAuthMethod is how Latchkey logs in to Vault.
type VaultAuthMethod string

const (
	VaultAuthToken      VaultAuthMethod = "token"
	VaultAuthAppRole    VaultAuthMethod = "approle"
	VaultAuthKubernetes VaultAuthMethod = "kubernetes"
)

// DefaultServiceAccountTokenPath is where a pod's ServiceAccount token is
// mounted, which Kubernetes auth presents to Vault.
const DefaultServiceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// Vault is the configuration of the Vault backend.
type Vault struct {
	// Address is the Vault URL (VAULT_ADDR).
	Address string
	// Namespace is the Vault Enterprise namespace (VAULT_NAMESPACE).
	Namespace string

	// TLS: a CA bundle file or directory to trust (VAULT_CACERT,
	// VAULT_CAPATH), a client certificate (VAULT_CLIENT_CERT,
	// VAULT_CLIENT_KEY), the server name to verify (VAULT_TLS_SERVER_NAME).
	// SkipVerify (VAULT_SKIP_VERIFY) turns verification off and is only
	// honoured when set explicitly.
	CACert, CAPath string
	// CACertPEM is a PEM bundle held in memory (a Sync's
	// spec.vault.caSecretRef); when set, it is trusted instead of CACert
	// and CAPath.
	CACertPEM             []byte
	ClientCert, ClientKey string
	TLSServerName         string
	SkipVerify            bool

	// Timeout bounds each HTTP request (VAULT_CLIENT_TIMEOUT, default 30s).
	Timeout time.Duration
	// MaxRetries is how often a request failing with 429 or 5xx, or a
	// network error, is retried with exponential backoff (VAULT_MAX_RETRIES,
	// default 3).
	MaxRetries int
	// Concurrency bounds the requests in flight to Vault
	// (LATCHKEY_VAULT_CONCURRENCY, default 8).
	Concurrency int

	Auth VaultAuth

	// KVVersion (AVP_KV_VERSION: 1 or 2) is used only when the mount table
	// cannot be read; 0 means detect.
	KVVersion int
	// PathValidation (AVP_PATH_VALIDATION) is a regular expression every path
	// read must match.
	PathValidation *regexp.Regexp
}

// VaultAuth is the login configuration.
type VaultAuth struct {
	Method VaultAuthMethod
	// Token is the Vault token for the token method (VAULT_TOKEN).
	Token Sensitive
	// RoleID and SecretID log in with AppRole (AVP_ROLE_ID, AVP_SECRET_ID).
	RoleID   string
	SecretID Sensitive
	// Role is the Vault role for Kubernetes auth (AVP_K8S_ROLE).
	Role string
	// TokenPath is the ServiceAccount token file for Kubernetes auth
	// (AVP_K8S_TOKEN_PATH).
	TokenPath string
	// MountPath is the auth method's mount: AVP_K8S_MOUNT_PATH for
	// Kubernetes, AVP_MOUNT_PATH for either; default "approle" or "kubernetes".
	MountPath string
}

// Vault environment variables: Vault's own and argocd-vault-plugin's.
const (
	EnvVaultAddr          = "VAULT_ADDR"
	EnvVaultToken         = "VAULT_TOKEN"
	EnvVaultNamespace     = "VAULT_NAMESPACE"
	EnvVaultCACert        = "VAULT_CACERT"
	EnvVaultCAPath        = "VAULT_CAPATH"
	EnvVaultClientCert    = "VAULT_CLIENT_CERT"
	EnvVaultClientKey     = "VAULT_CLIENT_KEY"
	EnvVaultTLSServerName = "VAULT_TLS_SERVER_NAME"
	EnvVaultSkipVerify    = "VAULT_SKIP_VERIFY"
	EnvVaultClientTimeout = "VAULT_CLIENT_TIMEOUT"
	EnvVaultMaxRetries    = "VAULT_MAX_RETRIES"
	EnvVaultConcurrency   = "LATCHKEY_VAULT_CONCURRENCY"

	EnvAVPType           = "AVP_TYPE"
	EnvAVPAuthType       = "AVP_AUTH_TYPE"
	EnvAVPRoleID         = "AVP_ROLE_ID"
	EnvAVPSecretID       = "AVP_SECRET_ID"
	EnvAVPK8sRole        = "AVP_K8S_ROLE"
	EnvAVPK8sMountPath   = "AVP_K8S_MOUNT_PATH"
	EnvAVPK8sTokenPath   = "AVP_K8S_TOKEN_PATH"
	EnvAVPMountPath      = "AVP_MOUNT_PATH"
	EnvAVPKVVersion      = "AVP_KV_VERSION"
	EnvAVPPathValidation = "AVP_PATH_VALIDATION"
)

// ErrVaultNotConfigured is returned by VaultFromEnv when VAULT_ADDR is not
// set: references cannot be resolved, but a render without any still can.
var ErrVaultNotConfigured = errors.New("Vault is not configured: " + EnvVaultAddr + " is not set")

// VaultFromEnv reads the Vault configuration from env, which callers usually
// wrap in WithArgoCDPrefix. Every problem is reported, each naming its
// variable; ErrVaultNotConfigured (alone) when VAULT_ADDR is unset.
func VaultFromEnv(env Env) (*Vault, error) {
	r := &envReader{env: env}
	v := &Vault{Timeout: 30 * time.Second, MaxRetries: 3, Concurrency: 8}
	if t := r.get(EnvAVPType); t != "" && t != "vault" {
		r.bad(EnvAVPType, t, `Latchkey reads secrets from Vault only; set "vault" or unset it`)
	}
	v.Address = r.get(EnvVaultAddr)
	if v.Address == "" {
		return nil, ErrVaultNotConfigured
	}
	r.connection(v)
	r.reading(v)
	r.auth(&v.Auth)
	if err := errors.Join(r.errs...); err != nil {
		return nil, fmt.Errorf("invalid Vault configuration:\n%w", err)
	}
	return v, nil
}

// envReader reads variables and collects every error, so a user fixes a
// configuration in one go.
type envReader struct {
	env  Env
	errs []error
}

func (r *envReader) get(name string) string {
	v, _ := r.env(name)
	return strings.TrimSpace(v)
}

func (r *envReader) bad(name, value, want string) {
	r.errs = append(r.errs, fmt.Errorf("%s=%q: %s", name, value, want))
}

// connection reads how to reach Vault: address scheme, namespace, TLS,
// timeout, retries and concurrency.
func (r *envReader) connection(v *Vault) {
	if !strings.HasPrefix(v.Address, "https://") && !strings.HasPrefix(v.Address, "http://") && !strings.HasPrefix(v.Address, "unix://") {
		r.bad(EnvVaultAddr, v.Address, "want an http://, https:// or unix:// URL")
	}
	v.Namespace = r.get(EnvVaultNamespace)
	v.CACert, v.CAPath = r.get(EnvVaultCACert), r.get(EnvVaultCAPath)
	v.ClientCert, v.ClientKey = r.get(EnvVaultClientCert), r.get(EnvVaultClientKey)
	if (v.ClientCert == "") != (v.ClientKey == "") {
		r.errs = append(r.errs, fmt.Errorf("%s and %s must be set together", EnvVaultClientCert, EnvVaultClientKey))
	}
	v.TLSServerName = r.get(EnvVaultTLSServerName)
	if s := r.get(EnvVaultSkipVerify); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			r.bad(EnvVaultSkipVerify, s, "want true or false")
		}
		v.SkipVerify = b
	}
	if s := r.get(EnvVaultClientTimeout); s != "" {
		d, err := parseTimeout(s)
		if err != nil || d <= 0 {
			r.bad(EnvVaultClientTimeout, s, "want a positive duration such as 30s, or a number of seconds")
		} else {
			v.Timeout = d
		}
	}
	if s := r.get(EnvVaultMaxRetries); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			r.bad(EnvVaultMaxRetries, s, "want a number of retries, 0 or more")
		} else {
			v.MaxRetries = n
		}
	}
	if s := r.get(EnvVaultConcurrency); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			r.bad(EnvVaultConcurrency, s, "want a number of requests, 1 or more")
		} else {
			v.Concurrency = n
		}
	}
}

// reading reads argocd-vault-plugin's KV version and path validation.
func (r *envReader) reading(v *Vault) {
	if s := r.get(EnvAVPKVVersion); s != "" {
		switch s {
		case "1":
			v.KVVersion = 1
		case "2":
			v.KVVersion = 2
		default:
			r.bad(EnvAVPKVVersion, s, "want 1 or 2")
		}
	}
	if s, ok := r.env(EnvAVPPathValidation); ok && s != "" {
		re, err := regexp.Compile(s)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s is not a valid regular expression: %w", EnvAVPPathValidation, err))
		}
		v.PathValidation = re
	}
}

// auth reads the auth method, named or implied by the credentials present,
// and checks it has what it needs.
func (r *envReader) auth(a *VaultAuth) {
	a.Token = Sensitive(r.get(EnvVaultToken))
	a.RoleID, a.SecretID = r.get(EnvAVPRoleID), Sensitive(r.get(EnvAVPSecretID))
	a.Role, a.TokenPath = r.get(EnvAVPK8sRole), r.get(EnvAVPK8sTokenPath)
	method := r.get(EnvAVPAuthType)
	switch method {
	case "":
		// Not set: pick what the credentials present imply.
		switch {
		case a.RoleID != "" || a.SecretID != "":
			a.Method = VaultAuthAppRole
		case a.Role != "":
			a.Method = VaultAuthKubernetes
		default:
			a.Method = VaultAuthToken
		}
	case "token":
		a.Method = VaultAuthToken
	case "approle":
		a.Method = VaultAuthAppRole
	case "k8s", "kubernetes":
		a.Method = VaultAuthKubernetes
	default:
		r.bad(EnvAVPAuthType, method, "want token, approle or k8s")
	}
	switch a.Method {
	case VaultAuthToken:
		if a.Token == "" {
			r.errs = append(r.errs, fmt.Errorf("%s is not set: token auth needs it (or set %s to approle or k8s)", EnvVaultToken, EnvAVPAuthType))
		}
	case VaultAuthAppRole:
		if a.RoleID == "" || a.SecretID == "" {
			r.errs = append(r.errs, fmt.Errorf("%s and %s must both be set for approle auth", EnvAVPRoleID, EnvAVPSecretID))
		}
		a.MountPath = firstOf(r.get(EnvAVPMountPath), "approle")
	case VaultAuthKubernetes:
		if a.Role == "" {
			r.errs = append(r.errs, fmt.Errorf("%s is not set: Kubernetes auth needs the Vault role to log in as", EnvAVPK8sRole))
		}
		a.MountPath = firstOf(r.get(EnvAVPK8sMountPath), r.get(EnvAVPMountPath), "kubernetes")
		a.TokenPath = firstOf(a.TokenPath, DefaultServiceAccountTokenPath)
	}
	a.MountPath = strings.Trim(a.MountPath, "/")
	a.MountPath = strings.TrimPrefix(a.MountPath, "auth/")
}

// parseTimeout accepts a Go duration or, as the Vault CLI does, a bare
// number of seconds.
func parseTimeout(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
