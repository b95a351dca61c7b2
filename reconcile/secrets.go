package reconcile

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
	"github.com/latchkey-dev/latchkey/resolver"
	"github.com/latchkey-dev/latchkey/resolver/vault"
)

// Secrets resolves the references of one Sync's objects and reports the
// current versions of the secrets they read.
type Secrets interface {
	Resolve(ctx context.Context, objs []*unstructured.Unstructured, origin func(int) string) (*resolver.Result, error)
	// CurrentVersions reads KV v2 metadata; a backend without versions
	// returns nil, nil.
	CurrentVersions(ctx context.Context, locs []resolver.Location) (map[resolver.Location]int, error)
	// Invalidate drops cached values of locs, so the next Resolve reads the
	// new version.
	Invalidate(locs ...resolver.Location)
}

// SecretsProvider returns the Secrets of a Sync: the controller's Vault, or
// the one spec.vault names, logged in as it says.
type SecretsProvider interface {
	For(ctx context.Context, sync *v1alpha1.Sync) (Secrets, error)
}

// UnsealerFor returns the Unsealer for SealedSecrets whose keys are in
// namespace. Without one, SealedSecrets are applied as they are, for an
// in-cluster sealed-secrets controller to unseal.
type UnsealerFor func(ctx context.Context, keysNamespace string) (resolver.Unsealer, error)

// VaultSecretsOptions configure a VaultSecrets provider.
type VaultSecretsOptions struct {
	// Default is the controller-wide Vault configuration; nil when the
	// controller has none (a Sync must then bring its own spec.vault, or
	// use no Vault reference).
	Default *config.Vault
	// HMACKey keys the provenance HMACs.
	HMACKey []byte
	// CacheTTL is how long a secret version read stays in memory
	// (default 5m). Rotation checks invalidate entries early.
	CacheTTL time.Duration
	// Unsealer, optional, unseals SealedSecrets.
	Unsealer UnsealerFor
	// SealedSecretsNamespace is the default keys namespace (kube-system).
	SealedSecretsNamespace string
	// Reader reads the Secrets a spec.vault.auth names.
	Reader client.Reader
	// Tenancy decides which Syncs may use the controller's credentials,
	// which addresses and keys namespaces a Sync may name.
	Tenancy tenancy.Policy
}

// VaultSecrets keeps one resolver, backend and cache per distinct Vault
// configuration, shared by every Sync that uses it: their cache and token
// are shared too, which is what makes N Syncs of one app cost one read.
type VaultSecrets struct {
	opts VaultSecretsOptions

	mu   sync.Mutex
	byID map[string]*vaultSecrets
}

// NewVaultSecrets returns a provider.
func NewVaultSecrets(opts VaultSecretsOptions) *VaultSecrets {
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Minute
	}
	if opts.SealedSecretsNamespace == "" {
		opts.SealedSecretsNamespace = "kube-system"
	}
	return &VaultSecrets{opts: opts, byID: map[string]*vaultSecrets{}}
}

type vaultSecrets struct {
	resolver *resolver.Resolver
	backend  *vault.Backend // nil without Vault
	cache    *resolver.Cache

	// versions memoises KV metadata reads briefly: many Syncs of one app
	// check the same secret at nearly the same time.
	mu       sync.Mutex
	versions map[resolver.Location]checkedVersion
}

type checkedVersion struct {
	version int
	at      time.Time
}

// versionMemoTTL is how long a version read answers other Syncs' checks.
const versionMemoTTL = 2 * time.Second

func (v *vaultSecrets) Resolve(ctx context.Context, objs []*unstructured.Unstructured, origin func(int) string) (*resolver.Result, error) {
	return v.resolver.Resolve(ctx, objs, origin)
}

func (v *vaultSecrets) CurrentVersions(ctx context.Context, locs []resolver.Location) (map[resolver.Location]int, error) {
	if v.backend == nil || len(locs) == 0 {
		return nil, nil
	}
	out := make(map[resolver.Location]int, len(locs))
	var misses []resolver.Location
	v.mu.Lock()
	for _, l := range locs {
		if c, ok := v.versions[l.Key()]; ok && time.Since(c.at) < versionMemoTTL {
			out[l] = c.version
		} else {
			misses = append(misses, l)
		}
	}
	v.mu.Unlock()
	if len(misses) == 0 {
		return out, nil
	}
	got, err := v.backend.CurrentVersions(ctx, misses)
	now := time.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.versions == nil {
		v.versions = map[resolver.Location]checkedVersion{}
	}
	for l, ver := range got {
		out[l] = ver
		if ver != 0 {
			v.versions[l.Key()] = checkedVersion{version: ver, at: now}
		}
	}
	return out, err
}

func (v *vaultSecrets) Invalidate(locs ...resolver.Location) {
	for _, l := range locs {
		v.cache.Invalidate(l)
	}
}

