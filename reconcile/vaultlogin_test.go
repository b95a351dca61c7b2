package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// The decision of who logs in where is pure: the tests on the real
// components (vaulttenancy_test.go) prove what Vault and a listener see;
// these pin every case of the decision. Nothing here contacts anything.

const controllerToken = "hvs.controller-token"

func controllerVault() *config.Vault {
	return &config.Vault{
		Address: "https://vault.internal:8200", Timeout: 5 * time.Second, MaxRetries: 1, Concurrency: 4,
		ClientCert: "/etc/latchkey/client.crt", ClientKey: "/etc/latchkey/client.key", CACert: "/etc/latchkey/ca.crt",
		Namespace: "admin", SkipVerify: true,
		Auth: config.VaultAuth{Method: config.VaultAuthToken, Token: controllerToken},
	}
}

func vaultSync(ns, sa string, v *v1alpha1.Vault) *v1alpha1.Sync {
	return &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec:       v1alpha1.SyncSpec{ServiceAccountName: sa, Vault: v},
	}
}

func kubeAuth(role string) *v1alpha1.VaultAuth {
	return &v1alpha1.VaultAuth{Kubernetes: &v1alpha1.VaultKubernetesAuth{Role: role}}
}

func TestVaultLoginDecidesWhoLogsInWhere(t *testing.T) {
	off := tenancy.Policy{}
	on := tenancy.Policy{Enabled: true, VaultDefaultNamespaces: []string{"shared"}, VaultAddresses: []string{"https://vault.team-a.example:8200"}}
	tests := []struct {
		name   string
		policy tenancy.Policy
		sync   *v1alpha1.Sync
		// want: "controller" (the controller's credentials to its own
		// Vault), "serviceaccount" (the Sync's ServiceAccount), "denied"
		// (every reference fails with ControllerVaultDenied), "secret"
		// (credentials from a Secret of the Sync's namespace), "novault";
		// or an error containing errText.
		want, errText string
		denied        bool // the error is a tenancy.Denied
	}{
		{name: "tenancy off, no spec.vault: the controller's credentials", policy: off, sync: vaultSync("team-a", "", nil), want: "controller"},
		{name: "tenancy off, spec.vault names the controller's own address", policy: off,
			sync: vaultSync("team-a", "", &v1alpha1.Vault{Address: "https://VAULT.internal:8200/"}), want: "controller"},
		{name: "tenancy off, another address without auth: refused", policy: off,
			sync: vaultSync("team-a", "", &v1alpha1.Vault{Address: "http://listener.example:8080"}), errText: "never sent to an address a Sync names"},
		{name: "tenancy off, another address, Kubernetes auth without a ServiceAccount: refused", policy: off,
			sync: vaultSync("team-a", "", &v1alpha1.Vault{Address: "http://listener.example:8080", Auth: kubeAuth("r")}), errText: "set spec.serviceAccountName"},
		{name: "tenancy off, another address, Kubernetes auth as the Sync's ServiceAccount", policy: off,
			sync: vaultSync("team-a", "app", &v1alpha1.Vault{Address: "http://listener.example:8080", Auth: kubeAuth("r")}), want: "serviceaccount"},
		{name: "tenancy off, the controller's Vault, Kubernetes auth without a ServiceAccount: the controller's token file, as before tenancy", policy: off,
			sync: vaultSync("team-a", "", &v1alpha1.Vault{Auth: kubeAuth("r")}), want: "controller"},
		{name: "tenancy off, the Sync's own CA without auth: refused", policy: off,
			sync: vaultSync("team-a", "", &v1alpha1.Vault{CASecretRef: &v1alpha1.LocalObjectReference{Name: "ca"}}), errText: "verified as the controller verifies it"},
		{name: "tenancy off, another address with an AppRole of the Sync's namespace", policy: off,
			sync: vaultSync("team-a", "", &v1alpha1.Vault{Address: "http://listener.example:8080", Auth: &v1alpha1.VaultAuth{
				AppRole: &v1alpha1.VaultAppRoleAuth{SecretRef: v1alpha1.LocalObjectReference{Name: "approle"}},
			}}), want: "secret"},
		{name: "tenancy on, no spec.vault, namespace not listed: every reference is refused", policy: on, sync: vaultSync("team-a", "app", nil), want: "denied"},
		{name: "tenancy on, no spec.vault, listed namespace: the controller's credentials", policy: on, sync: vaultSync("shared", "app", nil), want: "controller"},
		{name: "tenancy on, spec.vault without auth, namespace not listed: refused", policy: on,
			sync: vaultSync("team-a", "app", &v1alpha1.Vault{Namespace: "team-a"}), errText: "may not use the controller's Vault credentials", denied: true},
		{name: "tenancy on, an address not allowed: refused before anything", policy: on,
			sync: vaultSync("team-a", "app", &v1alpha1.Vault{Address: "http://listener.example:8080", Auth: kubeAuth("r")}), errText: "is not allowed", denied: true},
		{name: "tenancy on, an allowed address, as the Sync's ServiceAccount", policy: on,
			sync: vaultSync("team-a", "app", &v1alpha1.Vault{Address: "https://vault.team-a.example:8200", Auth: kubeAuth("r")}), want: "serviceaccount"},
		{name: "tenancy on, an allowed address without auth: refused", policy: on,
			sync: vaultSync("shared", "app", &v1alpha1.Vault{Address: "https://vault.team-a.example:8200"}), errText: "never sent to an address a Sync names"},
		{name: "tenancy on, the controller's Vault as the Sync's ServiceAccount", policy: on,
			sync: vaultSync("team-a", "app", &v1alpha1.Vault{Auth: kubeAuth("team-a")}), want: "serviceaccount"},
		{name: "tenancy on, Kubernetes auth and no ServiceAccount", policy: on,
			sync: vaultSync("team-a", "", &v1alpha1.Vault{Auth: kubeAuth("team-a")}), errText: "names no ServiceAccount", denied: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewVaultSecrets(VaultSecretsOptions{Default: controllerVault(), Tenancy: tt.policy, Reader: secretsReader{
				"team-a/ca":      {"ca.crt": []byte("-----BEGIN CERTIFICATE-----")},
				"team-a/approle": {"role_id": []byte("team-a-role"), "secret_id": []byte("team-a-secret")},
			}})
			l, err := p.login(context.Background(), tt.sync)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want one saying %q", err, tt.errText)
				}
				if tenancy.IsDenied(err) != tt.denied {
					t.Errorf("IsDenied(%v) = %t, want %t", err, !tt.denied, tt.denied)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := "novault"
			switch {
			case l.denied != nil:
				got = "denied"
				if !tenancy.IsDenied(l.denied) || l.cfg != nil {
					t.Errorf("denied login %v carries a configuration or is not a refusal", l.denied)
				}
			case l.identity == controllerIdentity:
				got = "controller"
				if l.jwt != nil || !sameOrigin(l.cfg.Address, controllerVault().Address) {
					t.Errorf("the controller's credentials go to %s (token source %t)", l.cfg.Address, l.jwt != nil)
				}
			case l.identity == "secret\x00"+tt.sync.Namespace:
				got = "secret"
				if l.cfg.Auth.RoleID != "team-a-role" {
					t.Errorf("AppRole login with %+v", l.cfg.Auth)
				}
			case strings.HasPrefix(l.identity, "serviceaccount\x00"):
				got = "serviceaccount"
				if want := "serviceaccount\x00" + tt.sync.Namespace + "\x00app\x00vault"; l.identity != want {
					t.Errorf("identity %q, want %q", l.identity, want)
				}
				if l.jwt == nil || l.cfg.Auth.TokenPath != "" || l.cfg.Auth.Token != "" {
					t.Errorf("a ServiceAccount login without a token source or with another credential: %+v", l.cfg.Auth)
				}
			}
			if got != tt.want {
				t.Fatalf("login %q, want %q", got, tt.want)
			}
			if l.cfg != nil && !sameOrigin(l.cfg.Address, controllerVault().Address) {
				// A Vault the Sync names gets nothing of the controller's.
				c := l.cfg
				if c.Auth.Token == controllerToken || c.ClientCert != "" || c.ClientKey != "" || c.SkipVerify || c.Namespace == "admin" {
					t.Errorf("the configuration for %s carries the controller's: %+v", c.Address, c)
				}
			}
		})
	}
}

