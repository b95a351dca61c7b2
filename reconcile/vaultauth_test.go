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
)

// TestPerSyncVaultAppRole: a Sync brings its own Vault login (spec.vault
// with an AppRole Secret in its namespace) on a controller that has no
// Vault configuration; a wrong secret_id fails closed.
func TestPerSyncVaultAppRole(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "payments", withVault())
	sc.vault.PutKV2(t, "secret", "payments/api", map[string]any{"key": "approle-read-value"})
	sc.vault.WritePolicy(t, "payments", `path "secret/data/payments/*" { capabilities = ["read"] }
path "secret/metadata/payments/*" { capabilities = ["read"] }
path "sys/mounts" { capabilities = ["read"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }`)
	roleID, secretID := sc.vault.EnableAppRole(t, "payments", []string{"payments"})
	sc.repo.Commit(t, "init", map[string]string{
		"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: api}\nstringData: {key: '<path:secret/data/payments/api#key>'}\n",
	})
	startController(t, sc.kube, nil)

	tests := []struct {
		ns, secretID string
		ok           bool
	}{
		{ns: "payments", secretID: secretID, ok: true},
		{ns: "intruder", secretID: "not-the-secret-id"},
	}
	for _, tc := range tests {
		t.Run(tc.ns, func(t *testing.T) {
			sc.kube.CreateNamespace(t, tc.ns)
			sync := sc.gitSync(tc.ns, "payments", "", time.Minute)
			sync.Spec.Vault = &v1alpha1.Vault{Address: sc.vault.Addr, Auth: &v1alpha1.VaultAuth{
				AppRole: &v1alpha1.VaultAppRoleAuth{SecretRef: v1alpha1.LocalObjectReference{Name: "vault-approle"}},
			}}
			sc.create(t, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns, Name: "vault-approle"},
				Data:       map[string][]byte{"role_id": []byte(roleID), "secret_id": []byte(tc.secretID)},
			}, sync)
			eventually(t, 60*time.Second, "the outcome", func() error {
				s := getSync(t, sc.c, tc.ns, "payments")
				ready := condition(s, v1alpha1.ConditionReady)
				switch {
				case tc.ok && strings.HasPrefix(ready, "True"):
					return nil
				case !tc.ok && strings.HasPrefix(ready, "False/"+v1alpha1.ReasonResolveFailed) &&
					strings.Contains(ready, "secret/data/payments/api#key"):
					if strings.Contains(ready, tc.secretID) {
						t.Errorf("the condition quotes the secret_id: %s", ready)
					}
					return nil
				}
				return fmt.Errorf("Ready %s", ready)
			})
			var sec corev1.Secret
			err := sc.c.Get(ctx, client.ObjectKey{Namespace: tc.ns, Name: "api"}, &sec)
			switch {
			case tc.ok && (err != nil || string(sec.Data["key"]) != "approle-read-value"):
				t.Errorf("Secret api: %v %q", err, sec.Data["key"])
			case !tc.ok && !apierrors.IsNotFound(err):
				t.Errorf("a failed login still applied Secret api (get: %v)", err)
			}
		})
	}
}
