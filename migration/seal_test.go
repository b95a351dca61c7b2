package migration

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/resolver"
	"github.com/latchkey-dev/latchkey/sealing"
)

// sealingKey is a controller key pair made with the upstream generator, and
// the private key written where --unseal-key reads it.
func sealingKey(t *testing.T) (*rsa.PublicKey, string) {
	t.Helper()
	key, cert, err := sscrypto.GeneratePrivateKeyAndCert(2048, time.Hour, "sealed-secret")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sealing.ParseCert(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "key.pem")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509MarshalPKCS1(key)})
	if err := os.WriteFile(file, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	return pub, file
}

func TestSealReplacesSecretsAndProvesTheSameRender(t *testing.T) {
	root := copyTree(t)
	pub, keyFile := sealingKey(t)
	keys, err := sealing.KeysFromFiles(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	unsealer := sealing.NewUnsealer(keys)
	unsealer.DefaultNamespace = "default"
	r := &Renderer{Options: resolver.Options{Unsealer: unsealer}, Namespace: "default"}
	mac := []byte("0123456789abcdef0123456789abcdef")
	before, err := r.Digest(ctx, root, mac)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Failed) > 0 {
		t.Fatalf("the original tree does not render: %v", before.Failed)
	}
	for _, k := range []string{
		"apps/web/secret.yaml: Secret shop/web-db: password",
		"apps/web/deployment.yaml: Deployment shop/web: container web: env DB_PASSWORD",
		"apps/api: Secret payments/api-creds: REDIS_PASSWORD",
		"apps/api: Deployment payments/api: container api: env API_KEY",
		"charts/shop: Secret release-name-db: password",
		"charts/shop: Deployment release-name-shop: container shop: env DB_PASSWORD",
	} {
		if _, ok := before.Values[k]; !ok {
			t.Errorf("the digest has no %q; it has %v", k, keysOf(before.Values))
		}
	}

	sites, skipped, err := Locate(root, scanTree(t, root), "default")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanSeal(root, sites, skipped)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	plan.Print(&out)
	if len(plan.Secrets) != 2 || !strings.Contains(out.String(), "apps/web/secret.yaml:2 → SealedSecret Secret shop/web-db (keys with plaintext: password, api-token, session_secret, signing-key)") {
		t.Fatalf("plan:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "apps/web/deployment.yaml:21: a container env, not a Secret: --fix seal seals Secrets only; use --fix vault") {
		t.Errorf("plan:\n%s", out.String())
	}
	if _, err := plan.Write(pub, sealing.StrictScope, "default"); err != nil {
		t.Fatal(err)
	}
	after, err := r.Digest(ctx, root, mac)
	if err != nil {
		t.Fatal(err)
	}
	if c := Compare(before, after); len(c.Differ) > 0 || len(c.Unproven) > 0 || c.Compared != len(before.Values) {
		t.Fatalf("compare: %+v", c)
	}
	all := readAll(t, root)
	for _, file := range []string{"apps/web/secret.yaml", "apps/legacy/secret.yaml"} {
		if !strings.Contains(all[file], "kind: SealedSecret") || strings.Contains(all[file], "kind: Secret\n") {
			t.Errorf("%s:\n%s", file, all[file])
		}
	}
	if !strings.Contains(all["apps/legacy/secret.yaml"], "\r\n") || strings.Count(all["apps/legacy/secret.yaml"], "\n") != strings.Count(all["apps/legacy/secret.yaml"], "\r\n") {
		t.Error("the CRLF file lost its line endings")
	}
	for file, content := range all {
		for _, l := range labelled {
			if l.value != "" && strings.Contains(content, l.value) && (l.form == SecretData || l.form == SecretStringData) {
				t.Errorf("%s still holds the value of %s:%d", file, l.file, l.line)
			}
		}
	}
	// Without the key, the proof says what it could not compare: the
	// sealed values, and the env that takes one (DB_USER, across files).
	blind, err := (&Renderer{Namespace: "default"}).Digest(ctx, root, mac)
	if err != nil {
		t.Fatal(err)
	}
	if c := Compare(before, blind); len(c.Differ) > 0 || len(c.Unproven) != 7 {
		t.Errorf("without keys: %+v", c)
	}
}

func TestSealKeepsTheReferencesOfASecretMixingThemWithLiterals(t *testing.T) {
	const canary = "Kd8-canary-mixed-Pq2Zr7"
	root := t.TempDir()
	doc := "# the app's credentials\napiVersion: v1\nkind: Secret\nmetadata:\n  name: mixed\n  namespace: apps\n" +
		"data:\n  user: " + base64.StdEncoding.EncodeToString([]byte("<path:secret/data/app#user>")) + "\n" +
		"stringData:\n  url: https://<path:secret/data/app#host>/db\n  password: " + canary + "\n"
	if err := os.WriteFile(filepath.Join(root, "mixed.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	pub, keyFile := sealingKey(t)
	keys, err := sealing.KeysFromFiles(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store := memStore{"secret/data/app": {"user": "app-user", "host": "db.internal"}}
	r := &Renderer{Backend: store, Options: resolver.Options{Unsealer: sealing.NewUnsealer(keys)}, Namespace: "default"}
	mac := []byte("0123456789abcdef0123456789abcdef")
	before, err := r.Digest(ctx, root, mac)
	if err != nil || len(before.Failed) > 0 {
		t.Fatalf("%v %v", err, before.Failed)
	}

	sites, skipped, err := Locate(root, scanTree(t, root), "default")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanSeal(root, sites, skipped)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	plan.Print(&out)
	if len(plan.Secrets) != 1 || !strings.Contains(out.String(), "mixed.yaml:2 → SealedSecret Secret apps/mixed (keys with plaintext: password; references kept in spec.template.data: url, user)") {
		t.Fatalf("plan:\n%s", out.String())
	}
	if _, err := plan.Write(pub, sealing.StrictScope, "default"); err != nil {
		t.Fatal(err)
	}
	written := readAll(t, root)["mixed.yaml"]
	if strings.Contains(written, canary) || !strings.HasPrefix(written, "# the app's credentials\n") ||
		!strings.Contains(written, "url: https://<path:secret/data/app#host>/db") || !strings.Contains(written, "user: <path:secret/data/app#user>") {
		t.Fatalf("mixed.yaml:\n%s", written)
	}

	if findings := scanTree(t, root); len(findings) != 0 {
		t.Errorf("the sealed tree does not scan clean: %d finding(s), the first at line %d", len(findings), findings[0].Line)
	}
	// Latchkey unseals and resolves: the render is the same, value by value.
	after, err := r.Digest(ctx, root, mac)
	if err != nil {
		t.Fatal(err)
	}
	if c := Compare(before, after); len(c.Differ) > 0 || len(c.Unproven) > 0 || c.Compared != 3 {
		t.Fatalf("compare: %+v (after failed: %v)", c, after.Failed)
	}
	// The upstream unseal (what the sealed-secrets controller creates)
	// opens the literal and leaves the references as text.
	objs := parseObjects(t, written)
	u := sealing.NewUnsealer(keys)
	sec, err := u.Unseal(ctx, objs[0])
	if err != nil {
		t.Fatal(err)
	}
	data, err := sealing.SecretData(sec)
	if err != nil {
		t.Fatal(err)
	}
	if string(data["password"]) != canary || string(data["url"]) != "https://<path:secret/data/app#host>/db" || string(data["user"]) != "<path:secret/data/app#user>" {
		t.Fatalf("unsealed keys: %v", keysOfBytes(data))
	}
}

func TestSealLeavesAloneReferencesItCannotKeep(t *testing.T) {
	for _, tc := range []struct{ name, body, reason string }{
		{"a reference in clear in data", "data:\n  url: <path:secret/data/app#url>\nstringData:\n  password: Kd8-canary-mixed-Pq2Zr7\n", "data.url holds a reference written in clear"},
		{"a key in data and stringData", "data:\n  url: " + base64.StdEncoding.EncodeToString([]byte("x")) + "\nstringData:\n  url: <path:secret/data/app#url>\n  password: Kd8-canary-mixed-Pq2Zr7\n", "key url is in both data and stringData"},
		{"a reference with template braces", "stringData:\n  url: '<path:secret/data/app#url | jsonPath {{.a}}>'\n  password: Kd8-canary-mixed-Pq2Zr7\n", "contains {{"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			doc := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mixed\n" + tc.body
			if err := os.WriteFile(filepath.Join(root, "mixed.yaml"), []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			sites, skipped, err := Locate(root, scanTree(t, root), "default")
			if err != nil {
				t.Fatal(err)
			}
			plan, err := PlanSeal(root, sites, skipped)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Secrets) != 0 || len(plan.Skipped) == 0 || !strings.Contains(plan.Skipped[len(plan.Skipped)-1].Reason, tc.reason) {
				t.Fatalf("plan: %+v", plan.Skipped)
			}
		})
	}
}

func parseObjects(t *testing.T, text string) []*unstructured.Unstructured {
	t.Helper()
	var obj map[string]any
	if err := sigsyaml.Unmarshal([]byte(text), &obj); err != nil {
		t.Fatal(err)
	}
	return []*unstructured.Unstructured{{Object: obj}}
}

func keysOfBytes(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func x509MarshalPKCS1(k *rsa.PrivateKey) []byte { return x509.MarshalPKCS1PrivateKey(k) }
