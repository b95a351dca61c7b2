package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// Pinned versions of the control plane (components.Tools).
const (
	KubeAPIServerVersion = components.KubeAPIServerVersion
	EtcdVersion          = components.EtcdVersion
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

	// control is the launched control plane, for the restarts below; nil
	// for a Kube a test built as a literal.
	control *components.Kube
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

// StartKube starts kube-apiserver and etcd on free loopback ports, for this
// test alone; Shared is the control plane the tests of a package share. The
// CRDs of the chart (charts/latchkey/crds) are installed when that directory
// exists.
func StartKube(t testing.TB, opts ...KubeOption) *Kube {
	t.Helper()
	k, err := launchKube(opts...)
	if k != nil {
		t.Cleanup(func() { stopped(t, "kube-apiserver", k.Stop()) })
	}
	started(t, "starting kube-apiserver", err)
	return wrapKube(k)
}

// launchKube starts a control plane with the chart's CRDs and opts; on an
// error the returned Kube (if any) still needs stopping.
func launchKube(opts ...KubeOption) (*components.Kube, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	k := &components.Kube{Scheme: scheme}
	if crds, err := components.ChartCRDs(); err == nil && dirExists(crds) {
		k.CRDPaths = append(k.CRDPaths, crds)
	}
	for _, o := range opts {
		k.Configure = append(k.Configure, o)
	}
	return k, k.Start()
}

func wrapKube(k *components.Kube) *Kube {
	return &Kube{Config: k.Config, Client: k.Client, Clientset: k.Clientset, Scheme: k.Scheme, control: k}
}

// StopAPIServer stops kube-apiserver alone; StartAPIServer starts it again
// on the same port and certificates, so kubeconfigs written before stay
// valid. For fault injection; never on the Shared control plane.
func (k *Kube) StopAPIServer(t testing.TB) { k.restart(t, (*components.Kube).StopAPIServer) }

// StartAPIServer starts the kube-apiserver StopAPIServer stopped and waits
// until it is healthy.
func (k *Kube) StartAPIServer(t testing.TB) { k.restart(t, (*components.Kube).StartAPIServer) }

// StopEtcd stops etcd alone, keeping its data; StartEtcd starts it again on
// the same address.
func (k *Kube) StopEtcd(t testing.TB) { k.restart(t, (*components.Kube).StopEtcd) }

// StartEtcd starts the etcd StopEtcd stopped and waits until it is healthy.
func (k *Kube) StartEtcd(t testing.TB) { k.restart(t, (*components.Kube).StartEtcd) }

func (k *Kube) restart(t testing.TB, step func(*components.Kube) error) {
	t.Helper()
	if k.control == nil {
		t.Fatal("testenv: this Kube was not started by StartKube")
	}
	if err := step(k.control); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// launched is the launcher's view of k, which may have been built as a
// literal (a Config alone) by a test.
func (k *Kube) launched() *components.Kube {
	return &components.Kube{Config: k.Config, Client: k.Client, Clientset: k.Clientset, Scheme: k.Scheme}
}

// CreateNamespace creates a namespace (if missing) and returns its name.
func (k *Kube) CreateNamespace(t testing.TB, name string) string {
	t.Helper()
	if err := k.launched().CreateNamespace(context.Background(), name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return name
}

// ServiceAccountToken creates the ServiceAccount namespace/name if missing and
// returns a token for it from the TokenRequest API, as a kubelet would mount.
func (k *Kube) ServiceAccountToken(t testing.TB, namespace, name string, audiences ...string) string {
	t.Helper()
	token, err := k.launched().ServiceAccountToken(context.Background(), namespace, name, audiences...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return token
}

// BindClusterRole binds a ClusterRole to a ServiceAccount cluster-wide.
func (k *Kube) BindClusterRole(t testing.TB, clusterRole, namespace, serviceAccount string) {
	t.Helper()
	if err := k.launched().BindClusterRole(context.Background(), clusterRole, namespace, serviceAccount); err != nil {
		t.Fatalf("testenv: %v", err)
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
	if err := os.WriteFile(path, components.Kubeconfig(k.Config), 0o600); err != nil {
		t.Fatalf("testenv: writing kubeconfig: %v", err)
	}
	return path
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
