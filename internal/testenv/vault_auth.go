package testenv

import (
	"context"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// Mount paths of the auth methods the helpers enable; the same defaults as
// `vault auth enable <type>`, which clients of the real product assume.
const (
	AppRoleAuthMount    = "approle"
	KubernetesAuthMount = "kubernetes"
)

// WritePolicy creates or replaces the ACL policy name with the HCL rules.
func (v *Vault) WritePolicy(t testing.TB, name, rules string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := v.Client().Sys().PutPolicyWithContext(ctx, name, rules); err != nil {
		t.Fatalf("testenv: writing vault policy %s: %v", name, err)
	}
}

// EnableAppRole enables AppRole at auth/approle (once per server), creates
// role with the given token policies, and returns the role's role_id and a
// fresh secret_id to log in with.
func (v *Vault) EnableAppRole(t testing.TB, role string, policies []string) (roleID, secretID string) {
	t.Helper()
	v.enableAuth(t, AppRoleAuthMount, "approle")
	base := "auth/" + AppRoleAuthMount + "/role/" + role
	v.write(t, base, map[string]any{"token_policies": policies})
	roleID = v.readString(t, base+"/role-id", "role_id")
	secretID = v.writeString(t, base+"/secret-id", nil, "secret_id")
	return roleID, secretID
}

// EnableKubernetesAuth enables Kubernetes auth at auth/kubernetes (once per
// server) against the API server at k8sHost, whose serving certificate
// k8sCACert (PEM) verifies, and creates role for the ServiceAccount
// saNamespace/saName with the given token policies. Vault checks login tokens
// with the real TokenReview API, authenticating as reviewerJWT (a token of a
// ServiceAccount bound to system:auth-delegator); an empty reviewerJWT makes
// Vault review each login token with that token itself.
func (v *Vault) EnableKubernetesAuth(t testing.TB, k8sHost string, k8sCACert []byte, reviewerJWT string,
	role, saName, saNamespace string, policies []string,
) {
	t.Helper()
	v.ConfigureKubernetesAuth(t, k8sHost, k8sCACert, reviewerJWT)
	v.WriteKubernetesRole(t, role, KubernetesRole{
		ServiceAccounts: []string{saName}, Namespaces: []string{saNamespace}, Policies: policies,
	})
}

// ConfigureKubernetesAuth enables Kubernetes auth at auth/kubernetes (once
// per server) and points it at the API server, as EnableKubernetesAuth does,
// without creating a role.
func (v *Vault) ConfigureKubernetesAuth(t testing.TB, k8sHost string, k8sCACert []byte, reviewerJWT string) {
	t.Helper()
	v.enableAuth(t, KubernetesAuthMount, "kubernetes")
	config := map[string]any{
		"kubernetes_host":    k8sHost,
		"kubernetes_ca_cert": string(k8sCACert),
		// Vault runs outside any pod: there is no mounted ServiceAccount
		// token or CA to fall back on.
		"disable_local_ca_jwt": true,
	}
	if reviewerJWT != "" {
		config["token_reviewer_jwt"] = reviewerJWT
	}
	v.write(t, "auth/"+KubernetesAuthMount+"/config", config)
}

// KubernetesRole is a role of Vault's Kubernetes auth: which ServiceAccounts
// may log in, with which policies.
type KubernetesRole struct {
	ServiceAccounts, Namespaces, Policies []string
	// Audience, when set, is the audience login tokens must carry (Vault
	// then asks TokenReview for it); unset, the API server's own audience.
	Audience string
	// TTL and MaxTTL of the tokens a login issues; zero for Vault's default.
	TTL, MaxTTL time.Duration
}

// WriteKubernetesRole creates or replaces a role of auth/kubernetes, which
// ConfigureKubernetesAuth (or EnableKubernetesAuth) has set up.
func (v *Vault) WriteKubernetesRole(t testing.TB, name string, r KubernetesRole) {
	t.Helper()
	data := map[string]any{
		"bound_service_account_names":      r.ServiceAccounts,
		"bound_service_account_namespaces": r.Namespaces,
		"token_policies":                   r.Policies,
	}
	if r.Audience != "" {
		data["audience"] = r.Audience
	}
	if r.TTL > 0 {
		data["token_ttl"] = int(r.TTL.Seconds())
	}
	if r.MaxTTL > 0 {
		data["token_max_ttl"] = int(r.MaxTTL.Seconds())
	}
	v.write(t, "auth/"+KubernetesAuthMount+"/role/"+name, data)
}

// enableAuth enables the auth method typ at mount unless it is already there,
// so several helpers (and several roles) can share one mount.
func (v *Vault) enableAuth(t testing.TB, mount, typ string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	sys := v.Client().Sys()
	mounts, err := sys.ListAuthWithContext(ctx)
	if err != nil {
		t.Fatalf("testenv: listing vault auth methods: %v", err)
	}
	if m, ok := mounts[mount+"/"]; ok {
		if m.Type != typ {
			t.Fatalf("testenv: auth/%s is a %s auth method, want %s", mount, m.Type, typ)
		}
		return
	}
	if err := sys.EnableAuthWithOptionsWithContext(ctx, mount, &vaultapi.EnableAuthOptions{Type: typ}); err != nil {
		t.Fatalf("testenv: enabling %s auth at auth/%s: %v", typ, mount, err)
	}
}

func (v *Vault) write(t testing.TB, path string, data map[string]any) *vaultapi.Secret {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	s, err := v.Client().Logical().WriteWithContext(ctx, path, data)
	if err != nil {
		t.Fatalf("testenv: writing vault %s: %v", path, err)
	}
	return s
}

func (v *Vault) writeString(t testing.TB, path string, data map[string]any, field string) string {
	t.Helper()
	return stringField(t, path, v.write(t, path, data), field)
}

func (v *Vault) readString(t testing.TB, path, field string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	s, err := v.Client().Logical().ReadWithContext(ctx, path)
	if err != nil {
		t.Fatalf("testenv: reading vault %s: %v", path, err)
	}
	return stringField(t, path, s, field)
}

func stringField(t testing.TB, path string, s *vaultapi.Secret, field string) string {
	t.Helper()
	if s == nil {
		t.Fatalf("testenv: vault %s: empty response", path)
		return ""
	}
	str, ok := s.Data[field].(string)
	if !ok || str == "" {
		t.Fatalf("testenv: vault %s: no %s in the response", path, field)
	}
	return str
}
