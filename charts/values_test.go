package charts

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/latchkey-dev/latchkey/reconcile"
)

// releaseNamespace is where every case installs the chart.
const releaseNamespace = "latchkey-system"

// valuesCase is one point of the values matrix the chart is linted, rendered
// and applied with.
type valuesCase struct {
	name   string
	values string
	// namespaces the rendered objects live in besides the release namespace
	// (they must exist before the objects are applied).
	namespaces []string
	check      func(t *testing.T, r rendered)
}

var valuesMatrix = []valuesCase{
	{
		name:   "defaults",
		values: ``,
		check: func(t *testing.T, r rendered) {
			d := deployment(t, r)
			if got := *d.Spec.Replicas; got != 1 {
				t.Errorf("replicas = %d, want 1", got)
			}
			wantArgs(t, d, "--namespace="+releaseNamespace, "--leader-elect=true", "--sealed-secrets-namespace=kube-system",
				"--hmac-key-file="+mountedFile(t, d, "hmac-key", "key"),
				"--webhook-addr=:9292", "--webhook-secret-file="+mountedFile(t, d, "webhook-secret", "secret"))
			noArgWithPrefix(t, d, "--watch-namespaces", "--shard")
			if env := envNames(d); slices.ContainsFunc(env, func(n string) bool {
				return strings.HasPrefix(n, "VAULT_") || strings.HasPrefix(n, "AVP_")
			}) {
				t.Errorf("no vault.address, yet Vault settings in the environment: %v", env)
			}
			r.one(t, "ClusterRole", "defaults-latchkey")
			r.one(t, "ClusterRoleBinding", "defaults-latchkey")
			if roles := r.find("Role"); len(roles) != 2 || roles[0].GetName() != "defaults-latchkey-leader-election" ||
				roles[1].GetName() != "defaults-latchkey-webhook-deliveries" {
				t.Errorf("cluster scope renders only the leader election and webhook deliveries Roles, got %s", r.kinds())
			}
			wantArgs(t, d, "--leader-elect-lease-duration=15s", "--leader-elect-renew-deadline=10s", "--leader-elect-retry-period=2s")
			ledger := roleIn(t, r, "defaults-latchkey-webhook-deliveries", releaseNamespace)
			for _, rule := range ledger.Rules {
				if slices.Contains(rule.Verbs, "get") || slices.Contains(rule.Verbs, "update") {
					if !slices.Equal(rule.ResourceNames, []string{reconcile.DeliveryLedgerName("")}) {
						t.Errorf("the webhook deliveries Role reads or updates other ConfigMaps than the ledger: %+v", rule)
					}
				}
			}
			r.one(t, "Secret", "defaults-latchkey-hmac")
			r.one(t, "Secret", "defaults-latchkey-webhook")
			r.one(t, "PodDisruptionBudget", "defaults-latchkey")
			for _, kind := range []string{"ServiceMonitor", "Ingress"} {
				if len(r.find(kind)) != 0 {
					t.Errorf("%s rendered by default", kind)
				}
			}
			if !strings.Contains(r.notes, "kind: Sync") {
				t.Errorf("NOTES.txt does not show how to create a Sync:\n%s", r.notes)
			}
		},
	},
	{
		name: "namespaced",
		values: `
rbac:
  scope: namespaced
  namespaces: [team-a, team-b]
controller:
  sealedSecrets:
    keysNamespace: sealed-secrets
`,
		namespaces: []string{"team-a", "team-b", "sealed-secrets"},
		check: func(t *testing.T, r rendered) {
			if n := len(r.find("ClusterRole")) + len(r.find("ClusterRoleBinding")); n != 0 {
				t.Errorf("namespaced scope renders %d cluster-wide RBAC objects: %s", n, r.kinds())
			}
			for _, ns := range []string{"team-a", "team-b"} {
				role := roleIn(t, r, "namespaced-latchkey", ns)
				if !grants(role.Rules, "gitops.latchkey.dev", "syncs", "watch") {
					t.Errorf("Role in %s does not let the controller watch Syncs", ns)
				}
			}
			keys := roleIn(t, r, "namespaced-latchkey-sealed-secrets-keys", "sealed-secrets")
			for _, rule := range keys.Rules {
				for _, v := range rule.Verbs {
					if !slices.Contains([]string{"get", "list", "watch"}, v) {
						t.Errorf("sealed-secrets keys Role grants %q: it must be read only", v)
					}
				}
			}
			wantArgs(t, deployment(t, r), "--watch-namespaces=team-a,team-b", "--sealed-secrets-namespace=sealed-secrets")
		},
	},
	{
		name: "approle",
		values: `
vault:
  address: https://vault.vault.svc:8200
  namespace: team-a
  ca:
    secretName: vault-ca
  auth:
    method: approle
    appRole:
      secretName: latchkey-approle
      mount: approle-latchkey
`,
		check: func(t *testing.T, r rendered) {
			d := deployment(t, r)
			c := d.Spec.Template.Spec.Containers[0]
			wantEnv(t, c, "VAULT_ADDR", "https://vault.vault.svc:8200")
			wantEnv(t, c, "VAULT_NAMESPACE", "team-a")
			wantEnv(t, c, "AVP_AUTH_TYPE", "approle")
			wantEnv(t, c, "AVP_MOUNT_PATH", "approle-latchkey")
			for name, key := range map[string]string{"AVP_ROLE_ID": "role_id", "AVP_SECRET_ID": "secret_id"} {
				ref := envVar(c, name)
				if ref == nil || ref.ValueFrom == nil || ref.ValueFrom.SecretKeyRef == nil ||
					ref.ValueFrom.SecretKeyRef.Name != "latchkey-approle" || ref.ValueFrom.SecretKeyRef.Key != key {
					t.Errorf("%s does not come from Secret latchkey-approle key %s: %+v", name, key, ref)
				}
			}
			caFile := mountedFile(t, d, "vault-ca", "ca.crt")
			wantEnv(t, c, "VAULT_CACERT", caFile)
			if v := volume(d, "vault-ca"); v == nil || v.Secret == nil || v.Secret.SecretName != "vault-ca" {
				t.Errorf("vault-ca volume is not Secret vault-ca: %+v", v)
			}
			if volume(d, "vault-token") != nil {
				t.Error("AppRole auth mounts a Vault ServiceAccount token it does not use")
			}
		},
	},
	{
		name: "kubernetes-auth",
		values: `
vault:
  address: https://vault.example.com
  ca:
    configMapName: vault-ca-bundle
    key: bundle.pem
  auth:
    method: kubernetes
    kubernetes:
      role: latchkey
      mount: kubernetes-prod
`,
		check: func(t *testing.T, r rendered) {
			d := deployment(t, r)
			c := d.Spec.Template.Spec.Containers[0]
			wantEnv(t, c, "AVP_AUTH_TYPE", "k8s")
			wantEnv(t, c, "AVP_K8S_ROLE", "latchkey")
			wantEnv(t, c, "AVP_K8S_MOUNT_PATH", "kubernetes-prod")
			wantEnv(t, c, "AVP_K8S_TOKEN_PATH", mountedFile(t, d, "vault-token", "token"))
			wantEnv(t, c, "VAULT_CACERT", mountedFile(t, d, "vault-ca", "bundle.pem"))
			v := volume(d, "vault-token")
			if v == nil || v.Projected == nil || len(v.Projected.Sources) != 1 || v.Projected.Sources[0].ServiceAccountToken == nil {
				t.Fatalf("vault-token is not a projected ServiceAccount token: %+v", v)
			}
			if aud := v.Projected.Sources[0].ServiceAccountToken.Audience; aud != "vault" {
				t.Errorf("the token for Vault has audience %q, want its own audience vault", aud)
			}
			if v := volume(d, "vault-ca"); v == nil || v.ConfigMap == nil || v.ConfigMap.Name != "vault-ca-bundle" {
				t.Errorf("vault-ca volume is not ConfigMap vault-ca-bundle: %+v", v)
			}
		},
	},
	{
		name: "two-replicas-of-a-shard-failing-over-fast",
		values: `
replicaCount: 2
controller:
  shard: blue
  leaderElection: {enabled: true, leaseDuration: 6s, renewDeadline: 4s, retryPeriod: 1s}
`,
		check: func(t *testing.T, r rendered) {
			d := deployment(t, r)
			wantArgs(t, d, "--shard=blue", "--leader-elect=true", "--leader-elect-lease-duration=6s",
				"--leader-elect-renew-deadline=4s", "--leader-elect-retry-period=1s")
			ledger := roleIn(t, r, "two-replicas-of-a-shard-failing-over-fast-latchkey-webhook-deliveries", releaseNamespace)
			if !slices.ContainsFunc(ledger.Rules, func(rule rbacv1.PolicyRule) bool {
				return slices.Equal(rule.ResourceNames, []string{reconcile.DeliveryLedgerName("blue")})
			}) {
				t.Errorf("the webhook deliveries Role does not name shard blue's ledger %s: %+v", reconcile.DeliveryLedgerName("blue"), ledger.Rules)
			}
			// Every replica serves the webhook: the readiness probe (which
			// includes the receiver) is what keeps deliveries off a pod that
			// cannot take them.
			if p := d.Spec.Template.Spec.Containers[0].ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
				t.Errorf("no /readyz readiness probe: %+v", p)
			}
		},
	},
	{
		name:   "tenancy-off",
		values: `tenancy: {enabled: false}`,
		check: func(t *testing.T, r rendered) {
			// The ClusterRole already gets and creates the managed
			// ConfigMaps: the ledger Role adds only updating the ledger.
			ledger := roleIn(t, r, "tenancy-off-latchkey-webhook-deliveries", releaseNamespace)
			if len(ledger.Rules) != 1 || !slices.Equal(ledger.Rules[0].Verbs, []string{"update"}) ||
				!slices.Equal(ledger.Rules[0].ResourceNames, []string{reconcile.DeliveryLedgerName("")}) {
				t.Errorf("with tenancy off the webhook deliveries Role should only update the ledger: %+v", ledger.Rules)
			}
			wantArgs(t, deployment(t, r), "--tenancy=false")
		},
	},
	{
		name:   "replicas-3",
		values: `replicaCount: 3`,
		check: func(t *testing.T, r rendered) {
			d := deployment(t, r)
			if got := *d.Spec.Replicas; got != 3 {
				t.Errorf("replicas = %d, want 3", got)
			}
			wantArgs(t, d, "--leader-elect=true", "--namespace="+releaseNamespace)
			r.one(t, "Role", "replicas-3-latchkey-leader-election")
			pdb := r.one(t, "PodDisruptionBudget", "")
			if sel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels"); !subset(sel, d.Spec.Template.Labels) {
				t.Errorf("PodDisruptionBudget selector %v does not select the pods %v", sel, d.Spec.Template.Labels)
			}
			spread := d.Spec.Template.Spec.TopologySpreadConstraints
			if len(spread) == 0 || spread[0].LabelSelector == nil || !subset(spread[0].LabelSelector.MatchLabels, d.Spec.Template.Labels) {
				t.Errorf("topology spread does not select the pods: %+v", spread)
			}
		},
	},
	{
		name: "servicemonitor",
		values: `
metrics:
  serviceMonitor:
    enabled: true
    interval: 15s
    labels: {release: prometheus}
webhook:
  ingress:
    enabled: true
    className: nginx
    host: latchkey-hooks.example.com
    tlsSecretName: latchkey-hooks-tls
`,
		check: func(t *testing.T, r rendered) {
			svc := r.one(t, "Service", "servicemonitor-latchkey")
			sm := r.one(t, "ServiceMonitor", "servicemonitor-latchkey")
			sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
			if !subset(sel, svc.GetLabels()) {
				t.Errorf("ServiceMonitor selector %v does not select the Service %v", sel, svc.GetLabels())
			}
			if sm.GetLabels()["release"] != "prometheus" {
				t.Errorf("ServiceMonitor misses metrics.serviceMonitor.labels: %v", sm.GetLabels())
			}
			endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			if len(endpoints) != 1 || !servicePort(svc, endpoints[0].(map[string]any)["port"].(string)) {
				t.Errorf("ServiceMonitor endpoints %v do not name a Service port", endpoints)
			}
			ing := r.one(t, "Ingress", "servicemonitor-latchkey-webhook")
			rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
			paths, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "http", "paths")
			port, _, _ := unstructured.NestedString(paths[0].(map[string]any), "backend", "service", "port", "name")
			if port != "webhook" || !servicePort(svc, port) {
				t.Errorf("Ingress backend port %q is not the Service's webhook port", port)
			}
		},
	},
	{
		name: "everything-else",
		values: `
fullnameOverride: lk
commonLabels: {team: platform}
image:
  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
imagePullSecrets: [registry]
controller:
  concurrency: 16
  shard: shard-1
  logLevel: debug
  logFormat: text
  sealedSecrets:
    keysNamespace: sealed-secrets
  vaultCacheTTL: 90s
  gitTimeout: 2m
  healthPort: 9091
  extraArgs: ["--some-future-flag=1"]
  extraEnv:
    - name: HTTPS_PROXY
      value: http://proxy.example:3128
vault:
  address: http://vault.vault.svc:8200
  tlsServerName: vault.internal
  auth:
    method: token
    token:
      secretName: vault-token
hmacKey:
  existingSecret: latchkey-hmac
  key: key
serviceAccount:
  name: latchkey-controller
  annotations: {iam.example.com/role: latchkey}
service:
  metricsPort: 9090
  webhookPort: 9443
webhook:
  enabled: false
priorityClassName: system-cluster-critical
nodeSelector: {kubernetes.io/os: linux}
tolerations:
  - key: dedicated
    operator: Equal
    value: platform
    effect: NoSchedule
podAnnotations: {example.com/a: b}
podLabels: {example.com/tier: control}
podDisruptionBudget:
  enabled: false
argocdPlugin:
  enabled: true
`,
		namespaces: []string{"argocd", "sealed-secrets"},
		check: func(t *testing.T, r rendered) {
			d := deployment(t, r)
			c := d.Spec.Template.Spec.Containers[0]
			if want := "ghcr.io/latchkey-dev/latchkey@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; c.Image != want {
				t.Errorf("image = %s, want %s", c.Image, want)
			}
			wantArgs(t, d, "--shard=shard-1", "--concurrency=16", "--log-level=debug", "--log-format=text",
				"--some-future-flag=1", "--metrics-addr=:9090", "--health-addr=:9091", "--webhook-addr=",
				"--sealed-secrets-namespace=sealed-secrets", "--vault-cache-ttl=90s", "--git-timeout=2m")
			noArgWithPrefix(t, d, "--webhook-secret-file")
			if roles := r.find("Role"); slices.ContainsFunc(roles, func(o *unstructured.Unstructured) bool { return strings.HasSuffix(o.GetName(), "-webhook-deliveries") }) {
				t.Error("webhook.enabled=false, yet the webhook deliveries Role is there")
			}
			if volume(d, "webhook-secret") != nil || servicePort(r.one(t, "Service", ""), "webhook") {
				t.Error("webhook.enabled=false, yet the receiver's secret or port is there")
			}
			wantEnv(t, c, "HTTPS_PROXY", "http://proxy.example:3128")
			wantEnv(t, c, "VAULT_TLS_SERVER_NAME", "vault.internal")
			if ref := envVar(c, "VAULT_TOKEN"); ref == nil || ref.ValueFrom == nil || ref.ValueFrom.SecretKeyRef == nil ||
				ref.ValueFrom.SecretKeyRef.Name != "vault-token" {
				t.Errorf("VAULT_TOKEN does not come from Secret vault-token: %+v", ref)
			}
			if len(r.find("Secret")) != 0 {
				t.Errorf("hmacKey.existingSecret set, yet a Secret is rendered: %s", r.kinds())
			}
			if v := volume(d, "hmac-key"); v == nil || v.Secret.SecretName != "latchkey-hmac" || v.Secret.Items[0].Key != "key" {
				t.Errorf("hmac-key volume does not use the existing Secret: %+v", v)
			}
			if d.Spec.Template.Spec.ServiceAccountName != "latchkey-controller" {
				t.Errorf("serviceAccountName = %q", d.Spec.Template.Spec.ServiceAccountName)
			}
			if d.Spec.Template.Spec.PriorityClassName != "system-cluster-critical" {
				t.Errorf("priorityClassName = %q", d.Spec.Template.Spec.PriorityClassName)
			}
			if len(r.find("PodDisruptionBudget")) != 0 {
				t.Error("podDisruptionBudget.enabled=false, yet a PodDisruptionBudget is rendered")
			}
			for _, o := range r.objects {
				if o.GetLabels()["team"] != "platform" {
					t.Errorf("%s %s misses commonLabels", o.GetKind(), o.GetName())
				}
			}
		},
	},
}

