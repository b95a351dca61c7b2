package reconcile_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// The tenants of these tests: a namespace each, a ServiceAccount "app" in
// it with a Role over its Secrets and ConfigMaps, and a Vault role bound to
// that ServiceAccount alone, whose policy reads secret/data/<tenant>/*.
const tenantSA = "app"

// tenantVault sets up Vault's Kubernetes auth against the scenario's API
// server (the real TokenReview, as a reviewer bound to system:auth-delegator)
// and, for each tenant, its ServiceAccount, RBAC, policy and role.
func tenantVault(t *testing.T, sc *scenario, tenants ...string) {
	t.Helper()
	const reviewerNS, reviewerSA = "vault-system", "reviewer"
	reviewer := sc.kube.ServiceAccountToken(t, reviewerNS, reviewerSA)
	sc.kube.BindClusterRole(t, "system:auth-delegator", reviewerNS, reviewerSA)
	sc.vault.ConfigureKubernetesAuth(t, sc.kube.Host(), sc.kube.CACert(), reviewer)
	for _, ns := range tenants {
		tenantServiceAccount(t, sc.kube, ns)
		sc.vault.WritePolicy(t, ns, fmt.Sprintf(`path "secret/data/%[1]s/*" { capabilities = ["read"] }
path "secret/metadata/%[1]s/*" { capabilities = ["read"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }`, ns))
		sc.vault.WriteKubernetesRole(t, ns, testenv.KubernetesRole{
			ServiceAccounts: []string{tenantSA}, Namespaces: []string{ns}, Policies: []string{ns}, Audience: "vault",
		})
	}
}

// tenantServiceAccount creates ns, its ServiceAccount "app" and a Role that
// lets it manage the namespace's Secrets and ConfigMaps (what these Syncs
// apply, when the reconciler impersonates it).
func tenantServiceAccount(t *testing.T, kube *testenv.Kube, ns string) {
	t.Helper()
	ctx := context.Background()
	kube.CreateNamespace(t, ns)
	for _, o := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantSA}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sync"}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: []string{"*"},
		}}},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sync"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "sync"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: tenantSA}},
		},
	} {
		if err := kube.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// startTenancyController runs a controller with the tenancy policy p and
// the controller-wide Vault configuration vault (nil for none), and returns
// its secrets provider.
func startTenancyController(t *testing.T, kube *testenv.Kube, vault *config.Vault, p tenancy.Policy) *reconcile.VaultSecrets {
	t.Helper()
	var secrets *reconcile.VaultSecrets
	startShardController(t, kube, vault, "", func(o *reconcile.Options) {
		o.Tenancy = p
		secrets = reconcile.NewVaultSecrets(reconcile.VaultSecretsOptions{
			Default: vault, HMACKey: o.HMACKey, Reader: kube.Client, Tenancy: p,
			Unsealer: reconcile.ClusterUnsealer(kube.Clientset), ServiceAccounts: kube.Clientset.CoreV1(),
		})
		o.Secrets = secrets
	})
	return secrets
}

// recorder is a plain HTTP server standing where a tenant points
// spec.vault.address: it records every connection and every request
// (headers and body), and answers 403 as Vault does to a bad login.
type recorder struct {
	URL         string
	connections atomic.Int32

	mu       sync.Mutex
	requests []string
}

type countingListener struct {
	net.Listener
	r *recorder
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.r.connections.Add(1)
	}
	return c, err
}

func startRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{URL: "http://" + ln.Addr().String()}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s\n", req.Method, req.URL)
		for k, vs := range req.Header {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ", "))
		}
		b.WriteString("\n")
		b.Write(body)
		r.mu.Lock()
		r.requests = append(r.requests, b.String())
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"errors":["permission denied"]}`)
	})}
	go func() { _ = srv.Serve(countingListener{ln, r}) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...)
}

// jwtSubjects returns the "sub" claim of every JWT in s.
func jwtSubjects(s string) []string {
	var subs []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" \n\t\",:{}", r) }) {
		parts := strings.Split(f, ".")
		if len(parts) != 3 || !strings.HasPrefix(f, "eyJ") {
			continue
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			subs = append(subs, "<undecodable JWT>")
			continue
		}
		var claims struct {
			Sub string `json:"sub"`
		}
		_ = json.Unmarshal(payload, &claims)
		subs = append(subs, claims.Sub)
	}
	return subs
}

// waitReady waits until the Sync's Ready condition starts with want
// ("True", "False/ResolveFailed"; "" for any outcome of a reconciliation)
// and contains every text.
func waitReady(t *testing.T, c client.Client, ns, name, want string, texts ...string) string {
	t.Helper()
	var ready string
	eventually(t, 60*time.Second, fmt.Sprintf("Sync %s/%s Ready %s %q", ns, name, want, texts), func() error {
		ready = condition(getSync(t, c, ns, name), v1alpha1.ConditionReady)
		if ready == "<none>" || strings.HasPrefix(ready, "Unknown") || !strings.HasPrefix(ready, want) {
			return fmt.Errorf("Ready %s", ready)
		}
		for _, text := range texts {
			if !strings.Contains(ready, text) {
				return fmt.Errorf("Ready %s: does not say %q", ready, text)
			}
		}
		return nil
	})
	return ready
}

func secretValue(t *testing.T, c client.Client, ns, name, key string) (string, bool) {
	t.Helper()
	var s corev1.Secret
	err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s)
	if apierrors.IsNotFound(err) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(s.Data[key]), true
}

func secretManifest(name, ref string) string {
	return "apiVersion: v1\nkind: Secret\nmetadata: {name: " + name + "}\nstringData: {password: '<path:" + ref + ">'}\n"
}

// TestTenantsReadVaultOnlyAsThemselves: with tenancy on, each Sync logs in
// to Vault as its own ServiceAccount (a token from the TokenRequest API),
// so Vault's role bindings decide what it reads; the controller's own
// credentials (here Vault's root token, which reads everything) serve only
// the namespaces an admin lists, and an address no admin allowed is never
// contacted.
func TestTenantsReadVaultOnlyAsThemselves(t *testing.T) {
	sc := newScenario(t, "tenants", withVault())
	c := sc.c
	canaryA, canaryB, canaryShared := "canary-a-"+rand.Text(), "canary-b-"+rand.Text(), "canary-shared-"+rand.Text()
	sc.vault.PutKV2(t, "secret", "team-a/db", map[string]any{"password": canaryA})
	sc.vault.PutKV2(t, "secret", "team-b/db", map[string]any{"password": canaryB})
	sc.vault.PutKV2(t, "secret", "shared/db", map[string]any{"password": canaryShared})
	tenantVault(t, sc, "team-a", "team-b")
	tenantServiceAccount(t, sc.kube, "shared")
	listener := startRecorder(t)

	sc.repo.Commit(t, "tenants", map[string]string{
		"own-a/secret.yaml":    secretManifest("own", "secret/data/team-a/db#password"),
		"own-b/secret.yaml":    secretManifest("own", "secret/data/team-b/db#password"),
		"cross/secret.yaml":    secretManifest("cross", "secret/data/team-b/db#password"),
		"borrow/secret.yaml":   secretManifest("borrowed", "secret/data/team-b/db#password"),
		"default/secret.yaml":  secretManifest("by-default", "secret/data/team-a/db#password"),
		"shared/secret.yaml":   secretManifest("shared-db", "secret/data/shared/db#password"),
		"plain/cm.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {color: blue}\n",
		"listener/secret.yaml": secretManifest("listened", "secret/data/team-a/db#password"),
		"keys/cm.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keys}\ndata: {color: blue}\n",
	})
	secrets := startTenancyController(t, sc.kube, sc.vaultConfig(), tenancy.Policy{
		Enabled: true, VaultDefaultNamespaces: []string{"shared"},
	})

	type tc struct {
		name, ns, sync, path string
		vault                *v1alpha1.Vault
		keysNamespace        string
		want                 string   // Ready prefix
		says                 []string // in the Ready message
		secret, value        string   // the Secret that must hold value, or ("" value) must not exist
	}
	role := func(r string) *v1alpha1.Vault {
		return &v1alpha1.Vault{Auth: &v1alpha1.VaultAuth{Kubernetes: &v1alpha1.VaultKubernetesAuth{Role: r}}}
	}
	tests := []tc{
		{name: "team-a reads its own path as its ServiceAccount", ns: "team-a", sync: "own", path: "own-a", vault: role("team-a"),
			want: "True", secret: "own", value: canaryA},
		{name: "team-b reads its own path as its ServiceAccount", ns: "team-b", sync: "own", path: "own-b", vault: role("team-b"),
			want: "True", secret: "own", value: canaryB},
		{name: "team-a's Sync referencing team-b's path is refused by Vault", ns: "team-a", sync: "cross", path: "cross", vault: role("team-a"),
			want: "False/" + v1alpha1.ReasonResolveFailed, says: []string{"secret/data/team-b/db#password", "permission denied"}, secret: "cross"},
		{name: "team-a's Sync naming team-b's role cannot log in", ns: "team-a", sync: "borrow", path: "borrow", vault: role("team-b"),
			want: "False/" + v1alpha1.ReasonResolveFailed, says: []string{"secret/data/team-b/db#password", "logging in"}, secret: "borrowed"},
		{name: "team-a without spec.vault may not use the controller's credentials", ns: "team-a", sync: "by-default", path: "default",
			want: "False/" + v1alpha1.ReasonResolveFailed, says: []string{"secret/data/team-a/db#password", "may not use the controller's Vault credentials", "--vault-default-namespaces"}, secret: "by-default"},
		{name: "team-a without spec.vault and without Vault references reconciles", ns: "team-a", sync: "plain", path: "plain", want: "True"},
		{name: "a listed namespace resolves with the controller's credentials", ns: "shared", sync: "shared", path: "shared",
			want: "True", secret: "shared-db", value: canaryShared},
		{name: "an address the admin did not allow is refused", ns: "team-a", sync: "listener", path: "listener",
			vault: &v1alpha1.Vault{Address: listener.URL, Auth: &v1alpha1.VaultAuth{Kubernetes: &v1alpha1.VaultKubernetesAuth{Role: "team-a"}}},
			want:  "False/" + v1alpha1.ReasonConfigInvalid, says: []string{"spec.vault.address", "is not allowed", "--vault-allowed-addresses"}, secret: "listened"},
		{name: "another keys namespace is refused", ns: "team-a", sync: "keys", path: "keys", keysNamespace: "team-b",
			want: "False/" + v1alpha1.ReasonConfigInvalid, says: []string{"keysNamespace team-b is not allowed"}},
	}
	for _, tt := range tests {
		s := sc.gitSync(tt.ns, tt.sync, tt.path, time.Minute)
		s.Spec.ServiceAccountName = tenantSA
		s.Spec.Vault = tt.vault
		if tt.keysNamespace != "" {
			s.Spec.SealedSecrets = &v1alpha1.SealedSecrets{KeysNamespace: tt.keysNamespace}
		}
		sc.create(t, s)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready := waitReady(t, c, tt.ns, tt.sync, tt.want, tt.says...)
			for _, canary := range []string{canaryA, canaryB, canaryShared} {
				if strings.Contains(ready, canary) {
					t.Errorf("the Ready condition quotes a secret value: %s", ready)
				}
			}
			if tt.secret == "" {
				return
			}
			got, ok := secretValue(t, c, tt.ns, tt.secret, "password")
			switch {
			case tt.value != "" && got != tt.value:
				t.Errorf("Secret %s/%s password = %q (exists %t), want its tenant's value", tt.ns, tt.secret, got, ok)
			case tt.value == "" && ok:
				t.Errorf("Secret %s/%s was applied by a refused Sync", tt.ns, tt.secret)
			}
		})
	}
	t.Run("the address no admin allowed received no connection at all", func(t *testing.T) {
		if n := listener.connections.Load(); n != 0 {
			t.Fatalf("the listener accepted %d connections; requests: %q", n, listener.all())
		}
	})
	t.Run("the Vault clients go with the Syncs that used them", func(t *testing.T) {
		// team-a/app with role team-a, and with role team-b; team-b/app;
		// the controller's (shared); team-a's refused default. The Syncs
		// refused before any login keep none.
		if n := secrets.Clients(); n != 5 {
			t.Errorf("%d Vault clients for these Syncs, want 5", n)
		}
		for _, tt := range tests {
			if err := c.Delete(context.Background(), sc.gitSync(tt.ns, tt.sync, "", 0)); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, 30*time.Second, "no Vault client left", func() error {
			if n := secrets.Clients(); n != 0 {
				return fmt.Errorf("%d Vault clients", n)
			}
			return nil
		})
	})
	if strings.Contains(logs.String(), canaryB) || strings.Contains(logs.String(), canaryA) {
		t.Error("a secret value reached the controller's logs")
	}
}

// TestSyncVaultAddressNeverReceivesTheControllersCredentials: with tenancy
// off (any address allowed), a Sync that points spec.vault.address at a
// server of its choosing gets there only with its own credentials: the
// controller's Vault token, its ServiceAccount token (a JWT) and any Vault
// token it holds never reach that server, whichever way the controller logs
// in to its own Vault.
func TestSyncVaultAddressNeverReceivesTheControllersCredentials(t *testing.T) {
	sc := newScenario(t, "foreign", withVault())
	canaryShared := "canary-shared-" + rand.Text()
	sc.vault.PutKV2(t, "secret", "shared/db", map[string]any{"password": canaryShared})
	tenantVault(t, sc)
	// The controller's own ServiceAccount and its role in Vault.
	controllerJWT := sc.kube.ServiceAccountToken(t, "latchkey-system", "latchkey", "vault")
	sc.vault.WritePolicy(t, "controller", `path "secret/data/shared/*" { capabilities = ["read"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }`)
	sc.vault.WriteKubernetesRole(t, "controller", testenv.KubernetesRole{
		ServiceAccounts: []string{"latchkey"}, Namespaces: []string{"latchkey-system"}, Policies: []string{"controller"}, Audience: "vault",
	})
	// As a kubelet mounts it in the controller's pod.
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(controllerJWT), 0o600); err != nil {
		t.Fatal(err)
	}
	sc.repo.Commit(t, "foreign", map[string]string{
		"foreign/secret.yaml": secretManifest("foreign", "secret/data/shared/db#password"),
		"shared/secret.yaml":  secretManifest("shared-db", "secret/data/shared/db#password"),
	})

	logins := []struct {
		name string
		cfg  func() *config.Vault
	}{
		{"the controller logs in with a Vault token", sc.vaultConfig},
		{"the controller logs in with its ServiceAccount token", func() *config.Vault {
			cfg := sc.vaultConfig()
			cfg.Auth = config.VaultAuth{Method: config.VaultAuthKubernetes, Role: "controller", MountPath: "kubernetes", TokenPath: tokenFile}
			return cfg
		}},
	}
	for i, login := range logins {
		t.Run(login.name, func(t *testing.T) {
			listener := startRecorder(t)
			startTenancyController(t, sc.kube, login.cfg(), tenancy.Policy{})
			ns := func(s string) string { return fmt.Sprintf("%s-%d", s, i) }
			at := func(auth *v1alpha1.VaultAuth) *v1alpha1.Vault {
				return &v1alpha1.Vault{Address: listener.URL, Auth: auth}
			}
			tests := []struct {
				ns, sa string
				vault  *v1alpha1.Vault
				want   string
				says   []string
			}{
				{ns: ns("no-auth"), vault: at(nil), want: "False/" + v1alpha1.ReasonConfigInvalid,
					says: []string{"never sent to an address a Sync names"}},
				{ns: ns("kube-no-sa"), vault: at(&v1alpha1.VaultAuth{Kubernetes: &v1alpha1.VaultKubernetesAuth{Role: "any"}}),
					want: "False/" + v1alpha1.ReasonConfigInvalid, says: []string{"set spec.serviceAccountName"}},
				{ns: ns("own-ca"), vault: &v1alpha1.Vault{CASecretRef: &v1alpha1.LocalObjectReference{Name: "vault-ca"}},
					want: "False/" + v1alpha1.ReasonConfigInvalid, says: []string{"verified as the controller verifies it"}},
				{ns: ns("approle"), vault: at(&v1alpha1.VaultAuth{AppRole: &v1alpha1.VaultAppRoleAuth{SecretRef: v1alpha1.LocalObjectReference{Name: "approle"}}}),
					want: "False/" + v1alpha1.ReasonResolveFailed, says: []string{"secret/data/shared/db#password"}},
				{ns: ns("shared"), want: "True"},
			}
			for _, tt := range tests {
				sc.kube.CreateNamespace(t, tt.ns)
				s := sc.gitSync(tt.ns, "app", "foreign", time.Minute)
				if tt.vault == nil {
					s.Spec.Source.Path = "shared"
				}
				s.Spec.ServiceAccountName, s.Spec.Vault = tt.sa, tt.vault
				sc.create(t,
					&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tt.ns, Name: "approle"},
						Data: map[string][]byte{"role_id": []byte("sync-role-id"), "secret_id": []byte("sync-secret-id")}},
					&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tt.ns, Name: "vault-ca"},
						Data: map[string][]byte{"ca.crt": testenv.UnrelatedCA(t)}},
					s)
			}
			// Every Sync has had its go before the listener is looked at; the
			// reasons are checked after what it received.
			for _, tt := range tests {
				waitReady(t, sc.c, tt.ns, "app", "")
			}
			waitReady(t, sc.c, ns("shared"), "app", "True")
			if got, _ := secretValue(t, sc.c, ns("shared"), "shared-db", "password"); got != canaryShared {
				t.Fatalf("the controller's own login did not work (Secret shared-db = %q): the test proves nothing", got)
			}

			seen := strings.Join(listener.all(), "\n---\n")
			if !strings.Contains(seen, "sync-role-id") {
				t.Fatalf("the listener never saw the Sync's own AppRole login: it recorded %q", seen)
			}
			for what, secret := range map[string]string{"Vault root token": sc.vault.RootToken, "ServiceAccount token": controllerJWT} {
				if strings.Contains(seen, secret) {
					t.Errorf("the listener received the controller's %s", what)
				}
			}
			if subs := jwtSubjects(seen); len(subs) > 0 {
				t.Errorf("the listener received JWTs of %q", subs)
			}
			if n := strings.Count(strings.ToLower(seen), "x-vault-token"); n > 0 {
				t.Errorf("the listener received a Vault token header %d times", n)
			}
			for _, tt := range tests {
				waitReady(t, sc.c, tt.ns, "app", tt.want, tt.says...)
			}
		})
	}

	t.Run("Kubernetes auth at a Sync's address presents only the Sync's own ServiceAccount", func(t *testing.T) {
		listener := startRecorder(t)
		startTenancyController(t, sc.kube, sc.vaultConfig(), tenancy.Policy{})
		tenantServiceAccount(t, sc.kube, "own-sa")
		s := sc.gitSync("own-sa", "app", "foreign", time.Minute)
		s.Spec.ServiceAccountName = tenantSA
		s.Spec.Vault = &v1alpha1.Vault{Address: listener.URL, Auth: &v1alpha1.VaultAuth{Kubernetes: &v1alpha1.VaultKubernetesAuth{Role: "own"}}}
		sc.create(t, s)
		waitReady(t, sc.c, "own-sa", "app", "False/"+v1alpha1.ReasonResolveFailed, "secret/data/shared/db#password")
		seen := strings.Join(listener.all(), "\n---\n")
		subs := jwtSubjects(seen)
		if len(subs) == 0 {
			t.Fatalf("no login reached the listener: %q", seen)
		}
		for _, sub := range subs {
			if sub != "system:serviceaccount:own-sa:"+tenantSA {
				t.Errorf("the listener received a token of %q, want only the Sync's ServiceAccount", sub)
			}
		}
		if strings.Contains(seen, controllerJWT) || strings.Contains(seen, sc.vault.RootToken) {
			t.Error("the listener received the controller's credentials")
		}
	})
}
