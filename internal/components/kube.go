package components

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Kube is a kube-apiserver + etcd pair started through envtest, with RBAC
// on (envtest's default authorization is RBAC plus Node).
type Kube struct {
	// Scheme the clients use; nil means client-go's. Configure functions may
	// add types to it before the CRDs are installed.
	Scheme *runtime.Scheme
	// CRDPaths are files or directories of CRDs installed at start; a
	// missing path is an error.
	CRDPaths []string
	// Audit, when set, makes the API server write an audit log.
	Audit *KubeAudit
	// Configure changes the envtest environment last, before it starts (API
	// server flags, feature gates).
	Configure []func(*envtest.Environment)

	// Set by Start.
	//
	// Config authenticates as a cluster admin (client certificate).
	Config *rest.Config
	// Client is a controller-runtime client on Config with Scheme.
	Client client.Client
	// Clientset is the typed client-go clientset on the same Config.
	Clientset kubernetes.Interface

	env *envtest.Environment
	// dirs are the API server's certificates and etcd's data, made here
	// rather than by envtest so a stopped process starts again on the same
	// ones (see StopAPIServer); Stop removes them.
	dirs []string
}

// Start starts kube-apiserver and etcd on free loopback ports, installs the
// CRDs and builds the clients.
func (k *Kube) Start() error {
	apiserver, err := ToolPath("kube-apiserver")
	if err != nil {
		return err
	}
	etcd, err := ToolPath("etcd")
	if err != nil {
		return err
	}
	if k.Scheme == nil {
		k.Scheme = runtime.NewScheme()
		if err := clientgoscheme.AddToScheme(k.Scheme); err != nil {
			return fmt.Errorf("building the client-go scheme: %w", err)
		}
	}
	env := &envtest.Environment{
		Scheme:                   k.Scheme,
		CRDDirectoryPaths:        append([]string(nil), k.CRDPaths...),
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	certs, err := os.MkdirTemp("", "latchkey-kube-apiserver-")
	if err != nil {
		return fmt.Errorf("kube-apiserver certificate directory: %w", err)
	}
	data, err := os.MkdirTemp("", "latchkey-etcd-")
	if err != nil {
		return errors.Join(fmt.Errorf("etcd data directory: %w", err), os.RemoveAll(certs))
	}
	k.dirs = []string{certs, data}
	env.ControlPlane.GetAPIServer().Path = apiserver
	env.ControlPlane.GetAPIServer().CertDir = certs
	env.ControlPlane.Etcd = &envtest.Etcd{Path: etcd, DataDir: data}
	if k.Audit != nil {
		if err := k.Audit.Configure(env); err != nil {
			return err
		}
	}
	for _, configure := range k.Configure {
		configure(env)
	}
	env.CRDInstallOptions.Scheme = env.Scheme

	cfg, err := env.Start()
	if err != nil {
		err = errors.Join(err, k.removeDirs())
		return fmt.Errorf("starting kube-apiserver %s and etcd %s: %w", KubeAPIServerVersion, EtcdVersion, err)
	}
	k.env = env
	// The default client-go limits (5 QPS) make tests measure the rate limiter.
	cfg.QPS, cfg.Burst = 500, 1000
	if err := k.connect(cfg); err != nil {
		return errors.Join(err, k.Stop())
	}
	return nil
}

func (k *Kube) connect(cfg *rest.Config) error {
	c, err := client.New(cfg, client.Options{Scheme: k.Scheme})
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes clientset: %w", err)
	}
	k.Config, k.Client, k.Clientset = cfg, c, cs
	return nil
}

// Stop stops the API server and etcd and removes their files. It is safe
// to call on a Kube that did not start.
func (k *Kube) Stop() error {
	if k.env == nil {
		return nil
	}
	env := k.env
	k.env = nil
	if err := env.Stop(); err != nil {
		return errors.Join(fmt.Errorf("stopping kube-apiserver: %w", err), k.removeDirs())
	}
	return k.removeDirs()
}

func (k *Kube) removeDirs() error {
	var errs []error
	for _, d := range k.dirs {
		errs = append(errs, os.RemoveAll(d))
	}
	k.dirs = nil
	return errors.Join(errs...)
}

// StopAPIServer stops kube-apiserver alone (SIGTERM), as a restart or a
// crash of the control plane's front end does; etcd keeps running.
// StartAPIServer starts it again on the same port with the same serving
// certificate, client CA and service-account keys (envtest keeps them when
// it did not make the directory), so every client's kubeconfig, the
// controller's included, stays valid.
func (k *Kube) StopAPIServer() error {
	if k.env == nil {
		return errors.New("kube-apiserver is not running")
	}
	if err := k.env.ControlPlane.APIServer.Stop(); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	return nil
}

// StartAPIServer starts a kube-apiserver stopped by StopAPIServer and waits
// until it is healthy.
func (k *Kube) StartAPIServer() error {
	if k.env == nil {
		return errors.New("kube-apiserver was never started")
	}
	if err := k.env.ControlPlane.APIServer.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	return nil
}

// StopEtcd stops etcd alone (SIGTERM), keeping its data; kube-apiserver
// keeps running and answers errors until StartEtcd starts it again on the
// same client URL.
func (k *Kube) StopEtcd() error {
	if k.env == nil {
		return errors.New("etcd is not running")
	}
	if err := k.env.ControlPlane.Etcd.Stop(); err != nil {
		return fmt.Errorf("stopping etcd: %w", err)
	}
	return nil
}

// StartEtcd starts an etcd stopped by StopEtcd on its data and waits until
// it is healthy.
func (k *Kube) StartEtcd() error {
	if k.env == nil {
		return errors.New("etcd was never started")
	}
	if err := k.env.ControlPlane.Etcd.Start(); err != nil {
		return fmt.Errorf("starting etcd again: %w", err)
	}
	return nil
}

// Host is the API server URL, as a client outside this process (Vault, the
// sealed-secrets controller) reaches it.
func (k *Kube) Host() string { return k.Config.Host }

// CACert is the PEM bundle that verifies the API server's serving certificate.
func (k *Kube) CACert() []byte { return k.Config.CAData }

// CreateNamespace creates a namespace unless it exists.
func (k *Kube) CreateNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// ServiceAccountToken creates the ServiceAccount namespace/name if missing and
// returns a token for it from the TokenRequest API, as a kubelet would mount.
func (k *Kube) ServiceAccountToken(ctx context.Context, namespace, name string, audiences ...string) (string, error) {
	if err := k.CreateNamespace(ctx, namespace); err != nil {
		return "", err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := k.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("creating service account %s/%s: %w", namespace, name, err)
	}
	expiry := int64(3600)
	tr, err := k.Clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for %s/%s: %w", namespace, name, err)
	}
	return tr.Status.Token, nil
}

// BindClusterRole binds a ClusterRole to a ServiceAccount cluster-wide.
func (k *Kube) BindClusterRole(ctx context.Context, clusterRole, namespace, serviceAccount string) error {
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: clusterRole + ":" + namespace + ":" + serviceAccount},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: serviceAccount}},
	}
	if err := k.Client.Create(ctx, b); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("binding %s to %s/%s: %w", clusterRole, namespace, serviceAccount, err)
	}
	return nil
}
