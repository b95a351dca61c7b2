package charts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/sealing"
)

// world is what every run of the end-to-end scenario shares: the API
// server (with an audit log), Vault, the Git server, the sealed-secrets key
// and the latchkey binary.
type world struct {
	kube   *testenv.Kube
	audit  *auditLog
	vault  *testenv.Vault
	git    *testenv.GitServer
	binary string

	sealingKey *rsa.PrivateKey
	// Canaries: unique values planted in Vault and in a SealedSecret; they
	// may reach the target Secrets and nothing else.
	vaultCanary, sealedCanary string
}

const (
	keysNamespace = "sealed-secrets"
	gitUser       = "gitops-bot"
	gitPassword   = "git-password"
	vaultPolicy   = "latchkey"
	// vaultAudience is the chart's default vault.auth.kubernetes.audience.
	vaultAudience = "vault"
)

// vaultPolicyHCL is the policy docs/install.md tells users to write: read
// the secrets and their KV v2 metadata (rotation), nothing else.
const vaultPolicyHCL = `
path "secret/data/app/*"     { capabilities = ["read"] }
path "secret/metadata/app/*" { capabilities = ["read"] }
`

func startWorld(t *testing.T) *world {
	t.Helper()
	// A world's components are its own (an audited API server, Vault, Git,
	// the controller): worlds run in parallel (no t.Setenv in their tests).
	t.Parallel()
	bin, err := components.LatchkeyBinary()
	if err != nil {
		t.Fatal(err)
	}
	audit, auditOpt := withAuditLog(t)
	k := testenv.StartKube(t, auditOpt, withoutStreamingLists, testenv.WithScheme(v1alpha1.AddToScheme))
	w := &world{
		kube: k, audit: audit, binary: bin,
		vault:        testenv.StartVault(t),
		git:          testenv.StartGitServer(t, testenv.WithBasicAuth(gitUser, gitPassword)),
		vaultCanary:  "canary-vault-" + rand.Text(),
		sealedCanary: "canary-sealed-" + rand.Text(),
	}
	k.CreateNamespace(t, releaseNamespace)
	publishRootCA(t, k, releaseNamespace)

	w.vault.PutKV2(t, "secret", "app/db", map[string]any{"password": w.vaultCanary})
	w.vault.PutKV2(t, "secret", "app/old", map[string]any{"token": "old-" + rand.Text()})
	w.vault.WritePolicy(t, vaultPolicy, vaultPolicyHCL)
	// Vault reviews login tokens with a reviewer of its own (as a Vault
	// running in the cluster does with its ServiceAccount), so the
	// controller needs no TokenReview permission.
	reviewer := k.ServiceAccountToken(t, "vault", "vault-reviewer")
	k.BindClusterRole(t, "system:auth-delegator", "vault", "vault-reviewer")
	w.vault.EnableKubernetesAuth(t, k.Host(), k.CACert(), reviewer, "bootstrap", "nobody", "nowhere", []string{vaultPolicy})

	w.sealingKey = newSealingKey(t, k)
	return w
}

// newSealingKey creates a key Secret as the sealed-secrets controller keeps
// it (kubernetes.io/tls, labelled active) in keysNamespace.
func newSealingKey(t *testing.T, k *testenv.Kube) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sealed-secret"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	k.CreateNamespace(t, keysNamespace)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: keysNamespace, Name: "sealed-secrets-key-test",
			Labels: map[string]string{sealing.KeyLabel: "active"}},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		},
	}
	if err := k.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return key
}

// install is one chart release in the world, with its own Vault role, Git
// repository, application namespace and shard.
type install struct {
	w         *world
	release   string
	appNS     string
	shard     string
	sa        string // the controller's ServiceAccount's name
	vaultRole string
	// syncVaultRole, when set, is the Vault role the scenario's Sync logs
	// in with as its own ServiceAccount (spec.vault.auth.kubernetes);
	// otherwise the Sync uses the controller's credentials, which its
	// namespace may (tenancy.vault.defaultNamespaces).
	syncVaultRole string
	r             rendered
}

// tenantSA is the chart's tenancy.defaultServiceAccount, which it creates
// in the application namespace (tenancy.serviceAccountNamespaces).
const tenantSA = "latchkey-sync"