func TestKeysNamespaceOfASyncIsChecked(t *testing.T) {
	p := NewVaultSecrets(VaultSecretsOptions{
		SealedSecretsNamespace: "sealed-secrets",
		Tenancy:                tenancy.Policy{Enabled: true, KeysNamespaces: []string{"team-a-keys"}},
	})
	for ns, ok := range map[string]bool{"": true, "sealed-secrets": true, "team-a-keys": true, "kube-system": false, "team-b": false} {
		s := vaultSync("team-a", "app", nil)
		s.Spec.SealedSecrets = &v1alpha1.SealedSecrets{KeysNamespace: ns}
		_, err := p.For(context.Background(), s)
		if ok != (err == nil) || (err != nil && !tenancy.IsDenied(err)) {
			t.Errorf("keysNamespace %q: err = %v, want allowed %t", ns, err, ok)
		}
	}
}

// Syncs that log in as the same identity share one client and cache; two
// identities never do; a client goes with the last Sync that used it.
func TestVaultClientsAreKeyedByIdentityAndEvicted(t *testing.T) {
	def := controllerVault()
	def.ClientCert, def.ClientKey, def.CACert = "", "", "" // the clients are built: no files
	p := NewVaultSecrets(VaultSecretsOptions{
		Default: def,
		Tenancy: tenancy.Policy{Enabled: true, VaultDefaultNamespaces: []string{"shared"}},
	})
	ctx := context.Background()
	named := func(ns, name, sa, role string) *v1alpha1.Sync {
		s := vaultSync(ns, sa, nil)
		s.Name = name
		if role != "" {
			s.Spec.Vault = &v1alpha1.Vault{Auth: kubeAuth(role)}
		}
		return s
	}
	clientOf := func(s *v1alpha1.Sync) *vaultClient {
		t.Helper()
		got, err := p.For(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return got.(*syncSecrets).vaultClient
	}
	a1, a2 := named("team-a", "one", "app", "team-a"), named("team-a", "two", "app", "team-a")
	b1 := named("team-b", "one", "app", "team-a") // the same role name, another ServiceAccount
	s1, s2 := named("shared", "one", "app", ""), named("shared", "two", "app", "")

	if clientOf(a1) != clientOf(a2) {
		t.Error("two Syncs of one ServiceAccount and role do not share a client")
	}
	if clientOf(b1) == clientOf(a1) {
		t.Error("team-b's ServiceAccount shares team-a's client (token and cache)")
	}
	if clientOf(s1) != clientOf(s2) {
		t.Error("two Syncs with the controller's credentials do not share a client")
	}
	if got := p.Clients(); got != 3 {
		t.Fatalf("%d clients, want 3 (team-a/app, team-b/app, the controller)", got)
	}

	p.Forget(types.NamespacedName{Namespace: "team-a", Name: "one"})
	if got := p.Clients(); got != 3 {
		t.Fatalf("after one of team-a's two Syncs went: %d clients, want 3", got)
	}
	p.Forget(types.NamespacedName{Namespace: "team-a", Name: "two"})
	if got := p.Clients(); got != 2 {
		t.Fatalf("after team-a's Syncs went: %d clients, want 2", got)
	}
	b1.Spec.Vault.Auth = kubeAuth("team-b") // its configuration changes: the old client goes
	clientOf(b1)
	if got := p.Clients(); got != 2 {
		t.Fatalf("after team-b's Sync changed role: %d clients, want 2", got)
	}
	b1.Spec.Vault.Address = "http://listener.example:8080" // now refused: it uses no client
	if _, err := p.For(ctx, b1); err == nil {
		t.Fatal("an address not allowed was accepted")
	}
	p.Forget(types.NamespacedName{Namespace: "shared", Name: "one"})
	p.Forget(types.NamespacedName{Namespace: "shared", Name: "two"})
	if got := p.Clients(); got != 0 {
		t.Fatalf("with no Sync left: %d clients, want 0", got)
	}
}

// secretsReader serves Secrets' data by "namespace/name", for the pure
// decision tests.
type secretsReader map[string]map[string][]byte

func (r secretsReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	data, ok := r[key.String()]
	if !ok {
		return apierrors.NewNotFound(corev1.Resource("secrets"), key.Name)
	}
	obj.(*corev1.Secret).Data = data
	return nil
}

func (r secretsReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("not served")
}
