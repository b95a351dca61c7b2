package sealing

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// testKey is a controller key pair made with the upstream key generator.
func testKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, cert, err := sscrypto.GeneratePrivateKeyAndCert(2048, time.Hour, "sealed-secret")
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

func keysOf(t *testing.T, ks ...*rsa.PrivateKey) Keys {
	t.Helper()
	keys := Keys{}
	for _, k := range ks {
		if err := keys.add(k); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func toUnstructured(t *testing.T, ss *ssv1alpha1.SealedSecret) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ss)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func secret(ns, name string, data map[string]string, anno map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: anno}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

const canary = "canary-7f3a9c1e-sealing"

func TestUnsealHonoursScopes(t *testing.T) {
	key, certPEM := testKey(t)
	pub, err := ParseCert(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	u := NewUnsealer(keysOf(t, key))
	tests := []struct {
		name       string
		scope      Scope
		moveNS     string // namespace the SealedSecret is moved to before unsealing
		rename     string // new name before unsealing
		wantUnseal bool
	}{
		{"strict, where it was sealed", StrictScope, "", "", true},
		{"strict, renamed", StrictScope, "", "other", false},
		{"strict, moved", StrictScope, "prod", "", false},
		{"namespace-wide, renamed", NamespaceWideScope, "", "other", true},
		{"namespace-wide, moved", NamespaceWideScope, "prod", "", false},
		{"cluster-wide, moved and renamed", ClusterWideScope, "prod", "other", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss, err := Seal(secret("dev", "db", map[string]string{"password": canary}, nil), pub, tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			obj := toUnstructured(t, ss)
			if tt.moveNS != "" {
				obj.SetNamespace(tt.moveNS)
			}
			if tt.rename != "" {
				obj.SetName(tt.rename)
			}
			out, err := u.Unseal(context.Background(), obj)
			if !tt.wantUnseal {
				if err == nil {
					t.Fatal("unsealed, want a failure")
				}
				if strings.Contains(err.Error(), canary) {
					t.Fatalf("the error holds the value: %v", err)
				}
				if !strings.Contains(err.Error(), "encryptedData.password cannot be decrypted") {
					t.Fatalf("error does not name the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data, _ := SecretData(out)
			if string(data["password"]) != canary || out.GetKind() != "Secret" || out.GetAPIVersion() != "v1" || len(out.GetOwnerReferences()) != 0 {
				t.Fatalf("unsealed %v", out.Object)
			}
		})
	}
}

func TestUnsealTemplateAndOldKeys(t *testing.T) {
	oldKey, oldCert := testKey(t)
	newKey, _ := testKey(t)
	pub, _ := ParseCert(oldCert)
	s := secret("apps", "web", map[string]string{"user": "admin", "password": canary}, nil)
	ss, err := Seal(s, pub, StrictScope)
	if err != nil {
		t.Fatal(err)
	}
	ss.Spec.Template.Type = corev1.SecretTypeBasicAuth
	ss.Spec.Template.Labels = map[string]string{"app": "web"}
	ss.Spec.Template.Data = map[string]string{"dsn": "postgres://{{ .user }}:{{ .password }}@db"}
	// Sealed with the old key; the controller has rotated and holds both.
	out, err := NewUnsealer(keysOf(t, newKey, oldKey)).Unseal(context.Background(), toUnstructured(t, ss))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := SecretData(out)
	if string(data["dsn"]) != "postgres://admin:"+canary+"@db" || out.Object["type"] != "kubernetes.io/basic-auth" || out.GetLabels()["app"] != "web" {
		t.Fatalf("unsealed %v", out.Object)
	}

	t.Run("a failing template does not show its error, which may quote values", func(t *testing.T) {
		ss := ss.DeepCopy()
		ss.Spec.Template.Data = map[string]string{"x": `{{ fail .password }}`}
		_, err := NewUnsealer(keysOf(t, oldKey)).Unseal(context.Background(), toUnstructured(t, ss))
		if err == nil || strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), "spec.template.data") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("without the sealing key", func(t *testing.T) {
		_, err := NewUnsealer(keysOf(t, newKey)).Unseal(context.Background(), toUnstructured(t, ss))
		if err == nil || !strings.Contains(err.Error(), "none of the 1 loaded keys") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a namespace-less SealedSecret takes the default namespace", func(t *testing.T) {
		obj := toUnstructured(t, ss)
		obj.SetNamespace("")
		u := NewUnsealer(keysOf(t, oldKey))
		u.DefaultNamespace = "apps"
		if _, err := u.Unseal(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSealRawAndStream(t *testing.T) {
	key, certPEM := testKey(t)
	pub, _ := ParseCert(certPEM)
	raw, err := SealRaw([]byte(canary), "apps", "web", StrictScope, pub)
	if err != nil {
		t.Fatal(err)
	}
	ss := &ssv1alpha1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
		Spec: ssv1alpha1.SealedSecretSpec{EncryptedData: map[string]string{"token": raw}}}
	out, err := NewUnsealer(keysOf(t, key)).Unseal(context.Background(), toUnstructured(t, ss))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := SecretData(out); string(d["token"]) != canary {
		t.Fatalf("raw value did not round-trip")
	}
	if _, err := SealRaw([]byte("x"), "", "web", StrictScope, pub); err == nil {
		t.Fatal("strict raw sealing without a namespace must fail")
	}

	var buf bytes.Buffer
	in := "apiVersion: v1\nkind: Secret\nmetadata: {name: web}\nstringData: {token: " + canary + "}\n"
	if err := SealStream(strings.NewReader(in), &buf, pub, SealOptions{Format: "yaml", Namespace: "apps"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), canary) || !strings.HasPrefix(buf.String(), "---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n") {
		t.Fatalf("sealed output:\n%s", buf.String())
	}
	var obj map[string]any
	if err := yaml.Unmarshal(buf.Bytes(), &obj); err != nil {
		t.Fatal(err)
	}
	out, err = NewUnsealer(keysOf(t, key)).Unseal(context.Background(), &unstructured.Unstructured{Object: obj})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := SecretData(out); string(d["token"]) != canary || out.GetNamespace() != "apps" {
		t.Fatalf("stream seal did not round-trip: %v", out.Object)
	}
}

func TestKeysFromFiles(t *testing.T) {
	k1, _ := testKey(t)
	k2, _ := testKey(t)
	pemOf := func(k *rsa.PrivateKey) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	}
	secretYAML := func(k *rsa.PrivateKey) string {
		b, _ := yaml.Marshal(corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: "sealed-secrets-key"}, Data: map[string][]byte{"tls.key": []byte(pemOf(k))}})
		return string(b)
	}
	dir := t.TempDir()
	files := map[string]string{
		"key.pem":     pemOf(k1),
		"backup.yaml": secretYAML(k1) + "---\n" + secretYAML(k2),
		"list.yaml":   "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(secretYAML(k2)), "\n", "\n  ") + "\n",
		"junk.txt":    "hello",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		files   []string
		want    int
		wantErr string
	}{
		{[]string{"key.pem"}, 1, ""},
		{[]string{"backup.yaml"}, 2, ""},
		{[]string{"list.yaml", "key.pem"}, 2, ""},
		{[]string{"junk.txt"}, 0, "neither a PEM private key nor key Secrets"},
	}
	for _, tt := range tests {
		var paths []string
		for _, f := range tt.files {
			paths = append(paths, filepath.Join(dir, f))
		}
		keys, err := KeysFromFiles(paths...)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err = %v", tt.files, err)
			}
			continue
		}
		if err != nil || len(keys) != tt.want {
			t.Errorf("%v: %d keys, %v; want %d", tt.files, len(keys), err, tt.want)
		}
	}
}
