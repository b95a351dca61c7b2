package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/sealing"
)

// The versions `make tools` builds (tools/install.sh).
const (
	devKubeVersion  = "v1.37.2"
	devEtcdVersion  = "v3.6.16"
	devVaultVersion = "v1.21.0"
)

// devTool is where `make tools` put a binary:
// ${LATCHKEY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/tools}/<name>-<version>/<name>.
func devTool(name, version string) (string, error) {
	root := os.Getenv("LATCHKEY_TOOLS_DIR")
	if root == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", errors.New("cannot locate the tool cache: set LATCHKEY_TOOLS_DIR")
			}
			cache = filepath.Join(home, ".cache")
		}
		root = filepath.Join(cache, "latchkey", "tools")
	}
	p := filepath.Join(root, name+"-"+version, name)
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return "", fmt.Errorf("%s %s is not built (%s): run `make tools`", name, version, p)
	}
	return p, nil
}

// startDevKube starts kube-apiserver and etcd with the Sync CRD installed
// and writes a kubeconfig into dir.
func startDevKube(dir string) (*rest.Config, func(), error) {
	apiserver, err := devTool("kube-apiserver", devKubeVersion)
	if err != nil {
		return nil, nil, err
	}
	etcd, err := devTool("etcd", devEtcdVersion)
	if err != nil {
		return nil, nil, err
	}
	scheme, err := reconcile.Scheme()
	if err != nil {
		return nil, nil, err
	}
	crds, err := chartCRDs()
	if err != nil {
		return nil, nil, err
	}
	env := &envtest.Environment{
		Scheme:                   scheme,
		CRDDirectoryPaths:        []string{crds},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	env.ControlPlane.GetAPIServer().Path = apiserver
	env.ControlPlane.Etcd = &envtest.Etcd{Path: etcd}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting the control plane: %w", err)
	}
	stop := func() { _ = env.Stop() }
	user, err := env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		stop()
		return nil, nil, err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		stop()
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), kc, 0o600); err != nil {
		stop()
		return nil, nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, stop, nil
}

// chartCRDs finds charts/latchkey/crds of the checkout the demo runs in
// (make demo runs from it), which holds the Sync CRD.
func chartCRDs() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/latchkey-dev/latchkey\n")) {
			return filepath.Join(d, "charts", "latchkey", "crds"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("latchkey dev runs from a Latchkey checkout (it installs charts/latchkey/crds); %s is not in one", dir)
		}
	}
}

func devClient(cfg *rest.Config) (client.Client, error) {
	scheme, err := reconcile.Scheme()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// devVault is a Vault dev server child process.
type devVault struct {
	addr, token string
	cmd         *exec.Cmd
	done        chan struct{}
}

func startDevVault(ctx context.Context, dir string) (*devVault, error) {
	bin, err := devTool("vault", devVaultVersion)
	if err != nil {
		return nil, err
	}
	v := &devVault{token: "root-" + rand.Text(), done: make(chan struct{})}
	v.cmd = exec.Command(bin, "server", "-dev", "-dev-listen-address=127.0.0.1:0", "-dev-root-token-id="+v.token)
	v.cmd.Dir = dir
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, "vault.log"))
	if err != nil {
		return nil, err
	}
	v.cmd.Stderr = logf
	stdout, err := v.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := v.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting vault: %w", err)
	}
	go func() { _ = v.cmd.Wait(); logf.Close(); close(v.done) }()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "==> Vault dev server ready:") {
				for _, f := range strings.Fields(line) {
					if a, ok := strings.CutPrefix(f, "addr="); ok {
						ready <- a
					}
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case v.addr = <-ready:
		return v, nil
	case <-v.done:
		return nil, fmt.Errorf("vault exited at start; see %s", filepath.Join(dir, "vault.log"))
	case <-time.After(60 * time.Second):
		v.stop()
		return nil, errors.New("vault did not start within 60s")
	case <-ctx.Done():
		v.stop()
		return nil, ctx.Err()
	}
}

func (v *devVault) stop() {
	_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-v.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
		<-v.done
	}
}

func (v *devVault) client() (*vaultapi.Client, error) {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = v.addr
	cfg.Timeout = 10 * time.Second
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(v.token)
	return c, nil
}

// put writes a new version of secret/<path> and returns its number.
func (v *devVault) put(ctx context.Context, path string, data map[string]any) (int, error) {
	c, err := v.client()
	if err != nil {
		return 0, err
	}
	s, err := c.KVv2("secret").Put(ctx, path, data)
	if err != nil {
		return 0, fmt.Errorf("writing secret/%s: %w", path, err)
	}
	return s.VersionMetadata.Version, nil
}

