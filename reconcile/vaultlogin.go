package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
	"github.com/latchkey-dev/latchkey/resolver/vault"
)

// vaultLogin is how one Sync reaches Vault: the configuration, and who logs
// in. identity keys the Vault client and its cache: Syncs that log in as
// the same identity share them (N Syncs of one app cost one read), and two
// identities never do (a shared cache would serve one tenant what another's
// login read).
type vaultLogin struct {
	cfg      *config.Vault // nil: no Vault
	identity string
	// jwt gives the tokens of the Sync's ServiceAccount for Kubernetes
	// auth; nil for every other login.
	jwt vault.TokenSource
	// denied, when set, is what every reference of the Sync fails with: it
	// would need the controller's credentials and its namespace may not use
	// them. A Sync without Vault references still reconciles.
	denied error
}

// controllerIdentity is the controller's own Vault credentials: its token,
// its AppRole or its own ServiceAccount token.
const controllerIdentity = "controller"

// serviceAccountTokenExpiry is how long a token requested for a Vault login
// is valid: it is used once, at the login (the API server's minimum).
const serviceAccountTokenExpiry = 10 * time.Minute

// login decides how the Sync s logs in to Vault. The controller's own
// credentials serve only namespaces the tenancy policy allows and never go
// to an address the Sync names; spec.vault.address is checked against the
// policy before anything is read or sent.
func (p *VaultSecrets) login(ctx context.Context, s *v1alpha1.Sync) (*vaultLogin, error) {
	ns, pol, def, sv := s.Namespace, &p.opts.Tenancy, p.opts.Default, s.Spec.Vault
	if sv == nil {
		switch {
		case def == nil:
			return &vaultLogin{}, nil
		case !pol.MayUseControllerVault(ns):
			return &vaultLogin{identity: "denied\x00" + ns, denied: tenancy.ControllerVaultDenied(ns)}, nil
		}
		c := *def
		return &vaultLogin{cfg: &c, identity: controllerIdentity}, nil
	}

	// The address first: nothing is read or sent before it is allowed.
	var c config.Vault
	foreign := false
	switch {
	case sv.Address == "" || (def != nil && sameOrigin(sv.Address, def.Address)):
		if def == nil {
			return nil, errors.New("spec.vault has no address and the controller has no default Vault address: set spec.vault.address")
		}
		c = *def
	default:
		if err := pol.CheckVaultAddress(sv.Address); err != nil {
			return nil, err
		}
		foreign = true
		c = foreignVault(def)
	}
	if sv.Address != "" {
		c.Address = sv.Address
	}
	if sv.Namespace != "" {
		c.Namespace = sv.Namespace
	}
	ownCA := false
	if ref := sv.CASecretRef; ref != nil {
		data, err := p.secretData(ctx, ns, ref.Name, caKey)
		if err != nil {
			return nil, fmt.Errorf("spec.vault.caSecretRef: %w", err)
		}
		// The Sync names the CA its Vault is verified with: the
		// controller's CA files, and a skip-verify it may have, do not
		// apply to it.
		c.CACert, c.CAPath, c.SkipVerify = "", "", false
		c.CACertPEM = data[caKey]
		ownCA = true
	}

	a := sv.Auth
	if a == nil {
		// The controller's own credentials: only to its own Vault, verified
		// as it verifies it, for the namespaces an admin lists.
		switch {
		case foreign:
			return nil, fmt.Errorf("spec.vault.address %s is not the controller's Vault and spec.vault.auth is not set: the controller's own Vault credentials are never sent to an address a Sync names; "+
				"set spec.vault.auth (kubernetes with a role bound to the Sync's ServiceAccount, or appRole or token from a Secret of namespace %s)", sv.Address, ns)
		case ownCA:
			return nil, fmt.Errorf("spec.vault.caSecretRef is set and spec.vault.auth is not: the controller's own Vault credentials are only sent to Vault verified as the controller verifies it; " +
				"set spec.vault.auth, or remove spec.vault.caSecretRef")
		case !pol.MayUseControllerVault(ns):
			return nil, tenancy.ControllerVaultDenied(ns)
		}
		return &vaultLogin{cfg: &c, identity: controllerIdentity}, nil
	}

	set := 0
	for _, on := range []bool{a.Kubernetes != nil, a.AppRole != nil, a.Token != nil} {
		if on {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("spec.vault.auth sets %d methods: set exactly one of kubernetes, appRole, token", set)
	}
	login := &vaultLogin{cfg: &c, identity: "secret\x00" + ns}
	var auth config.VaultAuth
	switch {
	case a.Kubernetes != nil:
		auth.Method, auth.Role, auth.MountPath = config.VaultAuthKubernetes, a.Kubernetes.Role, cmp.Or(a.Kubernetes.Mount, "kubernetes")
		sa, err := pol.ServiceAccount(ns, s.Spec.ServiceAccountName)
		if err != nil {
			return nil, err
		}
		if sa == "" {
			// Tenancy off and no ServiceAccount: the controller's own
			// ServiceAccount token, as before tenancy, but only to its own
			// Vault.
			if foreign || ownCA {
				return nil, errors.New("spec.vault.auth.kubernetes logs in as the Sync's ServiceAccount and the Sync names none: set spec.serviceAccountName " +
					"(the controller's own ServiceAccount token is never sent to a Vault a Sync names or verifies)")
			}
			auth.TokenPath = cmp.Or(c.Auth.TokenPath, config.DefaultServiceAccountTokenPath)
			login.identity = controllerIdentity
			break
		}
		login.jwt = p.serviceAccountToken(ns, sa)
		login.identity = "serviceaccount\x00" + ns + "\x00" + sa + "\x00" + p.opts.VaultAudience
	case a.AppRole != nil:
		data, err := p.secretData(ctx, ns, a.AppRole.SecretRef.Name, "role_id", "secret_id")
		if err != nil {
			return nil, fmt.Errorf("spec.vault.auth.appRole: %w", err)
		}
		auth.Method, auth.MountPath = config.VaultAuthAppRole, cmp.Or(a.AppRole.Mount, "approle")
		auth.RoleID, auth.SecretID = string(data["role_id"]), config.Sensitive(data["secret_id"])
	case a.Token != nil:
		data, err := p.secretData(ctx, ns, a.Token.SecretRef.Name, "token")
		if err != nil {
			return nil, fmt.Errorf("spec.vault.auth.token: %w", err)
		}
		auth.Method, auth.Token = config.VaultAuthToken, config.Sensitive(data["token"])
	}
	c.Auth = auth
	return login, nil
}

// foreignVault is the base configuration for a Vault a Sync names: what the
// admin set for every Vault (timeouts, bounds, trust roots, path rules),
// nothing that identifies the controller (credentials, TLS client
// certificate) and nothing about its own server (Vault namespace, TLS
// server name, skip-verify).
func foreignVault(def *config.Vault) config.Vault {
	c := config.Vault{Timeout: 30 * time.Second, MaxRetries: 3}
	if def != nil {
		c.Timeout, c.MaxRetries, c.Concurrency = def.Timeout, def.MaxRetries, def.Concurrency
		c.CACert, c.CAPath = def.CACert, def.CAPath
		c.KVVersion, c.PathValidation = def.KVVersion, def.PathValidation
	}
	return c
}

// sameOrigin reports whether two Vault URLs name the same server
// (scheme://host:port).
func sameOrigin(a, b string) bool {
	ua, err := url.Parse(a)
	if err != nil || ua.Host == "" {
		return false
	}
	ub, err := url.Parse(b)
	if err != nil || ub.Host == "" {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host)
}

// serviceAccountToken returns a TokenSource of short-lived tokens of the
// ServiceAccount ns/sa, from the TokenRequest API, for Vault's Kubernetes
// auth: a fresh one at each login, held only for the login request.
func (p *VaultSecrets) serviceAccountToken(ns, sa string) vault.TokenSource {
	getter, audience := p.opts.ServiceAccounts, p.opts.VaultAudience
	return func(ctx context.Context) (string, error) {
		if getter == nil {
			return "", fmt.Errorf("the controller cannot request tokens of ServiceAccount %s/%s (it runs without a ServiceAccounts client)", ns, sa)
		}
		expiry := int64(serviceAccountTokenExpiry.Seconds())
		tr, err := getter.ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: []string{audience}, ExpirationSeconds: &expiry},
		}, metav1.CreateOptions{})
		if err != nil {
			return "", fmt.Errorf("requesting a token of ServiceAccount %s/%s (audience %s) for Vault: %w; check spec.serviceAccountName and that the controller may create serviceaccounts/token", ns, sa, audience, err)
		}
		return tr.Status.Token, nil
	}
}
