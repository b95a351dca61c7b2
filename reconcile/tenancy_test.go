package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// configMapRules grants a ServiceAccount what applying and pruning
// ConfigMaps needs, delete only when asked.
func configMapRules(withDelete bool) []rbacv1.PolicyRule {
	verbs := []string{"get", "list", "watch", "create", "patch", "update"}
	if withDelete {
		verbs = append(verbs, "delete")
	}
	return []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: verbs}}
}

// grantRole creates (or replaces the rules of) Role ns/name and binds it to
// the ServiceAccount saNamespace/sa.
func grantRole(t *testing.T, kube *testenv.Kube, ns, name, saNamespace, sa string, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := kube.Client.Get(ctx, client.ObjectKeyFromObject(role), role); err == nil {
		role.Rules = rules
		if err := kube.Client.Update(ctx, role); err != nil {
			t.Fatal(err)
		}
		return
	}
	role.Rules = rules
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNamespace, Name: sa}},
	}
	for _, o := range []client.Object{role, binding} {
		if err := kube.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
}

// serviceAccount creates ns/name.
func serviceAccount(t *testing.T, kube *testenv.Kube, ns, name string) {
	t.Helper()
	kube.CreateNamespace(t, ns)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := kube.Client.Create(context.Background(), sa); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// controllerKube is the control plane as a controller running as
// ServiceAccount latchkey-system/controller (bound to cluster-admin) sees
// it: the test's own client stays the envtest admin, so the API server can
// tell the controller's requests from the test's.
func controllerKube(t *testing.T, kube *testenv.Kube) (*testenv.Kube, string) {
	t.Helper()
	token := kube.ServiceAccountToken(t, "latchkey-system", "controller")
	kube.BindClusterRole(t, "cluster-admin", "latchkey-system", "controller")
	k := *kube
	k.Config = &rest.Config{
		Host: kube.Config.Host, BearerToken: token,
		TLSClientConfig: rest.TLSClientConfig{CAData: kube.Config.CAData},
		QPS:             kube.Config.QPS, Burst: kube.Config.Burst,
	}
	return &k, tenancy.Username("latchkey-system", "controller")
}

// forbidControllerWrites makes the API server refuse every write of a
// ConfigMap in namespace ns by user (dry-runs included): what the
// controller applies, repairs or prunes there must be impersonated.
func forbidControllerWrites(t *testing.T, kube *testenv.Kube, ns, user string) {
	t.Helper()
	ctx := context.Background()
	name := "no-controller-writes-in-" + ns
	fail := admissionregistrationv1.Fail
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
				}}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: fmt.Sprintf("request.userInfo.username != %q", user),
				Message:    "written with the controller's own identity, not impersonated",
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: name, ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	for _, o := range []client.Object{policy, binding} {
		if err := kube.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// The policy is enforced once the API server has loaded it: wait until
	// a write as the controller is refused.
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "probe"}}
	eventually(t, 20*time.Second, "the admission policy enforced", func() error {
		cfg := rest.CopyConfig(kube.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		c, err := client.New(cfg, client.Options{})
		if err != nil {
			return err
		}
		err = c.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), "not impersonated") {
			return fmt.Errorf("a dry-run create as the controller: %v", err)
		}
		return nil
	})
}

// waitRefused waits until the Sync attempted rev and failed with reason,
// and returns the Ready message.
func waitRefused(t *testing.T, c client.Client, ns, name, rev, reason string) string {
	t.Helper()
	var msg string
	eventually(t, 30*time.Second, "revision "+rev[:8]+" refused with "+reason, func() error {
		s := getSync(t, c, ns, name)
		ready := apimetaReady(s)
		if s.Status.LastAttemptedRevision != rev || ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != reason {
			return fmt.Errorf("attempted %.8s, Ready %s", s.Status.LastAttemptedRevision, condition(s, v1alpha1.ConditionReady))
		}
		msg = ready.Message
		return nil
	})
	return msg
}

func apimetaReady(s *v1alpha1.Sync) *metav1.Condition {
	for i := range s.Status.Conditions {
		if s.Status.Conditions[i].Type == v1alpha1.ConditionReady {
			return &s.Status.Conditions[i]
		}
	}
	return nil
}