func (v *devVault) config() *config.Vault {
	return &config.Vault{Address: v.addr, Timeout: 10 * time.Second, MaxRetries: 1, Concurrency: 8,
		Auth: config.VaultAuth{Method: config.VaultAuthToken, Token: config.Sensitive(v.token)}}
}

// devSealedSecret creates a sealing key Secret in kube-system, as the
// sealed-secrets controller does at its first start, and returns a
// SealedSecret manifest (strict scope) of name in namespace.
func devSealedSecret(ctx context.Context, c client.Client, namespace, name, key, value string) (string, error) {
	priv, cert, err := sscrypto.GeneratePrivateKeyAndCert(2048, 24*time.Hour, "latchkey-dev")
	if err != nil {
		return "", err
	}
	keySecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: sealing.DefaultControllerNamespace, GenerateName: "sealed-secrets-key",
			Labels: map[string]string{sealing.KeyLabel: "active"}},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}),
		},
	}
	if err := c.Create(ctx, keySecret); err != nil {
		return "", fmt.Errorf("creating the sealing key: %w", err)
	}
	ct, err := sealing.SealRaw([]byte(value), namespace, name, ssv1alpha1.StrictScope, &priv.PublicKey)
	if err != nil {
		return "", err
	}
	ss := map[string]any{
		"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec":     map[string]any{"encryptedData": map[string]any{key: ct}},
	}
	b, err := yaml.Marshal(ss)
	return string(b), err
}

// devGit serves one repository over smart HTTP with the real git
// http-backend, and commits to it from a working clone.
type devGit struct {
	url, work string
	srv       *http.Server
}

func startDevGit(dir string) (*devGit, error) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return nil, errors.New("git is not installed")
	}
	root := filepath.Join(dir, "git")
	bare := filepath.Join(root, "demo.git")
	work := filepath.Join(dir, "work")
	for _, args := range [][]string{
		{"init", "--quiet", "--bare", "--initial-branch=main", bare},
		{"-C", bare, "config", "http.receivepack", "true"},
		{"init", "--quiet", "--initial-branch=main", work},
		{"-C", work, "remote", "add", "origin", bare},
	} {
		if err := runDevGit("", args...); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: &cgi.Handler{
		Path: gitBin, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}}
	go func() { _ = srv.Serve(ln) }()
	return &devGit{url: "http://" + ln.Addr().String() + "/demo.git", work: work, srv: srv}, nil
}

func (g *devGit) stop() { _ = g.srv.Close() }

// commit writes files, commits and pushes; it returns the commit SHA.
func (g *devGit) commit(message string, files map[string]string) (string, error) {
	for name, content := range files {
		p := filepath.Join(g.work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	for _, args := range [][]string{{"add", "--all"}, {"commit", "--quiet", "--allow-empty", "-m", message}, {"push", "--quiet", "origin", "main"}} {
		if err := runDevGit(g.work, args...); err != nil {
			return "", err
		}
	}
	return g.head()
}

// revert reverts the last commit, as `git revert` does, and pushes.
func (g *devGit) revert() (string, error) {
	for _, args := range [][]string{{"revert", "--no-edit", "HEAD"}, {"push", "--quiet", "origin", "main"}} {
		if err := runDevGit(g.work, args...); err != nil {
			return "", err
		}
	}
	return g.head()
}

// head is the SHA of the work clone's HEAD.
func (g *devGit) head() (string, error) {
	var out bytes.Buffer
	cmd := exec.Command("git", "-C", g.work, "rev-parse", "HEAD")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

func runDevGit(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=latchkey dev", "GIT_AUTHOR_EMAIL=dev@latchkey.invalid",
		"GIT_COMMITTER_NAME=latchkey dev", "GIT_COMMITTER_EMAIL=dev@latchkey.invalid")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

// devApp is the reference-only app the demo commits.
// devServiceAccount creates the ServiceAccount a Sync of namespace acts as,
// with a Role over the demo app's kinds in that namespace only, as a
// platform team gives each team (docs/tenancy.md).
func devServiceAccount(ctx context.Context, c client.Client, namespace, name string) error {
	all := []string{"get", "list", "watch", "create", "patch", "delete"}
	for _, o := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: all},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: all},
		}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}}},
	} {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating the demo's ServiceAccount and Role: %w", err)
		}
	}
	return nil
}

func devApp(sealedToken string) map[string]string {
	return map[string]string{
		"apps/shop/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n",
		"apps/shop/db.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  username: <path:secret/data/demo/db#username>
  password: <path:secret/data/demo/db#password>
`,
		"apps/shop/api-token.yaml": sealedToken,
		"apps/shop/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example/shop-web:1.0
        envFrom:
        - configMapRef: {name: settings}
        env:
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        - name: API_TOKEN
          valueFrom: {secretKeyRef: {name: api-token, key: token}}
`,
	}
}
