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
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/promotion"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
	"github.com/latchkey-dev/latchkey/render"
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
	// Check reports every reference of a rendered revision whose key is
	// missing (promotion.CheckWith), reading past the cache: a key written
	// a moment ago counts.
	Check(ctx context.Context, res *render.Result) (promotion.Report, error)
}

// SecretsProvider returns the Secrets of a Sync: the controller's Vault, or
// the one spec.vault names, logged in as it says.
type SecretsProvider interface {
	For(ctx context.Context, sync *v1alpha1.Sync) (Secrets, error)
}

// SecretsForgetter is a SecretsProvider that keeps something per Sync (a
// Vault client, a token, a cache); the reconciler calls Forget when the
// Sync is gone.
type SecretsForgetter interface {
	Forget(sync types.NamespacedName)
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
	// ServiceAccounts requests tokens of Syncs' ServiceAccounts (the
	// TokenRequest API) for Vault's Kubernetes auth; without it, a Sync
	// that logs in as its ServiceAccount fails to resolve.
	ServiceAccounts corev1client.ServiceAccountsGetter
	// VaultAudience is the audience of those tokens (default "vault"), which
	// the Vault roles must expect.
	VaultAudience string
}

// VaultSecrets keeps one resolver, backend and cache per Vault identity
// (configuration and who logs in), shared by every Sync that logs in as it:
// N Syncs of one app cost one read, and two tenants never share a token or
// a cache. A client goes when the last Sync that used it does.
type VaultSecrets struct {
	opts VaultSecretsOptions

	mu    sync.Mutex
	byID  map[string]*vaultClient
	users map[types.NamespacedName]string // Sync → the id of the client it uses
}

// NewVaultSecrets returns a provider.
func NewVaultSecrets(opts VaultSecretsOptions) *VaultSecrets {
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Minute
	}
	if opts.SealedSecretsNamespace == "" {
		opts.SealedSecretsNamespace = "kube-system"
	}
	if opts.Tenancy.KeysNamespace == "" {
		opts.Tenancy.KeysNamespace = opts.SealedSecretsNamespace
	}
	if opts.VaultAudience == "" {
		opts.VaultAudience = "vault"
	}
	return &VaultSecrets{opts: opts, byID: map[string]*vaultClient{}, users: map[types.NamespacedName]string{}}
}