func configMapExists(t *testing.T, c client.Client, ns, name string) bool {
	t.Helper()
	err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &corev1.ConfigMap{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func cm(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {v: %q}\n", name, value)
}

// TestTenantActsOnlyWithItsServiceAccount: with tenancy on, team-a's Sync
// acts as its ServiceAccount, whose Role grants ConfigMaps in team-a only.
// Every write of the controller in team-a is refused by an admission policy,
// so the happy path (apply, drift repair, prune) proves impersonation; each
// attack is refused before anything of its revision is applied or pruned.
func TestTenantActsOnlyWithItsServiceAccount(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "tenant")
	ctlKube, controllerUser := controllerKube(t, sc.kube)
	serviceAccount(t, sc.kube, "team-a", "deployer")
	grantRole(t, sc.kube, "team-a", "deployer", "team-a", "deployer", configMapRules(false))
	forbidControllerWrites(t, sc.kube, "team-a", controllerUser)

	ctl := startShardController(t, ctlKube, nil, "", func(o *reconcile.Options) {
		// Namespaces are allowed (the staged set below needs one); every
		// other cluster-scoped kind is not.
		o.Tenancy = tenancy.Policy{Enabled: true, ClusterKinds: []schema.GroupKind{{Kind: "Namespace"}}}
	})
	good := sc.repo.Commit(t, "good", map[string]string{"app/a.yaml": cm("a", "1"), "app/b.yaml": cm("b", "1")})
	s := sc.gitSync("team-a", "app", "app", time.Second)
	s.Spec.ServiceAccountName = "deployer"
	sc.create(t, s)
	sc.waitApplied(t, "the good revision applied as the ServiceAccount", "team-a", "app", good)

	t.Run("drift in enforce mode is reverted, as the ServiceAccount", func(t *testing.T) {
		var a corev1.ConfigMap
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "a"}, &a); err != nil {
			t.Fatal(err)
		}
		a.Data["v"] = "edited"
		if err := sc.c.Update(ctx, &a); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "the edit reverted", func() error {
			if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "a"}, &a); err != nil || a.Data["v"] != "1" {
				return fmt.Errorf("a: %v %v", a.Data, err)
			}
			return nil
		})
	})

	// Each attack keeps a (unchanged), drops b (a prune, if anything of the
	// revision were applied) and adds c (allowed): none of it may happen.
	attacks := []struct {
		name, file, manifest string
		want                 []string // in the Ready message
	}{
		{name: "a ConfigMap in kube-system", file: "app/evil.yaml",
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: evil, namespace: kube-system}\ndata: {v: x}\n",
			want:     []string{"ConfigMap kube-system/evil", "ServiceAccount team-a/deployer may not apply it", "namespace kube-system is not the Sync's namespace team-a"}},
		{name: "a ClusterRoleBinding", file: "app/evil.yaml",
			manifest: "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: evil}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: deployer, namespace: team-a}]\n",
			want:     []string{"ClusterRoleBinding evil", "ServiceAccount team-a/deployer may not apply it", "cluster-scoped and tenancy is on"}},
		{name: "a kind its Role does not grant", file: "app/evil.yaml",
			manifest: "apiVersion: v1\nkind: Secret\nmetadata: {name: evil}\nstringData: {v: x}\n",
			want:     []string{"Secret team-a/evil: ServiceAccount team-a/deployer may not create secrets in namespace team-a", "may not get secrets", "may not patch secrets"}},
	}
	for _, at := range attacks {
		t.Run(at.name+" is refused and nothing of the revision is applied or pruned", func(t *testing.T) {
			sc.repo.Remove(t, "drop b", "app/b.yaml")
			bad := sc.repo.Commit(t, at.name, map[string]string{"app/a.yaml": cm("a", "2"), "app/c.yaml": cm("c", "1"), at.file: at.manifest})
			msg := waitRefused(t, sc.c, "team-a", "app", bad, v1alpha1.ReasonForbidden)
			for _, w := range at.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Ready message %q does not say %q", msg, w)
				}
			}
			if configMapExists(t, sc.c, "team-a", "c") {
				t.Error("ConfigMap c, allowed, was created although the revision was refused")
			}
			if !configMapExists(t, sc.c, "team-a", "b") {
				t.Error("ConfigMap b of the last good revision was pruned by a refused revision")
			}
			var a corev1.ConfigMap
			if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "a"}, &a); err != nil || a.Data["v"] != "1" {
				t.Errorf("ConfigMap a changed by a refused revision: %v %v", a.Data, err)
			}
			if s := getSync(t, sc.c, "team-a", "app"); s.Status.LastAppliedRevision != good {
				t.Errorf("last applied %s, want %s", s.Status.LastAppliedRevision, good)
			}
			sc.repo.Remove(t, "undo", at.file, "app/c.yaml")
			// The restored content is a new revision the controller
			// applies: the next attack starts from it, not from a poll
			// that may or may not have seen it.
			good = sc.repo.Commit(t, "restore", map[string]string{"app/a.yaml": cm("a", "1"), "app/b.yaml": cm("b", "1")})
			sc.waitApplied(t, "the restored content applied", "team-a", "app", good)
		})
	}
	// Back to the good content (a new commit of it).
	restored := sc.repo.Commit(t, "good again", map[string]string{"app/a.yaml": cm("a", "1"), "app/b.yaml": cm("b", "1"), "app/keep.yaml": cm("keep", "1")})
	sc.waitApplied(t, "the good content applied again", "team-a", "app", restored)

	t.Run("a two-stage set with a refused second stage applies not even its first stage", func(t *testing.T) {
		// The admin allows Namespaces and the ServiceAccount may create
		// them: the Namespace (first stage) alone would be applied.
		if err := sc.c.Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "namespace-creator"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "create", "patch"}}},
		}); err != nil {
			t.Fatal(err)
		}
		sc.kube.BindClusterRole(t, "namespace-creator", "team-a", "deployer")
		bad := sc.repo.Commit(t, "staged", map[string]string{
			"app/ns.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a-staged}\n",
			"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: token}\nstringData: {v: x}\n",
		})
		msg := waitRefused(t, sc.c, "team-a", "app", bad, v1alpha1.ReasonForbidden)
		if !strings.Contains(msg, "Secret team-a/token: ServiceAccount team-a/deployer may not create secrets in namespace team-a") {
			t.Errorf("Ready message %q does not name the Secret, the verb and the ServiceAccount", msg)
		}
		if err := sc.c.Get(ctx, client.ObjectKey{Name: "team-a-staged"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			t.Errorf("the first stage (Namespace team-a-staged) was applied: get: %v", err)
		}
		sc.repo.Remove(t, "undo", "app/ns.yaml", "app/secret.yaml")
	})

	t.Run("a prune the ServiceAccount may not delete is refused and the object stays", func(t *testing.T) {
		bad := sc.repo.Remove(t, "drop b", "app/b.yaml")
		msg := waitRefused(t, sc.c, "team-a", "app", bad, v1alpha1.ReasonForbidden)
		if !strings.Contains(msg, "ConfigMap team-a/b: ServiceAccount team-a/deployer may not delete configmaps in namespace team-a") {
			t.Errorf("Ready message %q does not name the object, the verb and the ServiceAccount", msg)
		}
		if !configMapExists(t, sc.c, "team-a", "b") {
			t.Error("b was pruned although the ServiceAccount may not delete it")
		}
		grantRole(t, sc.kube, "team-a", "deployer", "team-a", "deployer", configMapRules(true))
		sc.waitApplied(t, "the prune allowed once the Role grants delete", "team-a", "app", bad)
		if configMapExists(t, sc.c, "team-a", "b") {
			t.Error("b not pruned")
		}
	})

	t.Run("deleting the Sync prunes as the ServiceAccount", func(t *testing.T) {
		if err := sc.c.Delete(ctx, getSync(t, sc.c, "team-a", "app")); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "the Sync gone and its objects pruned", func() error {
			err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "app"}, &v1alpha1.Sync{})
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("Sync still there: %v", err)
			}
			for _, n := range []string{"a", "keep"} {
				if configMapExists(t, sc.c, "team-a", n) {
					return fmt.Errorf("ConfigMap %s not pruned", n)
				}
			}
			return nil
		})
		eventually(t, 10*time.Second, "the ServiceAccount's client evicted", func() error {
			if n := ctl.counter(t, "latchkey_impersonated_clients"); n != 0 {
				return fmt.Errorf("%v ServiceAccount clients still cached", n)
			}
			return nil
		})
	})
	if strings.Contains(logs.String(), "not impersonated") {
		t.Error("the controller wrote a ConfigMap of team-a with its own identity")
	}
}