// checkInvariants holds for every point of the matrix: the hardening the
// issue asks for, and references between rendered objects that resolve.
func checkInvariants(t *testing.T, release string, r rendered) {
	t.Helper()
	d := deployment(t, r)
	pod := d.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("pod automounts its ServiceAccount token")
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil ||
		psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context is not non-root with RuntimeDefault seccomp: %+v", psc)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("container has no security context")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("root filesystem is writable")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("privilege escalation allowed")
	case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) != 0:
		t.Errorf("capabilities not all dropped: %+v", sc.Capabilities)
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("container may run as root")
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("memory request and limit must be set: %+v", c.Resources)
	}
	if c.LivenessProbe == nil || c.ReadinessProbe == nil {
		t.Error("liveness and readiness probes must be set")
	}
	ports := map[string]bool{}
	for _, p := range c.Ports {
		ports[p.Name] = true
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p != nil && p.HTTPGet != nil && !ports[p.HTTPGet.Port.StrVal] {
			t.Errorf("probe port %q is not a container port", p.HTTPGet.Port.StrVal)
		}
	}
	if c.Args[0] != "controller" {
		t.Errorf("container does not run `latchkey controller`: %v", c.Args)
	}
	for _, m := range c.VolumeMounts {
		if volume(d, m.Name) == nil {
			t.Errorf("volumeMount %s has no volume", m.Name)
		}
		if !m.ReadOnly && m.Name != "tmp" {
			t.Errorf("volumeMount %s is writable", m.Name)
		}
	}

	svc := r.one(t, "Service", "")
	if sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector"); !subset(sel, d.Spec.Template.Labels) {
		t.Errorf("Service selector %v does not select the pods %v", sel, d.Spec.Template.Labels)
	}
	svcPorts, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	for _, p := range svcPorts {
		if target := p.(map[string]any)["targetPort"].(string); !ports[target] {
			t.Errorf("Service targetPort %q is not a container port", target)
		}
	}

	sa := pod.ServiceAccountName
	if got := r.one(t, "ServiceAccount", sa); got.Object["automountServiceAccountToken"] != false {
		t.Errorf("ServiceAccount %s lets pods automount its token", sa)
	}
	for _, o := range r.objects {
		if o.GetLabels()["app.kubernetes.io/instance"] != release {
			t.Errorf("%s %s is not labelled with its release", o.GetKind(), o.GetName())
		}
		switch o.GetKind() {
		case "Role", "ClusterRole":
			for _, rule := range rbacRules(t, o) {
				for _, f := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs} {
					if slices.Contains(f, "*") {
						t.Errorf("%s %s grants a wildcard: %+v", o.GetKind(), o.GetName(), rule)
					}
				}
			}
		case "RoleBinding", "ClusterRoleBinding":
			var b rbacv1.RoleBinding // same shape as a ClusterRoleBinding
			fromUnstructured(t, o, &b)
			if len(b.Subjects) != 1 || b.Subjects[0].Name != sa || b.Subjects[0].Namespace != releaseNamespace {
				t.Errorf("%s %s binds %+v, want only ServiceAccount %s/%s", o.GetKind(), o.GetName(), b.Subjects, releaseNamespace, sa)
			}
			role := r.find(b.RoleRef.Kind)
			if !slices.ContainsFunc(role, func(x *unstructured.Unstructured) bool {
				return x.GetName() == b.RoleRef.Name && x.GetNamespace() == o.GetNamespace()
			}) {
				t.Errorf("%s %s/%s refers to %s %s, which is not rendered beside it", o.GetKind(), o.GetNamespace(), o.GetName(), b.RoleRef.Kind, b.RoleRef.Name)
			}
		}
	}
}

