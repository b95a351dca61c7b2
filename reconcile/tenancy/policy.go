// Package tenancy decides what a Sync may do on a cluster that many teams
// share: which ServiceAccount it acts as, where its objects may go, which
// Git hosts, Vault servers and sealing keys it may use. It is policy only,
// pure and without I/O: the reconciler asks it before it does anything, and
// enforces the rest by impersonating the ServiceAccount, so that RBAC, not
// this package, is the last word on what a tenant may write.
//
// Off (the binary's default, for single-team installs and `latchkey dev`),
// the policy keeps the behaviour of a controller without tenancy: a Sync
// that names no ServiceAccount acts with the controller's rights. On (the
// chart's default), an empty allowlist means "none".
package tenancy

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Policy is the admin's configuration of tenancy (controller flags).
type Policy struct {
	// Enabled turns the model on: every Sync acts as a ServiceAccount,
	// objects stay in the Sync's namespace, cluster-scoped kinds and other
	// keys namespaces need the admin's allowlist, the controller's Vault
	// credentials serve only VaultDefaultNamespaces.
	Enabled bool
	// DefaultServiceAccount is impersonated for Syncs that name none.
	DefaultServiceAccount string
	// AllowCrossNamespace lets a Sync's objects go to namespaces other than
	// its own (RBAC of its ServiceAccount still decides), as Flux without
	// --no-cross-namespace-refs.
	AllowCrossNamespace bool
	// ClusterKinds are the cluster-scoped kinds Syncs may apply, on top of
	// what their ServiceAccount's RBAC allows.
	ClusterKinds []schema.GroupKind
	// SourceHosts, when not empty, are the Git hosts Syncs may fetch from
	// ("git.example.com", "*.example.com", "git.example.com:8443"). Empty
	// allows any host even with tenancy on: the URL is a tenant's choice,
	// but only an admin knows the network; list them to close it.
	SourceHosts []string
	// VaultAddresses are the Vault addresses a Sync may name in
	// spec.vault.address (scheme://host[:port], compared exactly; an
	// http:// entry is the admin allowing plain HTTP to that server).
	VaultAddresses []string
	// VaultDefaultNamespaces are the namespaces whose Syncs may resolve with
	// the controller's own Vault credentials.
	VaultDefaultNamespaces []string
	// KeysNamespace is the controller's sealing keys namespace; KeysNamespaces
	// are the others a Sync may name in spec.sealedSecrets.keysNamespace.
	KeysNamespace  string
	KeysNamespaces []string
}

// Denied is a request the policy refuses; the Sync's Ready condition gets
// reason Forbidden (or ConfigInvalid for a spec the admin never allows).
type Denied struct {
	// What was asked, and the flag that would allow it.
	What, Fix string
}

func (d *Denied) Error() string {
	if d.Fix == "" {
		return d.What
	}
	return d.What + ": " + d.Fix
}

// IsDenied reports whether err is a refusal of the policy.
func IsDenied(err error) bool {
	var d *Denied
	return errors.As(err, &d)
}

// ServiceAccount returns the ServiceAccount a Sync in namespace, naming
// name (spec.serviceAccountName, may be empty), acts as; "" means the
// controller's own identity, which only a policy with tenancy off gives.
func (p *Policy) ServiceAccount(namespace, name string) (string, error) {
	if name == "" {
		name = p.DefaultServiceAccount
	}
	if name == "" && p.Enabled {
		return "", &Denied{
			What: "the Sync names no ServiceAccount and tenancy is on",
			Fix:  "set spec.serviceAccountName to a ServiceAccount of namespace " + namespace + ", or start the controller with --default-service-account",
		}
	}
	return name, nil
}

// Username is the Kubernetes user name of a ServiceAccount, as impersonated.
func Username(namespace, serviceAccount string) string {
	return "system:serviceaccount:" + namespace + ":" + serviceAccount
}

// CheckObject says whether a Sync of syncNamespace may apply an object of
// kind gk into namespace ("" for a cluster-scoped kind).
func (p *Policy) CheckObject(syncNamespace string, gk schema.GroupKind, namespace string) error {
	if !p.Enabled {
		return nil
	}
	if namespace == "" {
		if slices.Contains(p.ClusterKinds, gk) {
			return nil
		}
		return &Denied{
			What: fmt.Sprintf("%s is cluster-scoped and tenancy is on", kindString(gk)),
			Fix:  "an admin can allow the kind with --allowed-cluster-kinds=" + kindString(gk),
		}
	}
	if namespace != syncNamespace && !p.AllowCrossNamespace {
		return &Denied{
			What: fmt.Sprintf("namespace %s is not the Sync's namespace %s", namespace, syncNamespace),
			Fix:  "tenancy confines a Sync's objects to its own namespace: move the Sync, or an admin can start the controller with --allow-cross-namespace",
		}
	}
	return nil
}