// proofValues are the chart values of the RBAC proof: the managed kinds are
// exactly what the scenario applies (Secrets, always, and ConfigMaps), so
// every rule can be shown to be needed. vaultAuth is the YAML of
// vault.auth.
func proofValues(w *world, scope, appNS, shard, vaultAuth, vaultDefaultNamespaces string) string {
	return fmt.Sprintf(`
replicaCount: 1
rbac:
  scope: %s
  namespaces: [%s]
  managedResources:
    - apiGroups: [""]
      resources: [configmaps]
controller:
  shard: %s
  concurrency: 2
  sealedSecrets:
    keysNamespace: %s
vault:
  address: %s
  auth: %s
tenancy:
  serviceAccountNamespaces: [%s]
  vault:
    defaultNamespaces: [%s]
`, scope, appNS, shard, keysNamespace, w.vault.Addr, vaultAuth, appNS, vaultDefaultNamespaces)
}

// newInstall renders a release whose Sync logs in to Vault as its own
// ServiceAccount (tenancy's Kubernetes auth), with the chart's default,
// Kubernetes auth, for the controller's own login.
func newInstall(t *testing.T, w *world, release, scope string) *install {
	t.Helper()
	return newRelease(t, w, release, scope, fmt.Sprintf("{method: kubernetes, kubernetes: {role: latchkey-%s}}", release), true)
}

// newInstallWithAuth renders a release whose Sync resolves with the
// controller's own Vault credentials (vaultAuth), which its namespace may.
func newInstallWithAuth(t *testing.T, w *world, release, scope, vaultAuth string) *install {
	t.Helper()
	return newRelease(t, w, release, scope, vaultAuth, false)
}

func newRelease(t *testing.T, w *world, release, scope, vaultAuth string, syncLogin bool) *install {
	t.Helper()
	in := &install{w: w, release: release, appNS: "app-" + release, shard: release, vaultRole: "latchkey-" + release}
	defaultNamespaces := in.appNS
	if syncLogin {
		in.syncVaultRole, defaultNamespaces = "tenant-"+release, ""
	}
	r, err := renderChart(t, release, releaseNamespace, parseValues(t, proofValues(w, scope, in.appNS, in.shard, vaultAuth, defaultNamespaces)))
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	in.r = r
	in.sa = deployment(t, r).Spec.Template.Spec.ServiceAccountName
	return in
}

// isRBAC reports whether o is one of the objects the proof varies.
func isRBAC(o interface{ GetKind() string }) bool {
	switch o.GetKind() {
	case "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding":
		return true
	}
	return false
}

// applyChart applies the rendered objects as a cluster admin (as `helm
// install` would), the RBAC ones as rbac returns them.
func (in *install) applyChart(t *testing.T, rbac []*unstructured.Unstructured) {
	t.Helper()
	k := in.w.kube
	k.CreateNamespace(t, in.appNS)
	dyn := dynamicClient(t, k)
	for _, o := range in.r.objects {
		if isRBAC(o) {
			continue
		}
		if err := applyStrict(context.Background(), k, dyn, o); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	for _, o := range rbac {
		if err := applyStrict(context.Background(), k, dyn, o); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
}

// vaultLogin lets the release's ServiceAccount log in to Vault with a token
// of the chart's audience, as docs/install.md configures the role.
func (in *install) vaultLogin(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := in.w.vault.Client().Logical().WriteWithContext(ctx, "auth/kubernetes/role/"+in.vaultRole, map[string]any{
		"bound_service_account_names":      []string{in.sa},
		"bound_service_account_namespaces": []string{releaseNamespace},
		"audience":                         vaultAudience,
		"token_policies":                   []string{vaultPolicy},
		"token_ttl":                        "10m",
	})
	if err != nil {
		t.Fatalf("writing Vault role %s: %v", in.vaultRole, err)
	}
	if in.syncVaultRole == "" {
		return
	}
	// The Sync's own role, as docs/tenancy.md has a team write it.
	_, err = in.w.vault.Client().Logical().WriteWithContext(ctx, "auth/kubernetes/role/"+in.syncVaultRole, map[string]any{
		"bound_service_account_names":      []string{tenantSA},
		"bound_service_account_namespaces": []string{in.appNS},
		"audience":                         vaultAudience,
		"token_policies":                   []string{vaultPolicy},
		"token_ttl":                        "10m",
	})
	if err != nil {
		t.Fatalf("writing Vault role %s: %v", in.syncVaultRole, err)
	}
}

// repository commits the application: two ConfigMaps, two Secrets with
// Vault references and a SealedSecret. It returns the repository and the
// first revision.
func (in *install) repository(t *testing.T) (*testenv.GitRepo, string) {
	t.Helper()
	sealed, err := sealing.Seal(&corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: in.appNS, Name: "api-token"},
		Data:       map[string][]byte{"token": []byte(in.w.sealedCanary)},
	}, &in.w.sealingKey.PublicKey, sealing.StrictScope)
	if err != nil {
		t.Fatal(err)
	}
	sealedYAML, err := yaml.Marshal(sealed)
	if err != nil {
		t.Fatal(err)
	}
	repo := in.w.git.NewRepo(t, in.release)
	rev := repo.Commit(t, "app", map[string]string{
		"app/settings.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n",
		"app/extra.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: b\n",
		"app/db.yaml":        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: <path:secret/data/app/db#password>\n",
		"app/old.yaml":       "apiVersion: v1\nkind: Secret\nmetadata:\n  name: old\nstringData:\n  token: <path:secret/data/app/old#token>\n",
		"app/api-token.yaml": string(sealedYAML),
	})
	return repo, rev
}

