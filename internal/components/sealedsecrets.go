package components

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// SealedSecrets is the upstream sealed-secrets controller running out of
// cluster against a Kube, with its SealedSecret CRD installed, in namespace
// kube-system (the upstream default), plus the upstream kubeseal.
type SealedSecrets struct {
	Kube *Kube
	// Dir holds the controller's ServiceAccount files; it must exist and
	// outlive the controller.
	Dir string

	// Set by Start.
	//
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

	logs   lockedBuffer
	cmd    *exec.Cmd
	exited chan struct{}
}

// Logs returns everything the controller has printed so far, for tests that
// search every output channel for a canary value.
func (s *SealedSecrets) Logs() string { return s.logs.String() }

// Start installs the CRD and runs the controller until it serves its
// certificate.
//
// The controller only knows in-cluster configuration (a ServiceAccount token
// and CA at a fixed path under /var/run/secrets), so it is started in a private
// mount namespace where Dir is bound over that path: the real binary,
// unmodified, with nothing written outside Dir.
func (s *SealedSecrets) Start(ctx context.Context) error {
	controller, err := ToolPath("sealed-secrets-controller")
	if err != nil {
		return err
	}
	if s.Kubeseal, err = ToolPath("kubeseal"); err != nil {
		return err
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return unavailable("unshare (util-linux) is needed to run the sealed-secrets controller out of cluster")
	}
	crd := filepath.Join(filepath.Dir(controller), "crds")
	if _, err := envtest.InstallCRDs(s.Kube.Config, envtest.CRDInstallOptions{Paths: []string{crd}, ErrorIfPathMissing: true}); err != nil {
		return fmt.Errorf("installing the SealedSecret CRD from %s: %w", crd, err)
	}
	s.Namespace, s.ControllerName = "kube-system", "sealed-secrets-controller"
	if err := s.writeServiceAccount(ctx); err != nil {
		return err
	}
	listen, err := FreeLoopbackAddr()
	if err != nil {
		return err
	}
	metrics, err := FreeLoopbackAddr()
	if err != nil {
		return err
	}
	if err := s.startProcess(unshare, controller, listen, metrics); err != nil {
		return err
	}
	s.CertURL = "http://" + listen + "/v1/cert.pem"
	if err := s.waitCert(ctx); err != nil {
		return errors.Join(err, s.Stop())
	}
	return nil
}

// writeServiceAccount writes what a kubelet would mount for the
// controller's ServiceAccount (a cluster admin, as the upstream chart's
// rights amount to) into Dir.
func (s *SealedSecrets) writeServiceAccount(ctx context.Context) error {
	token, err := s.Kube.ServiceAccountToken(ctx, s.Namespace, s.ControllerName)
	if err != nil {
		return err
	}
	if err := s.Kube.BindClusterRole(ctx, "cluster-admin", s.Namespace, s.ControllerName); err != nil {
		return err
	}
	for file, data := range map[string][]byte{"token": []byte(token), "ca.crt": s.Kube.CACert(), "namespace": []byte(s.Namespace)} {
		if err := os.WriteFile(filepath.Join(s.Dir, file), data, 0o600); err != nil {
			return fmt.Errorf("writing the sealed-secrets controller's service account files: %w", err)
		}
	}
	return nil
}

func (s *SealedSecrets) startProcess(unshare, controller, listen, metrics string) error {
	host, err := url.Parse(s.Kube.Host())
	if err != nil {
		return fmt.Errorf("API server URL %q: %w", s.Kube.Host(), err)
	}
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
		"SA_DIR="+s.Dir,
		"KUBERNETES_SERVICE_HOST="+host.Hostname(),
		"KUBERNETES_SERVICE_PORT="+host.Port(),
		"POD_NAMESPACE="+s.Namespace,
	)
	cmd.Stdout, cmd.Stderr = &s.logs, &s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the sealed-secrets controller: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	return nil
}

func (s *SealedSecrets) waitCert(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		cert, err := fetch(ctx, s.CertURL)
		if err == nil && bytes.Contains(cert, []byte("BEGIN CERTIFICATE")) {
			s.CertPEM = cert
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("the sealed-secrets controller exited before serving its certificate:\n%s", s.Logs())
		case <-ctx.Done():
			return fmt.Errorf("the sealed-secrets controller did not serve %s within 60s (last error: %v):\n%s", s.CertURL, err, s.Logs())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop ends the controller's process group (unshare, sh and the controller).
func (s *SealedSecrets) Stop() error {
	if s.cmd == nil {
		return nil
	}
	pid := s.cmd.Process.Pid
	s.cmd = nil
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-s.exited
		return errors.New("the sealed-secrets controller did not stop within 10s of SIGTERM; killed")
	}
}

// Seal seals secretYAML with the upstream kubeseal and the controller's
// certificate, as a developer does before committing, and returns the
// SealedSecret as YAML. The certificate goes through a file in scratch (an
// existing directory).
func (s *SealedSecrets) Seal(secretYAML, scratch string) (string, error) {
	cert := filepath.Join(scratch, "cert.pem")
	if err := os.WriteFile(cert, s.CertPEM, 0o600); err != nil {
		return "", err
	}
	cmd := exec.Command(s.Kubeseal, "--cert", cert, "--format", "yaml")
	cmd.Stdin = strings.NewReader(secretYAML)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("kubeseal: %w: %s", err, stderr.String())
	}
	return string(out), nil
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

// lockedBuffer is a bytes.Buffer a process writes while others read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