// TestTenancyRefusesTheSpecBeforeFetching: with tenancy on, a Sync that
// names no ServiceAccount (and no default is set), one whose
// spec.targetNamespace is another namespace and one whose source is on a
// host the admin did not allow fail with reason Forbidden before anything
// is fetched.
func TestTenancyRefusesTheSpecBeforeFetching(t *testing.T) {
	sc := newScenario(t, "spec")
	sc.repo.Commit(t, "one object", map[string]string{"a.yaml": cm("a", "1")})
	startShardController(t, sc.kube, nil, "", func(o *reconcile.Options) {
		o.Tenancy = tenancy.Policy{Enabled: true, SourceHosts: []string{"127.0.0.1"}}
	})
	sc.kube.CreateNamespace(t, "team-a")
	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.Sync)
		want   string
	}{
		{"no-sa", func(s *v1alpha1.Sync) { s.Spec.ServiceAccountName = "" }, "names no ServiceAccount and tenancy is on"},
		{"target", func(s *v1alpha1.Sync) { s.Spec.TargetNamespace = "kube-system" }, "spec.targetNamespace kube-system is not the Sync's namespace team-a"},
		{"host", func(s *v1alpha1.Sync) { s.Spec.Source.URL = "http://git.internal.example/repo.git" }, "the Git host git.internal.example is not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sc.gitSync("team-a", tc.name, "", time.Second)
			s.Spec.ServiceAccountName = "deployer"
			tc.change(s)
			sc.create(t, s)
			eventually(t, 20*time.Second, "the spec refused", func() error {
				got := getSync(t, sc.c, "team-a", tc.name)
				ready := apimetaReady(got)
				if ready == nil || ready.Reason != v1alpha1.ReasonForbidden || !strings.Contains(ready.Message, tc.want) {
					return fmt.Errorf("Ready %s", condition(got, v1alpha1.ConditionReady))
				}
				if got.Status.LastAttemptedRevision != "" {
					return fmt.Errorf("revision %s was fetched", got.Status.LastAttemptedRevision)
				}
				return nil
			})
		})
	}
}