// scenario is the end-to-end reconcile the RBAC must carry: a Vault-backed
// and a sealed Secret applied, events recorded, the leader elected, removed
// files pruned, a manual edit and a deletion healed, and no canary anywhere
// but in the target Secrets. It returns the first step that failed.
func (in *install) scenario(t *testing.T, p *pod, repo *testenv.GitRepo, first string) error {
	t.Helper()
	ctx := context.Background()
	c := in.w.kube.Client
	syncKey := types.NamespacedName{Namespace: in.appNS, Name: "app"}
	if err := c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: in.appNS, Name: "git"},
		Data:       map[string][]byte{"username": []byte(gitUser), "password": []byte(gitPassword)},
	}); err != nil {
		return err
	}
	if err := c.Create(ctx, &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: in.appNS, Name: "app", Labels: map[string]string{"latchkey.dev/shard": in.shard}},
		Spec: v1alpha1.SyncSpec{
			Source: v1alpha1.GitSource{URL: repo.URL, Path: "app", Interval: metav1.Duration{Duration: time.Second},
				SecretRef: &v1alpha1.LocalObjectReference{Name: "git"}},
			Mode:  v1alpha1.ModeEnforce,
			Vault: in.syncVault(),
		},
	}); err != nil {
		return err
	}

	w := waiter{p: p, c: c, sync: syncKey}
	value := func(kind client.Object, name, field string) string {
		if err := c.Get(ctx, client.ObjectKey{Namespace: in.appNS, Name: name}, kind); err != nil {
			return "<" + err.Error() + ">"
		}
		switch o := kind.(type) {
		case *corev1.Secret:
			return string(o.Data[field])
		case *corev1.ConfigMap:
			return o.Data[field]
		}
		return ""
	}
	gone := func(obj client.Object, name string) error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: in.appNS, Name: name}, obj); !apierrors.IsNotFound(err) {
			return fmt.Errorf("%s still there (%v)", name, err)
		}
		return nil
	}

	if err := w.until("revision applied with values from Vault and the SealedSecret", func() error {
		if err := w.applied(first); err != nil {
			return err
		}
		for _, want := range []struct {
			obj          client.Object
			name, field  string
			value, label string
		}{
			{&corev1.Secret{}, "db", "password", in.w.vaultCanary, "the Vault value"},
			{&corev1.Secret{}, "api-token", "token", in.w.sealedCanary, "the unsealed value"},
			{&corev1.ConfigMap{}, "settings", "color", "blue", "blue"},
			{&corev1.ConfigMap{}, "extra", "a", "b", "b"},
		} {
			if got := value(want.obj, want.name, want.field); got != want.value {
				return fmt.Errorf("%s %s is not %s", want.name, want.field, want.label)
			}
		}
		return nil
	}); err != nil {
		return err
	}

	if err := w.until("an event recorded for the Sync", func() error {
		var evs eventsv1.EventList
		if err := c.List(ctx, &evs, client.InNamespace(in.appNS)); err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Regarding.Kind == v1alpha1.SyncKind && e.Regarding.Name == syncKey.Name {
				return nil
			}
		}
		return errors.New("no event regarding the Sync")
	}); err != nil {
		return err
	}

	lease := "latchkey-controller-" + in.shard
	if err := w.until("leader elected, with its event", func() error {
		var l coordinationv1.Lease
		if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: lease}, &l); err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
			return errors.New("the Lease has no holder")
		}
		var evs corev1.EventList
		if err := c.List(ctx, &evs, client.InNamespace(releaseNamespace)); err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == lease && e.Reason == "LeaderElection" {
				return nil
			}
		}
		return errors.New("no LeaderElection event")
	}); err != nil {
		return err
	}

	if err := in.webhookDeliveries(t, ctx, p, repo); err != nil {
		return err
	}

	second := repo.Remove(t, "drop extra and old", "app/extra.yaml", "app/old.yaml")
	if err := w.until("removed files pruned", func() error {
		if err := w.applied(second); err != nil {
			return err
		}
		if err := gone(&corev1.ConfigMap{}, "extra"); err != nil {
			return err
		}
		return gone(&corev1.Secret{}, "old")
	}); err != nil {
		return err
	}

	edit := []byte(`{"data":{"color":"red"}}`)
	if err := c.Patch(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: in.appNS, Name: "settings"}},
		client.RawPatch(types.MergePatchType, edit), client.FieldOwner("kubectl-edit")); err != nil {
		return err
	}
	if err := w.until("a manual edit reverted", func() error {
		if got := value(&corev1.ConfigMap{}, "settings", "color"); got != "blue" {
			return fmt.Errorf("color is %q", got)
		}
		return nil
	}); err != nil {
		return err
	}

	if err := c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: in.appNS, Name: "db"}}); err != nil {
		return err
	}
	if err := w.until("a deleted Secret recreated from Vault", func() error {
		if value(&corev1.Secret{}, "db", "password") != in.w.vaultCanary {
			return errors.New("not yet")
		}
		return nil
	}); err != nil {
		return err
	}

	// A reference that cannot be resolved: nothing of the new revision is
	// applied, what was applied stays, and the retries' identical warnings
	// are aggregated into one event series (a patch of the event).
	repo.Commit(t, "a bad reference", map[string]string{
		"app/bad.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\nstringData:\n  password: <path:secret/data/app/missing#password>\n",
	})
	if err := w.until("a bad reference fails closed, its warnings aggregated", func() error {
		var s v1alpha1.Sync
		if err := c.Get(ctx, syncKey, &s); err != nil {
			return err
		}
		ready := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
		if ready == nil || ready.Status != metav1.ConditionFalse || !strings.Contains(ready.Message, "secret/data/app/missing") {
			return fmt.Errorf("Ready is %+v, want False naming the reference", ready)
		}
		if value(&corev1.Secret{}, "db", "password") != in.w.vaultCanary {
			return errors.New("the last good Secret db was changed")
		}
		var evs eventsv1.EventList
		if err := c.List(ctx, &evs, client.InNamespace(in.appNS)); err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Regarding.Name == syncKey.Name && e.Type == corev1.EventTypeWarning && e.Series != nil && e.Series.Count >= 2 {
				return nil
			}
		}
		return errors.New("no warning event regarding the Sync has a series")
	}); err != nil {
		return err
	}

	var s v1alpha1.Sync
	if err := c.Get(ctx, syncKey, &s); err != nil {
		return err
	}
	status, _ := json.Marshal(s.Status)
	for _, canary := range []string{in.w.vaultCanary, in.w.sealedCanary} {
		if strings.Contains(p.Output(), canary) || strings.Contains(string(status), canary) {
			return errors.New("a secret value reached the controller's output or the Sync status")
		}
	}
	return nil
}