// TestChartRendersValuesMatrix renders the chart over the values matrix the
// issue names and checks what each point must produce.
func TestChartRendersValuesMatrix(t *testing.T) {
	for _, tc := range valuesMatrix {
		t.Run(tc.name, func(t *testing.T) {
			r, err := renderChart(t, tc.name, releaseNamespace, parseValues(t, tc.values))
			if err != nil {
				t.Fatalf("helm template: %v", err)
			}
			checkInvariants(t, tc.name, r)
			tc.check(t, r)
		})
	}
}

// Helpers that read typed fields out of the rendered objects.

func fromUnstructured(t testing.TB, o *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, into, true); err != nil {
		t.Fatalf("%s %s does not decode into %T: %v", o.GetKind(), o.GetName(), into, err)
	}
}

func deployment(t testing.TB, r rendered) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	fromUnstructured(t, r.one(t, "Deployment", ""), &d)
	return &d
}

func roleIn(t testing.TB, r rendered, name, namespace string) *rbacv1.Role {
	t.Helper()
	for _, o := range r.find("Role") {
		if o.GetName() == name && o.GetNamespace() == namespace {
			var role rbacv1.Role
			fromUnstructured(t, o, &role)
			return &role
		}
	}
	t.Fatalf("no Role %s/%s rendered (%s)", namespace, name, r.kinds())
	return nil
}

