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

// TestPerSyncVaultAppRole: a Sync brings its own Vault login (spec.vault
// with an AppRole Secret in its namespace) on a controller that has no
// Vault configuration; a wrong secret_id fails closed.
func TestPerSyncVaultAppRole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Vault and Git")
	}
	ctx := context.Background()
	kube := testenv.StartKube(t, testenv.WithScheme(v1alpha1.AddToScheme))
	c := kube.Client
	vault := testenv.StartVault(t)
	vault.PutKV2(t, "secret", "payments/api", map[string]any{"key": "approle-read-value"})
	vault.WritePolicy(t, "payments", `path "secret/data/payments/*" { capabilities = ["read"] }
path "secret/metadata/payments/*" { capabilities = ["read"] }
path "sys/mounts" { capabilities = ["read"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }`)
	roleID, secretID := vault.EnableAppRole(t, "payments", []string{"payments"})
	repo := testenv.StartGitServer(t).NewRepo(t, "payments")
	repo.Commit(t, "init", map[string]string{
		"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: api}\nstringData: {key: '<path:secret/data/payments/api#key>'}\n",
	})
	startController(t, kube, nil)

	tests := []struct {
		ns, secretID string
		ok           bool
	}{
		{ns: "payments", secretID: secretID, ok: true},
		{ns: "intruder", secretID: "not-the-secret-id"},
	}
	for _, tc := range tests {
		t.Run(tc.ns, func(t *testing.T) {
			kube.CreateNamespace(t, tc.ns)
			if err := c.Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns, Name: "vault-approle"},
				Data:       map[string][]byte{"role_id": []byte(roleID), "secret_id": []byte(tc.secretID)},
			}); err != nil {
				t.Fatal(err)
			}
			if err := c.Create(ctx, &v1alpha1.Sync{
				ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns, Name: "payments"},
				Spec: v1alpha1.SyncSpec{
					Source: v1alpha1.GitSource{URL: repo.URL, Interval: metav1.Duration{Duration: time.Minute}},
					Vault: &v1alpha1.Vault{Address: vault.Addr, Auth: &v1alpha1.VaultAuth{
						AppRole: &v1alpha1.VaultAppRoleAuth{SecretRef: v1alpha1.LocalObjectReference{Name: "vault-approle"}},
					}},
				},
			}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 60*time.Second, "the outcome", func() error {
				s := getSync(t, c, tc.ns, "payments")
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
			err := c.Get(ctx, client.ObjectKey{Namespace: tc.ns, Name: "api"}, &sec)
			switch {
			case tc.ok && (err != nil || string(sec.Data["key"]) != "approle-read-value"):
				t.Errorf("Secret api: %v %q", err, sec.Data["key"])
			case !tc.ok && !apierrors.IsNotFound(err):
				t.Errorf("a failed login still applied Secret api (get: %v)", err)
			}
		})
	}
}
