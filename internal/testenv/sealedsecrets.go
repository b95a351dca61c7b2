package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// SealedSecretsVersion pins the upstream sealed-secrets release whose kubeseal
// and controller Latchkey must interoperate with.
const SealedSecretsVersion = "v0.36.0"

// SealedSecrets is the upstream sealed-secrets controller running against a
// Kube, with its SealedSecret CRD installed.
type SealedSecrets struct {
	// Namespace holds the controller's key Secrets.
	Namespace string
	// ControllerName is the controller's name, as kubeseal's --controller-name.
	ControllerName string
	// CertPEM is the controller's current public certificate.
	CertPEM []byte
	// CertURL serves CertPEM like the controller's /v1/cert.pem endpoint.
	CertURL string
	// Kubeseal is the path of the upstream kubeseal binary.
	Kubeseal string

	kube *Kube
	logs *Output
}

// Logs returns everything the controller has printed so far, for tests that
// search every output channel for a canary value.
func (s *SealedSecrets) Logs() string { return s.logs.String() }

// Seal seals secretYAML with the upstream kubeseal and the controller's
// certificate, as a developer does before committing, and returns the
// SealedSecret as YAML.
func (s *SealedSecrets) Seal(t testing.TB, secretYAML string) string {
	t.Helper()
	cert := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(cert, s.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.Kubeseal, "--cert", cert, "--format", "yaml")
	cmd.Stdin = strings.NewReader(secretYAML)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubeseal: %v: %s", err, stderr.String())
	}
	return string(out)
}

// WaitForSecret waits until the controller has unsealed a SealedSecret into
// the Secret ns/name and returns that Secret. The controller works
// asynchronously, so a test that applies a SealedSecret polls for the
// result; on a timeout it fails with the controller's logs, which say why
// it refused to unseal.
func (s *SealedSecrets) WaitForSecret(t testing.TB, ns, name string) *corev1.Secret {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got corev1.Secret
		err := s.kube.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &got)
		if err == nil {
			return &got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the controller did not create Secret %s/%s within 30s (%v); controller logs:\n%s", ns, name, err, s.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// StartSealedSecrets runs the upstream controller out of cluster against k in
// namespace kube-system, the upstream default.
//
// The controller only knows in-cluster configuration (a ServiceAccount token
// and CA at a fixed path under /var/run/secrets), so it is started in a private
// mount namespace where a temp directory is bound over that path: the real
// binary, unmodified, with nothing written outside the test's temp dirs.
func StartSealedSecrets(t testing.TB, k *Kube) *SealedSecrets {
	t.Helper()
	controller := requireTool(t, "sealed-secrets-controller", SealedSecretsVersion)
	kubeseal := requireTool(t, "kubeseal", SealedSecretsVersion)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		Unavailable(t, "unshare (util-linux) is needed to run the sealed-secrets controller out of cluster")
	}
	crd := filepath.Join(filepath.Dir(controller), "crds")
	if _, err := envtest.InstallCRDs(k.Config, envtest.CRDInstallOptions{Paths: []string{crd}, ErrorIfPathMissing: true}); err != nil {
		t.Fatalf("testenv: installing the SealedSecret CRD from %s: %v", crd, err)
	}

	const ns, name = "kube-system", "sealed-secrets-controller"
	token := k.ServiceAccountToken(t, ns, name)
	k.BindClusterRole(t, "cluster-admin", ns, name)
	saDir := t.TempDir()
	for file, data := range map[string][]byte{"token": []byte(token), "ca.crt": k.CACert(), "namespace": []byte(ns)} {
		if err := os.WriteFile(filepath.Join(saDir, file), data, 0o600); err != nil {
			t.Fatalf("testenv: writing service account files: %v", err)
		}
	}
	host, err := url.Parse(k.Host())
	if err != nil {
		t.Fatalf("testenv: API server URL %q: %v", k.Host(), err)
	}
	listen, metrics := FreeLoopbackAddr(t), FreeLoopbackAddr(t)

	const saPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	script := `set -e
mkdir -p ` + saPath + ` 2>/dev/null || { mount -t tmpfs tmpfs /run && mkdir -p ` + saPath + `; }
mount --bind "$SA_DIR" ` + saPath + `
exec "$@"`
	args := []string{"--mount", "--propagation", "private"}
	if os.Geteuid() != 0 {
		args = append(args, "--map-root-user")
	}
	args = append(args, "sh", "-c", script, "sh", controller,
		"--listen-addr", listen, "--listen-metrics-addr", metrics, "--update-status")
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(),
		"SA_DIR="+saDir,
		"KUBERNETES_SERVICE_HOST="+host.Hostname(),
		"KUBERNETES_SERVICE_PORT="+host.Port(),
		"POD_NAMESPACE="+ns,
	)
	logs := &Output{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: starting sealed-secrets controller: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})

	s := &SealedSecrets{Namespace: ns, ControllerName: name, Kubeseal: kubeseal, kube: k, logs: logs,
		CertURL: "http://" + listen + "/v1/cert.pem"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		cert, err := fetch(ctx, s.CertURL)
		if err == nil && bytes.Contains(cert, []byte("BEGIN CERTIFICATE")) {
			s.CertPEM = cert
			return s
		}
		select {
		case <-exited:
			t.Fatalf("testenv: sealed-secrets controller exited before serving its certificate:\n%s", logs)
		case <-ctx.Done():
			t.Fatalf("testenv: sealed-secrets controller did not serve %s within 60s (last error: %v):\n%s", s.CertURL, err, logs)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func fetch(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
