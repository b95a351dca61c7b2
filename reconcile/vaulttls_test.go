package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// TestPerSyncVaultCA: a Sync reaches a Vault served over TLS only when
// spec.vault.caSecretRef names the CA that signed Vault's certificate. The
// Vault dev server speaks plain HTTP; a TLS-terminating proxy on loopback
// stands in front of it, as a load balancer would.
func TestPerSyncVaultCA(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "tls", withVault())
	sc.vault.PutKV2(t, "secret", "tls/api", map[string]any{"key": "read-over-tls"})
	tlsVaultURL, rightCA := testenv.StartTLSProxy(t, sc.vault.Addr)
	wrongCA := testenv.UnrelatedCA(t)

	sc.repo.Commit(t, "init", map[string]string{
		"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: api}\nstringData: {key: '<path:secret/data/tls/api#key>'}\n",
	})
	startController(t, sc.kube, nil)

	tests := []struct {
		ns     string
		ca     map[string][]byte // nil: no caSecretRef
		reason string            // "" when the Sync must become Ready
		want   string            // in the failure message
	}{
		{ns: "right-ca", ca: map[string][]byte{"ca.crt": rightCA}},
		{ns: "wrong-ca", ca: map[string][]byte{"ca.crt": wrongCA}, reason: v1alpha1.ReasonResolveFailed, want: "certificate"},
		{ns: "no-ca", reason: v1alpha1.ReasonResolveFailed, want: "certificate"},
		{ns: "no-ca-key", ca: map[string][]byte{"tls.crt": rightCA}, reason: v1alpha1.ReasonConfigInvalid, want: "has no key ca.crt"},
		{ns: "not-pem", ca: map[string][]byte{"ca.crt": []byte("not a certificate")}, reason: v1alpha1.ReasonConfigInvalid, want: "PEM"},
	}
	for _, tc := range tests {
		t.Run(tc.ns, func(t *testing.T) {
			sc.kube.CreateNamespace(t, tc.ns)
			objs := []client.Object{&corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns, Name: "vault-token"},
				Data:       map[string][]byte{"token": []byte(sc.vault.RootToken)},
			}}
			spec := &v1alpha1.Vault{Address: tlsVaultURL, Auth: &v1alpha1.VaultAuth{
				Token: &v1alpha1.VaultTokenAuth{SecretRef: v1alpha1.LocalObjectReference{Name: "vault-token"}},
			}}
			if tc.ca != nil {
				objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns, Name: "vault-ca"}, Data: tc.ca})
				spec.CASecretRef = &v1alpha1.LocalObjectReference{Name: "vault-ca"}
			}
			sync := sc.gitSync(tc.ns, "tls", "", time.Minute)
			sync.Spec.Vault = spec
			sc.create(t, append(objs, sync)...)
			var ready string
			eventually(t, 60*time.Second, "the outcome", func() error {
				ready = condition(getSync(t, sc.c, tc.ns, "tls"), v1alpha1.ConditionReady)
				switch {
				case tc.reason == "" && strings.HasPrefix(ready, "True"):
					return nil
				case tc.reason != "" && strings.HasPrefix(ready, "False/"+tc.reason) && strings.Contains(ready, tc.want):
					return nil
				}
				return fmt.Errorf("Ready %s", ready)
			})
			t.Logf("Ready %s", ready)
			var sec corev1.Secret
			err := sc.c.Get(ctx, client.ObjectKey{Namespace: tc.ns, Name: "api"}, &sec)
			switch {
			case tc.reason == "" && (err != nil || string(sec.Data["key"]) != "read-over-tls"):
				t.Errorf("Secret api: %v %q", err, sec.Data["key"])
			case tc.reason != "" && !apierrors.IsNotFound(err):
				t.Errorf("Secret api applied without a verified Vault (get: %v)", err)
			}
		})
	}

	// The CA is configuration, not a secret, but it stays where it was put:
	// not in the status or the logs.
	body := strings.Split(string(rightCA), "\n")[1]
	for _, ns := range []string{"right-ca", "wrong-ca", "not-pem"} {
		for _, cond := range getSync(t, sc.c, ns, "tls").Status.Conditions {
			if strings.Contains(cond.Message, body) || strings.Contains(cond.Message, "not a certificate") {
				t.Errorf("%s: condition %s quotes the CA bundle", ns, cond.Type)
			}
		}
	}
	if strings.Contains(logs.String(), body) {
		t.Errorf("the logs quote the CA bundle")
	}
}
