package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestVaultFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, v *Vault)
		wantErr []string
	}{
		{
			name: "token auth from Vault's own variables",
			env: map[string]string{"VAULT_ADDR": "https://vault:8200", "VAULT_TOKEN": "hvs.x", "VAULT_NAMESPACE": "team",
				"VAULT_CACERT": "/ca.pem", "VAULT_CLIENT_TIMEOUT": "10", "VAULT_MAX_RETRIES": "5"},
			check: func(t *testing.T, v *Vault) {
				if v.Auth.Method != VaultAuthToken || v.Auth.Token != "hvs.x" || v.Namespace != "team" || v.CACert != "/ca.pem" ||
					v.Timeout != 10*time.Second || v.MaxRetries != 5 || v.SkipVerify {
					t.Fatalf("%#v", v)
				}
			},
		},
		{
			name: "AppRole from AVP's variables, mount path as AVP writes it",
			env: map[string]string{"VAULT_ADDR": "http://v", "AVP_TYPE": "vault", "AVP_AUTH_TYPE": "approle",
				"AVP_ROLE_ID": "r", "AVP_SECRET_ID": "s", "AVP_MOUNT_PATH": "auth/approle-ci", "AVP_KV_VERSION": "1"},
			check: func(t *testing.T, v *Vault) {
				if v.Auth.Method != VaultAuthAppRole || v.Auth.RoleID != "r" || v.Auth.SecretID != "s" || v.Auth.MountPath != "approle-ci" || v.KVVersion != 1 {
					t.Fatalf("%#v", v.Auth)
				}
			},
		},
		{
			name: "Kubernetes auth with defaults",
			env:  map[string]string{"VAULT_ADDR": "http://v", "AVP_AUTH_TYPE": "k8s", "AVP_K8S_ROLE": "argocd"},
			check: func(t *testing.T, v *Vault) {
				if v.Auth.Method != VaultAuthKubernetes || v.Auth.Role != "argocd" || v.Auth.MountPath != "kubernetes" || v.Auth.TokenPath != DefaultServiceAccountTokenPath {
					t.Fatalf("%#v", v.Auth)
				}
			},
		},
		{
			name: "the auth method is inferred from the credentials present",
			env:  map[string]string{"VAULT_ADDR": "http://v", "AVP_K8S_ROLE": "argocd", "AVP_K8S_MOUNT_PATH": "k8s-prod"},
			check: func(t *testing.T, v *Vault) {
				if v.Auth.Method != VaultAuthKubernetes || v.Auth.MountPath != "k8s-prod" {
					t.Fatalf("%#v", v.Auth)
				}
			},
		},
		{
			name: "ARGOCD_ENV_ forms override the plain ones",
			env: map[string]string{"VAULT_ADDR": "http://sidecar", "ARGOCD_ENV_VAULT_ADDR": "http://app", "VAULT_TOKEN": "t",
				"ARGOCD_ENV_AVP_KV_VERSION": "2", "ARGOCD_ENV_AVP_PATH_VALIDATION": `^secret/`},
			check: func(t *testing.T, v *Vault) {
				if v.Address != "http://app" || v.KVVersion != 2 || !v.PathValidation.MatchString("secret/x") {
					t.Fatalf("%#v", v)
				}
			},
		},
		{
			name: "skip-verify only when asked",
			env:  map[string]string{"VAULT_ADDR": "https://v", "VAULT_TOKEN": "t", "VAULT_SKIP_VERIFY": "true"},
			check: func(t *testing.T, v *Vault) {
				if !v.SkipVerify {
					t.Fatal("VAULT_SKIP_VERIFY=true ignored")
				}
			},
		},
		{
			name:    "every problem is reported, naming its variable",
			env:     map[string]string{"VAULT_ADDR": "vault:8200", "AVP_TYPE": "awssecretsmanager", "AVP_AUTH_TYPE": "approle", "AVP_ROLE_ID": "r", "VAULT_SKIP_VERIFY": "maybe", "AVP_KV_VERSION": "3", "VAULT_CLIENT_TIMEOUT": "soon", "AVP_PATH_VALIDATION": `^\/(?!\/)`},
			wantErr: []string{"AVP_TYPE=\"awssecretsmanager\"", "VAULT_ADDR=\"vault:8200\"", "VAULT_SKIP_VERIFY=\"maybe\"", "AVP_KV_VERSION=\"3\"", "VAULT_CLIENT_TIMEOUT=\"soon\"", "AVP_PATH_VALIDATION is not a valid regular expression", "AVP_ROLE_ID and AVP_SECRET_ID must both be set"},
		},
		{
			name:    "token auth without a token",
			env:     map[string]string{"VAULT_ADDR": "http://v"},
			wantErr: []string{"VAULT_TOKEN is not set"},
		},
		{
			name:    "unsupported AVP auth types",
			env:     map[string]string{"VAULT_ADDR": "http://v", "AVP_AUTH_TYPE": "github"},
			wantErr: []string{`AVP_AUTH_TYPE="github": want token, approle or k8s`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := VaultFromEnv(WithArgoCDPrefix(MapEnv(tt.env)))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, config %#v", v)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not mention %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, v)
		})
	}
}

func TestVaultNotConfigured(t *testing.T) {
	_, err := VaultFromEnv(MapEnv(map[string]string{"VAULT_TOKEN": "t"}))
	if !errors.Is(err, ErrVaultNotConfigured) {
		t.Fatalf("err = %v, want ErrVaultNotConfigured", err)
	}
}

func TestSensitiveNeverPrints(t *testing.T) {
	v, err := VaultFromEnv(MapEnv(map[string]string{"VAULT_ADDR": "http://v", "AVP_ROLE_ID": "r", "AVP_SECRET_ID": "very-secret-id", "VAULT_TOKEN": "hvs.very-secret-token"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, v)
		if strings.Contains(out, "very-secret") {
			t.Errorf("%s prints a secret: %s", format, out)
		}
	}
}
