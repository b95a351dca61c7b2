package migration

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"

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

func TestSealRefusesASecretMixingReferencesAndLiterals(t *testing.T) {
	root := t.TempDir()
	doc := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mixed\nstringData:\n  url: <path:secret/data/app#url>\n  password: Kd8-canary-mixed-Pq2Zr7\n"
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
	if len(plan.Secrets) != 0 || len(plan.Skipped) != 1 || !strings.Contains(plan.Skipped[0].Reason, "mixes Vault references and literals") {
		t.Fatalf("plan: %+v", plan)
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func x509MarshalPKCS1(k *rsa.PrivateKey) []byte { return x509.MarshalPKCS1PrivateKey(k) }