// webhookDeliveries sends the chart's webhook receiver two signed pushes
// (recorded in its deliveries ledger: created, then updated) and the first
// again (refused): what the webhook's RBAC is for.
func (in *install) webhookDeliveries(t *testing.T, ctx context.Context, p *pod, repo *testenv.GitRepo) error {
	d := deployment(t, in.r)
	var name string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "webhook-secret" && v.Secret != nil {
			name = v.Secret.SecretName
		}
	}
	var sec corev1.Secret
	if err := in.w.kube.Client.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: name}, &sec); err != nil {
		return fmt.Errorf("the webhook Secret %q: %w", name, err)
	}
	secret := strings.TrimSpace(string(sec.Data["secret"]))
	deliver := func(id, after string) (int, error) {
		body := `{"ref":"refs/heads/main","after":"` + after + `","repository":{"clone_url":"` + repo.URL + `"}}`
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(body))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.ports["webhook"]+"/hook", strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for _, step := range []struct {
		id, after string
		want      int
	}{{"delivery-1", "1", http.StatusAccepted}, {"delivery-2", "2", http.StatusAccepted}, {"delivery-1", "1", http.StatusConflict}} {
		code, err := deliver(step.id, step.after)
		if err != nil {
			return fmt.Errorf("webhook %s: %w", step.id, err)
		}
		if code != step.want {
			return fmt.Errorf("webhook %s: %d, want %d", step.id, code, step.want)
		}
	}
	return nil
}

