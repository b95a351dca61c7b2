package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
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

// Pinned versions of the control plane; tools/install.sh builds the same.
const (
	KubeAPIServerVersion = "v1.37.2"
	EtcdVersion          = "v3.6.16"
)

// Kube is a running kube-apiserver + etcd pair.
type Kube struct {
	// Config authenticates as a cluster admin (client certificate).
	Config *rest.Config
	// Client is a controller-runtime client with the client-go scheme plus any
	// types added by KubeOptions.
	Client client.Client
	// Clientset is the typed client-go clientset on the same Config.
	Clientset kubernetes.Interface
	Scheme    *runtime.Scheme
}

// KubeOption changes how StartKube starts the control plane.
type KubeOption func(*envtest.Environment)

// WithCRDPaths installs the CRDs found in these files or directories.
func WithCRDPaths(paths ...string) KubeOption {
	return func(e *envtest.Environment) { e.CRDDirectoryPaths = append(e.CRDDirectoryPaths, paths...) }
}

// WithScheme registers more types (for example the Sync API) on the client.
func WithScheme(add func(*runtime.Scheme) error) KubeOption {
	return func(e *envtest.Environment) {
		if err := add(e.Scheme); err != nil {
			panic(err) // a programming error in the test, not a runtime condition
		}
	}
}

// StartKube starts kube-apiserver and etcd on free loopback ports. The CRDs of
// the chart (charts/latchkey/crds) are installed when that directory exists.
func StartKube(t testing.TB, opts ...KubeOption) *Kube {
	t.Helper()
	apiserver := requireTool(t, "kube-apiserver", KubeAPIServerVersion)
	etcd := requireTool(t, "etcd", EtcdVersion)

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatalf("testenv: building scheme: %v", err)
	}
	env := &envtest.Environment{
		Scheme:                   scheme,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	env.ControlPlane.GetAPIServer().Path = apiserver
	env.ControlPlane.Etcd = &envtest.Etcd{Path: etcd}
	if crds := filepath.Join(ModuleRoot(t), "charts", "latchkey", "crds"); dirExists(crds) {
		env.CRDDirectoryPaths = append(env.CRDDirectoryPaths, crds)
	}
	for _, o := range opts {
		o(env)
	}
	env.CRDInstallOptions.Scheme = scheme

	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("testenv: starting kube-apiserver %s and etcd %s: %v", KubeAPIServerVersion, EtcdVersion, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Logf("testenv: stopping kube-apiserver: %v", err)
		}
	})
	// The default client-go limits (5 QPS) make tests measure the rate limiter.
	cfg.QPS, cfg.Burst = 500, 1000

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("testenv: kubernetes client: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("testenv: kubernetes clientset: %v", err)
	}
	return &Kube{Config: cfg, Client: c, Clientset: cs, Scheme: scheme}
}

// CreateNamespace creates a namespace (if missing) and returns its name.
func (k *Kube) CreateNamespace(t testing.TB, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("testenv: creating namespace %s: %v", name, err)
	}
	return name
}

// ServiceAccountToken creates the ServiceAccount namespace/name if missing and
// returns a token for it from the TokenRequest API, as a kubelet would mount.
func (k *Kube) ServiceAccountToken(t testing.TB, namespace, name string, audiences ...string) string {
	t.Helper()
	ctx := context.Background()
	k.CreateNamespace(t, namespace)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := k.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("testenv: creating service account %s/%s: %v", namespace, name, err)
	}
	expiry := int64(3600)
	tr, err := k.Clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("testenv: requesting token for %s/%s: %v", namespace, name, err)
	}
	return tr.Status.Token
}

// BindClusterRole binds a ClusterRole to a ServiceAccount cluster-wide.
func (k *Kube) BindClusterRole(t testing.TB, clusterRole, namespace, serviceAccount string) {
	t.Helper()
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: clusterRole + ":" + namespace + ":" + serviceAccount},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: serviceAccount}},
	}
	if err := k.Client.Create(context.Background(), b); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("testenv: binding %s to %s/%s: %v", clusterRole, namespace, serviceAccount, err)
	}
}

// Host is the API server URL, as a client outside the test process (Vault,
// the sealed-secrets controller) reaches it.
func (k *Kube) Host() string { return k.Config.Host }

// CACert is the PEM bundle that verifies the API server's serving certificate.
func (k *Kube) CACert() []byte { return k.Config.CAData }

// WriteKubeconfig writes a kubeconfig for the admin user into a temp dir and
// returns its path, for out-of-process clients (kubeseal, latchkey itself).
func (k *Kube) WriteKubeconfig(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfigFor(k.Config), 0o600); err != nil {
		t.Fatalf("testenv: writing kubeconfig: %v", err)
	}
	return path
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
