package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// selfSignedCert writes a sealing certificate for tests that do not need a
// controller to decrypt.
func selfSignedCert(t *testing.T, dir string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sealed-secret"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cert.pem")
	writeFile(t, path, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	return path
}

const deviceDirEnv = "LATCHKEY_TEST_DEVICE_DIR"

// latchkey seal -w /dev/null must not replace the device node with a
// regular file (the atomic writer renames over its target). Run as root in a
// private mount namespace, on a tmpfs holding a fresh null device, so the
// host's /dev is never at stake.
func TestSealWritesInPlaceToDevices(t *testing.T) {
	if dir := os.Getenv(deviceDirEnv); dir != "" {
		// In the namespace: the real command, in process.
		dev := filepath.Join(dir, "null")
		code, _, errOut := run(t, "", "seal", "--cert", filepath.Join(os.Getenv(deviceDirEnv+"_IN"), "cert.pem"),
			"-f", filepath.Join(os.Getenv(deviceDirEnv+"_IN"), "secret.yaml"), "-w", dev)
		if code != 0 {
			t.Fatalf("seal -w %s: exit %d %s", dev, code, errOut)
		}
		st, err := os.Lstat(dev)
		if err != nil || st.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("%s after seal -w: %v, mode %v; want the character device still there", dev, err, st.Mode())
		}
		return
	}
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "needs root: mknod and a private mount namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testenv.Unavailable(t, "unshare (util-linux) is needed for a private mount namespace")
	}
	in, dev := t.TempDir(), t.TempDir()
	selfSignedCert(t, in)
	writeFile(t, filepath.Join(in, "secret.yaml"), "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: x}\n")
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs tmpfs "$1" && mknod "$1/null" c 1 3 && exec "$2" -test.run='^TestSealWritesInPlaceToDevices$' -test.count=1 -test.v`,
		"sh", dev, os.Args[0])
	cmd.Env = append(os.Environ(), deviceDirEnv+"="+dev, deviceDirEnv+"_IN="+in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "unshare failed") || strings.Contains(string(out), "Operation not permitted") {
			testenv.Unavailable(t, "no private mount namespace here: "+strings.TrimSpace(string(out)))
		}
		t.Fatalf("in the namespace: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestSealWritesInPlaceToDevices") {
		t.Fatalf("the namespaced run did not pass:\n%s", out)
	}
	// Regular files are still replaced atomically.
	target := filepath.Join(in, "sealed.yaml")
	if code, _, errOut := run(t, "", "seal", "--cert", filepath.Join(in, "cert.pem"), "-f", filepath.Join(in, "secret.yaml"), "-w", target); code != 0 {
		t.Fatalf("seal -w FILE: exit %d %s", code, errOut)
	}
	if data, err := os.ReadFile(target); err != nil || !strings.Contains(string(data), "kind: SealedSecret") {
		t.Fatalf("sealed file: %v\n%s", err, data)
	}
}

// Wrong inputs are named with the fix, not the decoder's internals.
func TestSealInputErrorsNameTheFix(t *testing.T) {
	dir := t.TempDir()
	cert := selfSignedCert(t, dir)
	for _, tc := range []struct{ name, input, want string }{
		{"ConfigMap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\ndata: {k: v}\n", "only Secrets are sealed"},
		{"already sealed", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a, namespace: x}\nspec: {encryptedData: {k: AgBy}}\n", "already sealed"},
		{"no namespace", "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {k: v}\n", "pass -n NAMESPACE"},
		{"empty", "", "the input is empty"},
	} {
		code, _, errOut := run(t, tc.input, "seal", "--cert", cert, "--kubeconfig", filepath.Join(dir, "none"))
		if code == 0 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "unmarshal") {
			t.Errorf("%s: exit %d %q; want %q", tc.name, code, errOut, tc.want)
		}
	}
	t.Setenv("KUBECONFIG", filepath.Join(dir, "none"))
	code, _, errOut := run(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: x}\nstringData: {k: v}\n", "seal")
	if code == 0 || !strings.Contains(errOut, "pass --cert FILE") {
		t.Errorf("no certificate: exit %d %q", code, errOut)
	}
}