func rbacRules(t testing.TB, o *unstructured.Unstructured) []rbacv1.PolicyRule {
	t.Helper()
	var role rbacv1.Role // a ClusterRole's rules have the same shape
	fromUnstructured(t, &unstructured.Unstructured{Object: map[string]any{"rules": o.Object["rules"]}}, &role)
	return role.Rules
}

func grants(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

func wantArgs(t testing.TB, d *appsv1.Deployment, args ...string) {
	t.Helper()
	got := d.Spec.Template.Spec.Containers[0].Args
	for _, a := range args {
		if !slices.Contains(got, a) {
			t.Errorf("controller args miss %s: %v", a, got)
		}
	}
}

func noArgWithPrefix(t testing.TB, d *appsv1.Deployment, prefixes ...string) {
	t.Helper()
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		for _, p := range prefixes {
			if strings.HasPrefix(a, p) {
				t.Errorf("unexpected controller arg %s", a)
			}
		}
	}
}

func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func envNames(d *appsv1.Deployment) []string {
	var names []string
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		names = append(names, e.Name)
	}
	return names
}

func wantEnv(t testing.TB, c corev1.Container, name, value string) {
	t.Helper()
	if e := envVar(c, name); e == nil || e.Value != value {
		t.Errorf("env %s = %+v, want %q", name, e, value)
	}
}

func volume(d *appsv1.Deployment, name string) *corev1.Volume {
	for i, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return &d.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// mountedFile is where the container sees file of volume name.
func mountedFile(t testing.TB, d *appsv1.Deployment, name, file string) string {
	t.Helper()
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		if m.Name == name {
			return strings.TrimSuffix(m.MountPath, "/") + "/" + file
		}
	}
	t.Fatalf("volume %s is not mounted", name)
	return ""
}

func servicePort(svc *unstructured.Unstructured, name string) bool {
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	for _, p := range ports {
		if p.(map[string]any)["name"] == name {
			return true
		}
	}
	return false
}

// subset reports whether every label of sel is in labels (and sel is not
// empty, which would select everything).
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