// CheckTargetNamespace says whether spec.targetNamespace may be used.
func (p *Policy) CheckTargetNamespace(syncNamespace, target string) error {
	if !p.Enabled || target == "" || target == syncNamespace || p.AllowCrossNamespace {
		return nil
	}
	return &Denied{
		What: fmt.Sprintf("spec.targetNamespace %s is not the Sync's namespace %s", target, syncNamespace),
		Fix:  "remove spec.targetNamespace, or an admin can start the controller with --allow-cross-namespace",
	}
}

// CheckSource says whether a Sync may fetch from rawURL.
func (p *Policy) CheckSource(rawURL string) error {
	if len(p.SourceHosts) == 0 {
		return nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return &Denied{What: fmt.Sprintf("spec.source.url %q is not a URL with a host", rawURL)}
	}
	host := strings.ToLower(u.Host)
	for _, allowed := range p.SourceHosts {
		if hostMatches(strings.ToLower(allowed), host) {
			return nil
		}
	}
	return &Denied{
		What: fmt.Sprintf("the Git host %s is not allowed", u.Host),
		Fix:  "use a repository on an allowed host (" + strings.Join(p.SourceHosts, ", ") + "), or an admin can add it to --allowed-source-hosts",
	}
}

// hostMatches matches host[:port] against an entry: an exact host[:port],
// a host without port (any port), or "*.domain" (any subdomain, any port).
func hostMatches(entry, hostport string) bool {
	host := hostport
	if h, _, ok := strings.Cut(hostport, ":"); ok && !strings.HasPrefix(hostport, "[") {
		host = h
	}
	switch {
	case entry == hostport, entry == host:
		return true
	case strings.HasPrefix(entry, "*."):
		return strings.HasSuffix(host, entry[1:])
	}
	return false
}

// CheckVaultAddress says whether a Sync may name addr in spec.vault.address.
// With tenancy off any address is allowed, but the controller's own
// credentials are never sent to it (see MayUseControllerVault's caller).
func (p *Policy) CheckVaultAddress(addr string) error {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return &Denied{What: fmt.Sprintf("spec.vault.address %q is not an http(s) URL", addr)}
	}
	if !p.Enabled {
		return nil
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, a := range p.VaultAddresses {
		if strings.TrimSuffix(strings.ToLower(a), "/") == origin {
			return nil
		}
	}
	fix := "use an allowed Vault address"
	if len(p.VaultAddresses) > 0 {
		fix += " (" + strings.Join(p.VaultAddresses, ", ") + ")"
	}
	return &Denied{
		What: fmt.Sprintf("spec.vault.address %s is not allowed", origin),
		Fix:  fix + ", or an admin can add it to --vault-allowed-addresses",
	}
}

// MayUseControllerVault says whether Syncs of namespace may resolve with the
// controller's own Vault credentials.
func (p *Policy) MayUseControllerVault(namespace string) bool {
	return !p.Enabled || slices.Contains(p.VaultDefaultNamespaces, namespace)
}

// ControllerVaultDenied is the refusal for a Sync that would need the
// controller's Vault credentials.
func ControllerVaultDenied(namespace string) error {
	return &Denied{
		What: fmt.Sprintf("Syncs of namespace %s may not use the controller's Vault credentials", namespace),
		Fix:  "set spec.vault.auth.kubernetes.role (a Vault role bound to the Sync's ServiceAccount), or an admin can add the namespace to --vault-default-namespaces",
	}
}

// CheckKeysNamespace says whether a Sync may unseal with the keys of ns.
func (p *Policy) CheckKeysNamespace(ns string) error {
	if !p.Enabled || ns == "" || ns == p.KeysNamespace || slices.Contains(p.KeysNamespaces, ns) {
		return nil
	}
	return &Denied{
		What: fmt.Sprintf("spec.sealedSecrets.keysNamespace %s is not allowed", ns),
		Fix:  "remove it to use the controller's keys (namespace " + p.KeysNamespace + "), or an admin can add it to --allowed-keys-namespaces",
	}
}

// ParseKinds parses "Kind" and "Kind.group" entries, as kubectl names kinds.
func ParseKinds(entries []string) ([]schema.GroupKind, error) {
	var out []schema.GroupKind
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		gk := schema.ParseGroupKind(e)
		if gk.Kind == "" || strings.ContainsAny(e, " /") {
			return nil, fmt.Errorf("%q: want Kind or Kind.group, e.g. Namespace or ClusterRole.rbac.authorization.k8s.io", e)
		}
		out = append(out, gk)
	}
	return out, nil
}

func kindString(gk schema.GroupKind) string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}
