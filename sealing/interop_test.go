package sealing

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// Interoperability with the upstream binaries, both ways: what upstream
// kubeseal seals Latchkey unseals with the controller's keys read from the
// cluster, and what Latchkey seals the upstream controller unseals.
func TestInteropWithUpstream(t *testing.T) {
	k := testenv.StartKube(t)
	ss := testenv.StartSealedSecrets(t, k)
	ctx := context.Background()
	for _, ns := range []string{"apps", "other"} {
		k.CreateNamespace(t, ns)
	}
	certFile := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(certFile, ss.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := KeysFromCluster(ctx, k.Clientset.CoreV1().Secrets(ss.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	unsealer := NewUnsealer(keys)
	kubeseal := func(t *testing.T, stdin string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(ss.Kubeseal, append([]string{"--cert", certFile}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubeseal %v: %v: %s", args, err, stderr.String())
		}
		return out
	}
	secretYAML := func(ns, name, anno string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\n" + anno +
			"type: Opaque\nstringData:\n  password: " + canary + "\n  user: admin\n"
	}

	t.Run("upstream kubeseal to Latchkey", func(t *testing.T) {
		for _, scope := range []string{"strict", "namespace-wide", "cluster-wide"} {
			t.Run(scope, func(t *testing.T) {
				sealed := kubeseal(t, secretYAML("apps", "db-"+scope, ""), "--format", "yaml", "--scope", scope)
				var obj unstructured.Unstructured
				if err := yaml.Unmarshal(sealed, &obj.Object); err != nil {
					t.Fatal(err)
				}
				out, err := unsealer.Unseal(ctx, &obj)
				if err != nil {
					t.Fatal(err)
				}
				d, _ := SecretData(out)
				if string(d["password"]) != canary || string(d["user"]) != "admin" || out.GetName() != "db-"+scope {
					t.Fatalf("unsealed %v", out.Object)
				}
			})
		}
		t.Run("raw", func(t *testing.T) {
			raw := kubeseal(t, canary, "--raw", "--namespace", "apps", "--name", "tok", "--from-file", "/dev/stdin")
			obj := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
				"metadata": map[string]any{"name": "tok", "namespace": "apps"},
				"spec":     map[string]any{"encryptedData": map[string]any{"token": string(raw)}},
			}}
			out, err := unsealer.Unseal(ctx, obj)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := SecretData(out); string(d["token"]) != canary {
				t.Fatalf("raw value did not round-trip")
			}
		})
	})

	t.Run("Latchkey to the upstream controller", func(t *testing.T) {
		pub, err := ParseCert(ss.CertPEM)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			scope      Scope
			name       string
			applyNS    string // where the SealedSecret is created
			applyName  string
			wantSecret bool
		}{
			{StrictScope, "strict", "apps", "strict", true},
			{NamespaceWideScope, "nswide", "apps", "renamed", true},
			{ClusterWideScope, "cwide", "other", "moved", true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := SealStream(strings.NewReader(secretYAML("apps", tt.name, "")), &buf, pub, SealOptions{Format: "json", Scope: tt.scope}); err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(buf.Bytes(), []byte(canary)) {
					t.Fatal("sealed output holds the plaintext")
				}
				var obj unstructured.Unstructured
				if err := obj.UnmarshalJSON(buf.Bytes()); err != nil {
					t.Fatal(err)
				}
				obj.SetNamespace(tt.applyNS)
				obj.SetName(tt.applyName)
				if err := k.Client.Create(ctx, &obj); err != nil {
					t.Fatal(err)
				}
				got := ss.WaitForSecret(t, tt.applyNS, tt.applyName)
				if string(got.Data["password"]) != canary || string(got.Data["user"]) != "admin" {
					t.Fatalf("the controller unsealed other data: %v", got.Data)
				}
			})
		}
	})
}
