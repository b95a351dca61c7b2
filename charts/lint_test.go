package charts

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
)

// TestChartLints runs `helm lint` over the values matrix; a warning fails as
// an error would.
func TestChartLints(t *testing.T) {
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range valuesMatrix {
		t.Run(tc.name, func(t *testing.T) {
			linter := lint.AllWithKubeVersion(chartDir(t), parseValues(t, tc.values), releaseNamespace, kv)
			for _, m := range linter.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
		})
	}
}

// TestValuesSchemaRejects shows values.schema.json stops wrong values before
// anything is rendered, with a message that names the value.
func TestValuesSchemaRejects(t *testing.T) {
	tests := []struct {
		name   string
		values string
		want   string // in the error
	}{
		{"unknown key (typo)", `replicas: 3`, "replicas"},
		{"unknown nested key", `vault: {adress: https://v}`, "adress"},
		{"wrong type", `replicaCount: "3"`, "/replicaCount"},
		{"several replicas without leader election", "replicaCount: 3\ncontroller: {leaderElection: {enabled: false}}", "/controller/leaderElection/enabled"},
		{"namespaced scope without namespaces", `rbac: {scope: namespaced}`, "/rbac/namespaces"},
		{"unknown scope", `rbac: {scope: tenant}`, "/rbac/scope"},
		{"invalid namespace name", `rbac: {scope: namespaced, namespaces: [Team_A]}`, "/rbac/namespaces/0"},
		{"Kubernetes auth without a role", `vault: {address: https://vault:8200}`, "/vault/auth/kubernetes/role"},
		{"AppRole without its Secret", `vault: {address: https://vault:8200, auth: {method: approle}}`, "/vault/auth/appRole/secretName"},
		{"token auth without its Secret", `vault: {address: https://vault:8200, auth: {method: token}}`, "/vault/auth/token/secretName"},
		{"unknown auth method", `vault: {auth: {method: userpass}}`, "/vault/auth/method"},
		{"Vault address without a scheme", `vault: {address: vault:8200}`, "/vault/address"},
		{"CA from both a Secret and a ConfigMap", `vault: {ca: {secretName: a, configMapName: b}}`, "/vault/ca"},
		{"short-lived Vault token below the kubelet minimum", `vault: {auth: {kubernetes: {expirationSeconds: 60}}}`, "/vault/auth/kubernetes/expirationSeconds"},
		{"writable root filesystem", `securityContext: {readOnlyRootFilesystem: false}`, "/securityContext/readOnlyRootFilesystem"},
		{"privilege escalation", `securityContext: {allowPrivilegeEscalation: true}`, "/securityContext/allowPrivilegeEscalation"},
		{"capabilities not all dropped", `securityContext: {capabilities: {drop: [NET_RAW]}}`, "/securityContext/capabilities/drop"},
		{"capability added", `securityContext: {capabilities: {add: [NET_ADMIN]}}`, "/securityContext/capabilities/add"},
		{"root allowed", `podSecurityContext: {runAsNonRoot: false}`, "/podSecurityContext/runAsNonRoot"},
		{"unconfined seccomp", `podSecurityContext: {seccompProfile: {type: Unconfined}}`, "/podSecurityContext/seccompProfile/type"},
		{"privileged", `securityContext: {privileged: true}`, "/securityContext/privileged"},
		{"bad image digest", `image: {digest: sha256:abc}`, "/image/digest"},
		{"unknown log level", `controller: {logLevel: verbose}`, "/controller/logLevel"},
		{"zero concurrency", `controller: {concurrency: 0}`, "/controller/concurrency"},
		{"extra arg that is not a flag", `controller: {extraArgs: [controller]}`, "/controller/extraArgs/0"},
		{"extra env without a name", `controller: {extraEnv: [{value: x}]}`, "/controller/extraEnv/0"},
		{"webhook Ingress without a host", `webhook: {ingress: {enabled: true}}`, "/webhook/ingress/host"},
		{"existing ServiceAccount without a name", `serviceAccount: {create: false}`, "/serviceAccount/name"},
		{"privileged port", `service: {webhookPort: 443}`, "/service/webhookPort"},
		{"ServiceMonitor interval that is not a duration", `metrics: {serviceMonitor: {interval: fast}}`, "/metrics/serviceMonitor/interval"},
		{"managed resource without apiGroups", `rbac: {managedResources: [{resources: [configmaps]}]}`, "/rbac/managedResources/0"},
		{"memory request that is not a quantity", `resources: {requests: {memory: lots}}`, "/resources/requests/memory"},
		{"toleration with an unknown effect", `tolerations: [{key: a, effect: Sometimes}]`, "/tolerations/0/effect"},
		{"no sealed-secrets keys namespace", `controller: {sealedSecrets: {keysNamespace: ""}}`, "/controller/sealedSecrets/keysNamespace"},
		{"Vault cache TTL that is not a duration", `controller: {vaultCacheTTL: forever}`, "/controller/vaultCacheTTL"},
		{"webhook Ingress without the receiver", `webhook: {enabled: false, ingress: {enabled: true, host: a.example.com}}`, "/webhook/enabled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderChart(t, "schema", releaseNamespace, parseValues(t, tc.values))
			if err == nil {
				t.Fatalf("values accepted:\n%s", tc.values)
			}
			if !strings.Contains(err.Error(), "values don't meet the specifications of the schema") ||
				!strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not come from the schema or does not name %s:\n%v", tc.want, err)
			}
		})
	}
}

// TestChartRefusesConflictingPorts covers the one check the schema cannot
// express: the three listening ports differ.
func TestChartRefusesConflictingPorts(t *testing.T) {
	for _, values := range []string{
		`controller: {healthPort: 8080}`,
		`service: {webhookPort: 8081}`,
		`service: {metricsPort: 9292}`,
	} {
		_, err := renderChart(t, "ports", releaseNamespace, parseValues(t, values))
		if err == nil || !strings.Contains(err.Error(), "must differ") {
			t.Errorf("%s: want a port conflict error, got %v", values, err)
		}
	}
	if _, err := renderChart(t, "ports", releaseNamespace, parseValues(t, "webhook: {enabled: false}\nservice: {webhookPort: 8081}")); err != nil {
		t.Errorf("the webhook port of a disabled receiver conflicts with nothing: %v", err)
	}
}