// For implements SecretsProvider.
func (p *VaultSecrets) For(ctx context.Context, s *v1alpha1.Sync) (Secrets, error) {
	cfg, err := p.effective(ctx, s)
	if err != nil {
		return nil, err
	}
	keysNS := p.opts.SealedSecretsNamespace
	if s.Spec.SealedSecrets != nil && s.Spec.SealedSecrets.KeysNamespace != "" {
		keysNS = s.Spec.SealedSecrets.KeysNamespace
	}
	id := fingerprint(cfg, keysNS)
	p.mu.Lock()
	defer p.mu.Unlock()
	if vs, ok := p.byID[id]; ok {
		return vs, nil
	}
	vs := &vaultSecrets{cache: resolver.NewCache(p.opts.CacheTTL)}
	ropts := resolver.Options{HMACKey: p.opts.HMACKey, Cache: vs.cache}
	if cfg != nil {
		b, err := vault.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("configuring Vault at %s: %w", cfg.Address, err)
		}
		vs.backend = b
		ropts.DefaultKVVersion = cfg.KVVersion
		ropts.PathValidation = cfg.PathValidation
		ropts.Concurrency = cfg.Concurrency
	}
	if p.opts.Unsealer != nil {
		u, err := p.opts.Unsealer(ctx, keysNS)
		if err != nil {
			return nil, fmt.Errorf("loading the sealing keys of namespace %s: %w", keysNS, err)
		}
		ropts.Unsealer = u
	}
	var backend resolver.Backend
	if vs.backend != nil {
		backend = vs.backend
	}
	vs.resolver = resolver.New(backend, ropts)
	p.byID[id] = vs
	return vs, nil
}

// effective merges spec.vault over the controller's configuration.
func (p *VaultSecrets) effective(ctx context.Context, s *v1alpha1.Sync) (*config.Vault, error) {
	sv := s.Spec.Vault
	if sv == nil {
		if p.opts.Default == nil {
			return nil, nil
		}
		c := *p.opts.Default
		return &c, nil
	}
	var c config.Vault
	if p.opts.Default != nil {
		c = *p.opts.Default
	} else {
		c = config.Vault{Timeout: 30 * time.Second, MaxRetries: 3}
	}
	if sv.Address != "" {
		c.Address = sv.Address
	}
	if sv.Namespace != "" {
		c.Namespace = sv.Namespace
	}
	if c.Address == "" {
		return nil, errors.New("spec.vault has no address and the controller has no default Vault address")
	}
	if ref := sv.CASecretRef; ref != nil {
		data, err := p.secretData(ctx, s.Namespace, ref.Name, caKey)
		if err != nil {
			return nil, fmt.Errorf("spec.vault.caSecretRef: %w", err)
		}
		// The Sync names the CA its Vault is verified with: the
		// controller's CA files, and a skip-verify it may have, do not
		// apply to it.
		c.CACert, c.CAPath, c.SkipVerify = "", "", false
		c.CACertPEM = data[caKey]
	}
	if a := sv.Auth; a != nil {
		set := 0
		for _, on := range []bool{a.Kubernetes != nil, a.AppRole != nil, a.Token != nil} {
			if on {
				set++
			}
		}
		if set != 1 {
			return nil, fmt.Errorf("spec.vault.auth sets %d methods: set exactly one of kubernetes, appRole, token", set)
		}
		auth := config.VaultAuth{TokenPath: c.Auth.TokenPath}
		switch {
		case a.Kubernetes != nil:
			auth.Method, auth.Role, auth.MountPath = config.VaultAuthKubernetes, a.Kubernetes.Role, orDefault(a.Kubernetes.Mount, "kubernetes")
			if auth.TokenPath == "" {
				auth.TokenPath = config.DefaultServiceAccountTokenPath
			}
		case a.AppRole != nil:
			data, err := p.secretData(ctx, s.Namespace, a.AppRole.SecretRef.Name, "role_id", "secret_id")
			if err != nil {
				return nil, fmt.Errorf("spec.vault.auth.appRole: %w", err)
			}
			auth.Method, auth.MountPath = config.VaultAuthAppRole, orDefault(a.AppRole.Mount, "approle")
			auth.RoleID, auth.SecretID = string(data["role_id"]), config.Sensitive(data["secret_id"])
		case a.Token != nil:
			data, err := p.secretData(ctx, s.Namespace, a.Token.SecretRef.Name, "token")
			if err != nil {
				return nil, fmt.Errorf("spec.vault.auth.token: %w", err)
			}
			auth.Method, auth.Token = config.VaultAuthToken, config.Sensitive(data["token"])
		}
		c.Auth = auth
	}
	return &c, nil
}

// caKey is the key of spec.vault.caSecretRef's Secret, as in a
// kubernetes.io/tls Secret or a cert-manager CA Secret.
const caKey = "ca.crt"

func (p *VaultSecrets) secretData(ctx context.Context, namespace, name string, keys ...string) (map[string][]byte, error) {
	if p.opts.Reader == nil {
		return nil, errors.New("the controller cannot read Secrets")
	}
	var sec corev1.Secret
	if err := p.opts.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sec); err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, name, err)
	}
	for _, k := range keys {
		if len(sec.Data[k]) == 0 {
			return nil, fmt.Errorf("the Secret %s/%s has no key %s", namespace, name, k)
		}
	}
	return sec.Data, nil
}

// fingerprintKey keys the identity of Vault configurations: they hold
// credentials, and the map key must not be a plain hash of them.
var fingerprintKey = randomKey()

func fingerprint(c *config.Vault, keysNamespace string) string {
	m := hmac.New(sha256.New, fingerprintKey)
	if c == nil {
		fmt.Fprintf(m, "novault\x00%s", keysNamespace)
	} else {
		fmt.Fprintf(m, "%s\x00%s\x00%s\x00%s\x00%s\x00%t\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
			c.Address, c.Namespace, c.CACert, c.CAPath, c.CACertPEM, c.SkipVerify, c.Auth.Method, c.Auth.Role, c.Auth.MountPath,
			c.Auth.RoleID, string(c.Auth.SecretID), string(c.Auth.Token), keysNamespace)
	}
	return hex.EncodeToString(m.Sum(nil))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
