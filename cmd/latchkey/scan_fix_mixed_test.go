package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// TestScanFixSealKeepsReferencesAndProvesThemFromVault: a Secret mixing a
// literal and a reference is sealed keeping the reference; the proof
// resolves it from the real Vault after unsealing and finds the same
// render; upstream kubeseal opens the literal and shows the reference as
// the text it is to the sealed-secrets controller.
func TestScanFixSealKeepsReferencesAndProvesThemFromVault(t *testing.T) {
	const literal, fromVault = "Mx3-canary-mixedlit-T7qRw2", "Jc9-canary-mixedvault-N4kZp6"
	v := testenv.StartVault(t)
	v.PutKV2(t, "secret", "shop/api", map[string]any{"token": fromVault})
	kubeseal := testenv.ToolPath(t, "kubeseal", testenv.SealedSecretsVersion)
	bin := buildLatchkey(t)
	repo := t.TempDir()
	writeFile(t, filepath.Join(repo, "api.yaml"), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\n  namespace: shop\nstringData:\n  token: <path:secret/data/shop/api#token>\n  password: "+literal+"\n")
	gitIn(t, repo, "init", "-q", "-b", "main")
	gitIn(t, repo, "add", "-A")
	gitIn(t, repo, "commit", "-qm", "a mixed Secret")
	key, cert, err := sscrypto.GeneratePrivateKeyAndCert(2048, time.Hour, "sealed-secret")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	env, tmp := fixEnv(t, "VAULT_ADDR="+v.Addr, "VAULT_TOKEN="+v.RootToken)

	code, stdout, stderr := fixRun(t, bin, repo, env, "scan", "--fix", "seal", "--write", "--cert", certFile, "--unseal-key", keyFile, "--no-history", ".")
	if code != 0 || !strings.Contains(stdout, "references kept in spec.template.data: token") || !strings.Contains(stdout, "proof: the fixed tree renders the same") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	sealed, err := os.ReadFile(filepath.Join(repo, "api.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for where, s := range map[string]string{"stdout and stderr": stdout + stderr, "api.yaml": string(sealed)} {
		if strings.Contains(s, literal) || strings.Contains(s, fromVault) {
			t.Errorf("%s holds a value", where)
		}
	}
	_ = filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), literal) || strings.Contains(string(b), fromVault) {
				t.Errorf("temp file %s holds a value", p)
			}
		}
		return nil
	})
	out, kerr, err := runBin(t, kubeseal, string(sealed), "--recovery-unseal", "--recovery-private-key", keyFile, "-o", "json")
	if err != nil {
		t.Fatalf("kubeseal --recovery-unseal: %v: %s", err, kerr)
	}
	var s struct{ Data map[string][]byte }
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if string(s.Data["password"]) != literal || string(s.Data["token"]) != "<path:secret/data/shop/api#token>" {
		t.Errorf("kubeseal opens the file to keys: password original=%t, token=%q", string(s.Data["password"]) == literal, s.Data["token"])
	}
}