// vaultClient is the resolver, Vault backend and cache of one Vault
// identity; VaultSecrets hands one out per identity.
type vaultClient struct {
	resolver *resolver.Resolver
	// checker reads like resolver, without its cache, for promotion checks.
	checker *resolver.Resolver
	backend *vault.Backend // nil without Vault
	cache   *resolver.Cache
	users   int // Syncs using it; guarded by VaultSecrets.mu

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

func (v *vaultClient) Resolve(ctx context.Context, objs []*unstructured.Unstructured, origin func(int) string) (*resolver.Result, error) {
	return v.resolver.Resolve(ctx, objs, origin)
}

func (v *vaultClient) CurrentVersions(ctx context.Context, locs []resolver.Location) (map[resolver.Location]int, error) {
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

func (v *vaultClient) Check(ctx context.Context, res *render.Result) (promotion.Report, error) {
	return promotion.CheckWith(ctx, res, v.checker)
}

func (v *vaultClient) Invalidate(locs ...resolver.Location) {
	for _, l := range locs {
		v.cache.Invalidate(l)
	}
}

// For implements SecretsProvider: the Vault client, cache and unsealer of
// the identity s logs in as. The client the Sync used before is released.
func (p *VaultSecrets) For(ctx context.Context, s *v1alpha1.Sync) (Secrets, error) {
	key := client.ObjectKeyFromObject(s)
	vs, err := p.forSync(ctx, s)
	if err != nil {
		p.Forget(key)
		return nil, err
	}
	return &syncSecrets{vaultClient: vs, sync: s, policy: &p.opts.Tenancy, unseals: p.opts.Unsealer != nil}, nil
}

func (p *VaultSecrets) forSync(ctx context.Context, s *v1alpha1.Sync) (*vaultClient, error) {
	keysNS := p.opts.SealedSecretsNamespace
	if s.Spec.SealedSecrets != nil && s.Spec.SealedSecrets.KeysNamespace != "" {
		keysNS = s.Spec.SealedSecrets.KeysNamespace
		if err := p.opts.Tenancy.CheckKeysNamespace(keysNS); err != nil {
			return nil, err
		}
	}
	login, err := p.login(ctx, s)
	if err != nil {
		return nil, err
	}
	id := fingerprint(login, keysNS)
	key := client.ObjectKeyFromObject(s)
	p.mu.Lock()
	defer p.mu.Unlock()
	vs, ok := p.byID[id]
	if !ok {
		if vs, err = p.build(ctx, login, keysNS); err != nil {
			return nil, err
		}
		p.byID[id] = vs
	}
	if p.users[key] != id {
		p.release(key)
		vs.users++
		p.users[key] = id
	}
	return vs, nil
}

// build must be called with mu held.
func (p *VaultSecrets) build(ctx context.Context, login *vaultLogin, keysNS string) (*vaultClient, error) {
	vs := &vaultClient{cache: resolver.NewCache(p.opts.CacheTTL)}
	ropts := resolver.Options{HMACKey: p.opts.HMACKey, Cache: vs.cache}
	var backend resolver.Backend
	switch cfg := login.cfg; {
	case login.denied != nil:
		backend = deniedBackend{login.denied}
	case cfg != nil:
		var opts []vault.Option
		if login.jwt != nil {
			opts = append(opts, vault.WithTokenSource(login.jwt))
		}
		b, err := vault.New(cfg, opts...)
		if err != nil {
			return nil, fmt.Errorf("configuring Vault at %s: %w", cfg.Address, err)
		}
		vs.backend, backend = b, b
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
	vs.resolver = resolver.New(backend, ropts)
	copts := ropts
	copts.Cache = nil
	vs.checker = resolver.New(backend, copts)
	return vs, nil
}

// Forget releases what the Sync key used: a Vault client, its token and its
// cache go when no Sync uses them any more. The reconciler calls it when a
// Sync is deleted; For releases the old client itself when a Sync's
// configuration changes.
func (p *VaultSecrets) Forget(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.release(key)
}

// release must be called with mu held.
func (p *VaultSecrets) release(key types.NamespacedName) {
	id, ok := p.users[key]
	if !ok {
		return
	}
	delete(p.users, key)
	if vs := p.byID[id]; vs != nil {
		if vs.users--; vs.users <= 0 {
			delete(p.byID, id)
		}
	}
}

// Clients is how many Vault clients (each with its token and cache) are
// kept: one per identity in use.
func (p *VaultSecrets) Clients() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byID)
}

// deniedBackend fails every reference with the policy's refusal, so that a
// Sync that may not use the controller's Vault credentials fails only when
// it has a Vault reference, naming it.
type deniedBackend struct{ err error }

func (d deniedBackend) Locate(context.Context, string, int) (resolver.Location, error) {
	return resolver.Location{}, d.err
}

func (d deniedBackend) Read(context.Context, resolver.Location, string) (*resolver.Secret, error) {
	return nil, d.err
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

func fingerprint(l *vaultLogin, keysNamespace string) string {
	m := hmac.New(sha256.New, fingerprintKey)
	fmt.Fprintf(m, "%s\x00%s\x00", l.identity, keysNamespace)
	if c := l.cfg; c == nil {
		fmt.Fprint(m, "novault")
	} else {
		fmt.Fprintf(m, "%s\x00%s\x00%s\x00%s\x00%s\x00%t\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
			c.Address, c.Namespace, c.CACert, c.CAPath, c.CACertPEM, c.SkipVerify, c.ClientCert, c.ClientKey, c.TLSServerName,
			c.Auth.Method, c.Auth.Role, c.Auth.MountPath, c.Auth.RoleID, string(c.Auth.SecretID), string(c.Auth.Token))
	}
	return hex.EncodeToString(m.Sum(nil))
}
