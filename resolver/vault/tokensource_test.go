package vault

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/resolver"
)

// TestKubernetesAuthWithATokenSource: Kubernetes auth logs in with the
// tokens a TokenSource returns (here fresh TokenRequest tokens of the bound
// ServiceAccount, audience "vault"), asks for a new one at every login (the
// Vault token here lives 2s, so reading for 6s logs in again), and reads no
// token file.
func TestKubernetesAuthWithATokenSource(t *testing.T) {
	k := testenv.Shared(t)
	v := testenv.StartVault(t)
	const reviewerNS, reviewerSA = "vault-system", "reviewer"
	reviewerJWT := k.ServiceAccountToken(t, reviewerNS, reviewerSA)
	k.BindClusterRole(t, "system:auth-delegator", reviewerNS, reviewerSA)
	v.PutKV2(t, "secret", "team-a/db", map[string]any{"password": "a"})
	v.WritePolicy(t, "team-a", `path "secret/data/team-a/*" { capabilities = ["read"] }`)
	v.ConfigureKubernetesAuth(t, k.Host(), k.CACert(), reviewerJWT)
	v.WriteKubernetesRole(t, "team-a", testenv.KubernetesRole{
		ServiceAccounts: []string{"app"}, Namespaces: []string{"team-a"}, Policies: []string{"team-a"},
		Audience: "vault", TTL: 2 * time.Second, MaxTTL: 2 * time.Second,
	})
	k.ServiceAccountToken(t, "team-a", "app") // creates the ServiceAccount
	k.ServiceAccountToken(t, "team-a", "other")

	source := func(sa string, calls *atomic.Int32) TokenSource {
		return func(ctx context.Context) (string, error) {
			calls.Add(1)
			expiry := int64(600)
			tr, err := k.Clientset.CoreV1().ServiceAccounts("team-a").CreateToken(ctx, sa, &authenticationv1.TokenRequest{
				Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}, ExpirationSeconds: &expiry},
			}, metav1.CreateOptions{})
			if err != nil {
				return "", err
			}
			return tr.Status.Token, nil
		}
	}
	kubeAuth := func() *config.Vault {
		cfg := tokenConfig(v)
		// No TokenPath: a file read would fail the login.
		cfg.Auth = config.VaultAuth{Method: config.VaultAuthKubernetes, Role: "team-a", MountPath: "kubernetes", TokenPath: "/nonexistent/token"}
		return cfg
	}
	ctx := context.Background()

	t.Run("the bound ServiceAccount logs in, and again when its Vault token expires", func(t *testing.T) {
		var calls atomic.Int32
		b, err := New(kubeAuth(), WithTokenSource(source("app", &calls)))
		if err != nil {
			t.Fatal(err)
		}
		loc, err := b.Locate(ctx, "secret/team-a/db", 2)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(6 * time.Second)
		for time.Now().Before(deadline) {
			s, err := b.Read(ctx, loc, "")
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if s.Data["password"] != "a" {
				t.Fatalf("read %v", s.Data)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if n := calls.Load(); n < 2 {
			t.Errorf("the token source was asked %d times, want a fresh token at each login (at least 2)", n)
		}
		t.Logf("%d logins in 6s of reads with a 2s Vault token TTL, each with a fresh TokenRequest", calls.Load())
	})
	t.Run("another ServiceAccount of the namespace is refused", func(t *testing.T) {
		var calls atomic.Int32
		b, err := New(kubeAuth(), WithTokenSource(source("other", &calls)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Read(ctx, resolver.Location{Mount: "secret/", Path: "team-a/db", KVVersion: 2}, "")
		if !errors.Is(err, resolver.ErrAuth) {
			t.Fatalf("err = %v, want ErrAuth", err)
		}
	})
	t.Run("a token source that fails fails the login", func(t *testing.T) {
		b, err := New(kubeAuth(), WithTokenSource(func(context.Context) (string, error) {
			return "", errors.New(`serviceaccounts "gone" not found`)
		}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Read(ctx, resolver.Location{Mount: "secret/", Path: "team-a/db", KVVersion: 2}, "")
		if !errors.Is(err, resolver.ErrAuth) || !strings.Contains(err.Error(), `serviceaccounts "gone" not found`) {
			t.Fatalf("err = %v, want ErrAuth naming the token source's error", err)
		}
	})
}
