package charts

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestChartVaultAuthMethods runs the end-to-end scenario with each Vault
// auth method the chart offers, so the environment and volumes it wires for
// AppRole and token auth are shown to work with the real controller and a
// real Vault (Kubernetes auth runs in TestChartRBACIsSufficientAndMinimal).
func TestChartVaultAuthMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, Vault, Git and the controller")
	}
	w := startWorld(t)
	tests := []struct {
		name string
		// credentials creates what the values name, in the release namespace.
		credentials func(t *testing.T, release string) (vaultAuth string)
	}{
		{
			name: "approle",
			credentials: func(t *testing.T, release string) string {
				roleID, secretID := w.vault.EnableAppRole(t, "latchkey-"+release, []string{vaultPolicy})
				createSecret(t, w, "vault-approle-"+release, map[string]string{"id": roleID, "secret": secretID})
				return fmt.Sprintf("{method: approle, appRole: {secretName: vault-approle-%s, roleIdKey: id, secretIdKey: secret}}", release)
			},
		},
		{
			name: "token",
			credentials: func(t *testing.T, release string) string {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				tok, err := w.vault.Client().Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{
					Policies: []string{vaultPolicy}, TTL: "1h", NoParent: true,
				})
				if err != nil {
					t.Fatalf("creating a Vault token: %v", err)
				}
				createSecret(t, w, "vault-token-"+release, map[string]string{"token": tok.Auth.ClientToken})
				return fmt.Sprintf("{method: token, token: {secretName: vault-token-%s}}", release)
			},
		},
	}
	// The releases are each their own (names, Secrets, Vault roles, shard):
	// they run at once in the world.
	runs := make(slots, len(tests))
	var all sync.WaitGroup
	for _, tc := range tests {
		runs.run(t, &all, tc.name, func(t *testing.T) {
			release := "auth-" + tc.name
			in := newInstallWithAuth(t, w, release, "cluster", tc.credentials(t, release))
			in.applyChart(t, in.rbacWithout(t, nil, ""))
			repo, first := in.repository(t)
			d := deployment(t, in.r)
			p := runPod(t, w.kube, d, w.binary)
			if err := p.waitReady(d, 60*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := in.scenario(t, p, repo, first); err != nil {
				t.Fatalf("the scenario failed with %s auth: %v", tc.name, err)
			}
		})
	}
	all.Wait()
}

func createSecret(t *testing.T, w *world, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNamespace, Name: name}, StringData: data}
	if err := w.kube.Client.Create(context.Background(), s); err != nil {
		t.Fatalf("creating Secret %s: %v", name, err)
	}
}
