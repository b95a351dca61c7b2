package reconcile

import (
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// ManagerOptions configure the controller-runtime manager that runs the
// reconciler.
type ManagerOptions struct {
	// MetricsAddr and HealthAddr: "0" (or empty) disables the server.
	MetricsAddr, HealthAddr string
	LeaderElect             bool
	// LeaseDuration, RenewDeadline and RetryPeriod time the lease (zero:
	// controller-runtime's 15s, 10s, 2s); a killed leader is replaced after
	// at most LeaseDuration + RetryPeriod.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Namespace holds the leader election lease.
	Namespace string
	// Shard selects the Syncs this replica reconciles (ShardSelector).
	Shard string
	// Namespaces, when set, restricts the Sync cache to them (a namespaced
	// install, whose RBAC is a Role in each).
	Namespaces []string
}

// Scheme returns the scheme the controller uses: client-go's types and the
// Sync API.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// NewManager returns a manager whose cache holds only the Syncs of its
// shard and never Secrets (the controller reads those directly when it
// needs one, so no Secret of the cluster sits in its memory).
func NewManager(cfg *rest.Config, o ManagerOptions) (ctrl.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	shard, err := ShardSelector(o.Shard)
	if err != nil {
		return nil, fmt.Errorf("--shard %q: %w", o.Shard, err)
	}
	addr := func(a string) string {
		if a == "" {
			return "0"
		}
		return a
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		Cache: cache.Options{DefaultNamespaces: NamespaceConfigs(o.Namespaces), ByObject: map[client.Object]cache.ByObject{
			&v1alpha1.Sync{}: {Label: shard},
		}},
		Client:                        client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Metrics:                       metricsserver.Options{BindAddress: addr(o.MetricsAddr)},
		HealthProbeBindAddress:        addr(o.HealthAddr),
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              LeaderElectionID(o.Shard),
		LeaderElectionNamespace:       o.Namespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 nonZero(o.LeaseDuration),
		RenewDeadline:                 nonZero(o.RenewDeadline),
		RetryPeriod:                   nonZero(o.RetryPeriod),
		WebhookServer:                 webhook.NewServer(webhook.Options{Port: 0}),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the controller manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("cache", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("the Sync cache has not synced")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return mgr, nil
}

// LeaderElectionID names the Lease of a shard's replicas (in the
// controller's namespace): latchkey-controller[-<shard>].
func LeaderElectionID(shard string) string {
	if shard == "" {
		return "latchkey-controller"
	}
	return "latchkey-controller-" + shard
}

// nonZero is nil for 0, so controller-runtime applies its default.
func nonZero(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}

// NamespaceConfigs turns a namespace list into cache.Options
// DefaultNamespaces; nil (the whole cluster) for an empty list.
func NamespaceConfigs(namespaces []string) map[string]cache.Config {
	if len(namespaces) == 0 {
		return nil
	}
	m := make(map[string]cache.Config, len(namespaces))
	for _, ns := range namespaces {
		m[ns] = cache.Config{}
	}
	return m
}
