package testenv

import (
	"context"
	"testing"
)

// Vault's Kubernetes auth against a real API server: Vault calls the
// TokenReview API of the envtest kube-apiserver, and the tokens come from the
// TokenRequest API, exactly as a pod's projected token would.
func TestVaultKubernetesAuthLogsInWithAServiceAccountToken(t *testing.T) {
	k := Shared(t)
	v := StartVault(t)

	const reviewerNS, reviewerSA = "vault-system", "vault-token-reviewer"
	reviewerJWT := k.ServiceAccountToken(t, reviewerNS, reviewerSA)
	k.BindClusterRole(t, "system:auth-delegator", reviewerNS, reviewerSA)

	v.PutKV2(t, DefaultKV2Mount, "app/db", map[string]any{"password": "p"})
	v.WritePolicy(t, "app-read", `path "secret/data/app/*" { capabilities = ["read"] }`)
	v.EnableKubernetesAuth(t, k.Host(), k.CACert(), reviewerJWT, "app", "app", "apps", []string{"app-read"})

	tests := []struct {
		name      string
		jwt       string
		wantLogin bool
	}{
		{"the bound service account", k.ServiceAccountToken(t, "apps", "app"), true},
		{"another service account in the namespace", k.ServiceAccountToken(t, "apps", "intruder"), false},
		{"the bound name in another namespace", k.ServiceAccountToken(t, "other", "app"), false},
		{"a token the API server did not sign", forgedJWT, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := v.Client()
			c.ClearToken()
			login, err := c.Logical().WriteWithContext(context.Background(), "auth/kubernetes/login",
				map[string]any{"role": "app", "jwt": tt.jwt})
			if !tt.wantLogin {
				if err == nil {
					t.Fatalf("login succeeded, want it denied")
				}
				return
			}
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			c.SetToken(login.Auth.ClientToken)
			s, err := c.KVv2(DefaultKV2Mount).Get(context.Background(), "app/db")
			if err != nil {
				t.Fatalf("reading secret/app/db with the login token: %v", err)
			}
			if s.Data["password"] != "p" {
				t.Errorf("secret/app/db = %v", s.Data)
			}
		})
	}
}

// forgedJWT is well-formed (RS256 header, ServiceAccount claims for apps/app)
// but signed by no key the API server knows.
const forgedJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImZvcmdlZCJ9." +
	"eyJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMuY2x1c3Rlci5sb2NhbCIsInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudDphcHBzOmFwcCIsImt1YmVybmV0ZXMuaW8iOnsibmFtZXNwYWNlIjoiYXBwcyIsInNlcnZpY2VhY2NvdW50Ijp7Im5hbWUiOiJhcHAiLCJ1aWQiOiIwIn19fQ." +
	"c2lnbmF0dXJl"