// syncVault is the scenario Sync's spec.vault: its own Kubernetes auth
// login, or nothing (the controller's credentials).
func (in *install) syncVault() *v1alpha1.Vault {
	if in.syncVaultRole == "" {
		return nil
	}
	return &v1alpha1.Vault{Auth: &v1alpha1.VaultAuth{Kubernetes: &v1alpha1.VaultKubernetesAuth{Role: in.syncVaultRole}}}
}

// waiter polls for a step of the scenario. A step fails at once when the
// controller exits or is denied an API call (in its output or in the
// Sync's status): under a sufficient RBAC neither happens.
type waiter struct {
	p    *pod
	c    client.Client
	sync types.NamespacedName
}

const stepTimeout = 45 * time.Second

func (w waiter) until(step string, check func() error) error {
	deadline := time.Now().Add(stepTimeout)
	var last error
	for {
		if done, err := w.p.Exited(); done {
			return fmt.Errorf("%s: the controller exited: %v", step, err)
		}
		if line := forbiddenLine(w.p.Output()); line != "" {
			return fmt.Errorf("%s: the controller was denied an API call: %s", step, line)
		}
		var s v1alpha1.Sync
		if err := w.c.Get(context.Background(), w.sync, &s); err == nil {
			if c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady); c != nil &&
				(strings.Contains(c.Message, "forbidden") || c.Reason == v1alpha1.ReasonForbidden) {
				return fmt.Errorf("%s: the Sync reports a denied API call: %s", step, c.Message)
			}
		}
		if last = check(); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s: %w", step, stepTimeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// applied checks the Sync is Ready at revision rev.
func (w waiter) applied(rev string) error {
	var s v1alpha1.Sync
	if err := w.c.Get(context.Background(), w.sync, &s); err != nil {
		return err
	}
	c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
	if s.Status.LastAppliedRevision != rev || c == nil || c.Status != metav1.ConditionTrue {
		msg := "<no Ready condition>"
		if c != nil {
			msg = string(c.Status) + " " + c.Reason + ": " + c.Message
		}
		return fmt.Errorf("applied %q, want %q; Ready %s", s.Status.LastAppliedRevision, rev, msg)
	}
	return nil
}

// forbiddenLine returns the first line of out where the API server denied
// a request.
func forbiddenLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "is forbidden") || strings.Contains(line, "forbidden:") {
			if len(line) > 400 {
				line = line[:400] + "..."
			}
			return line
		}
	}
	return ""
}

// withoutStreamingLists turns the API server's WatchList feature off. The
// chart supports Kubernetes from 1.29, and before 1.34 (but for 1.32) an
// informer starts with a LIST where 1.34 and later stream the list in a
// WATCH: the proof runs on the older behaviour, where "list" is needed.
func withoutStreamingLists(e *envtest.Environment) {
	e.ControlPlane.GetAPIServer().Configure().Append("feature-gates", "WatchList=false")
}
