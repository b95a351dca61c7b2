package reconcile_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/render/sandbox"
)

// logs collects everything every controller of this test binary logs, for
// the canary search.
var logs = &testenv.Output{}

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		// The controller renders Helm and Kustomize in a worker process
		// started from this very binary.
		sandbox.Main()
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true)))
	os.Exit(m.Run())
}

// controller is a Latchkey controller running in the test process against
// a testenv control plane, as `latchkey controller` runs it.
type controller struct {
	reconciler *reconcile.Reconciler
	registry   *prometheus.Registry
	key        []byte
}

// startController runs the controller until the test ends. vault may be nil.
func startController(t *testing.T, kube *testenv.Kube, vault *config.Vault) *controller {
	t.Helper()
	return startShardController(t, kube, vault, "")
}

// startShardController runs a controller of one shard ("" for the Syncs
// without a shard label); mods change its options.
func startShardController(t *testing.T, kube *testenv.Kube, vault *config.Vault, shard string, mods ...func(*reconcile.Options)) *controller {
	t.Helper()
	mgr, err := reconcile.NewManager(kube.Config, reconcile.ManagerOptions{Shard: shard})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cs, err := kubernetes.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	opts := reconcile.Options{
		HMACKey: key,
		Secrets: reconcile.NewVaultSecrets(reconcile.VaultSecretsOptions{
			Default: vault, HMACKey: key, Reader: mgr.GetAPIReader(), Unsealer: reconcile.ClusterUnsealer(cs),
			ServiceAccounts: cs.CoreV1(),
		}),
		Metrics: reconcile.NewMetrics(reg),
	}
	for _, m := range mods {
		m(&opts)
	}
	r, err := reconcile.NewReconciler(mgr, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		if t.Failed() {
			out := logs.String()
			if len(out) > 20000 {
				out = out[len(out)-20000:]
			}
			t.Logf("controller logs (tail):\n%s", out)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("controller stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("controller did not stop within 30s")
		}
	})
	return &controller{reconciler: r, registry: reg, key: key}
}

// metricsText renders every metric of the controller.
func (c *controller) metricsText(t *testing.T) string {
	t.Helper()
	mfs, err := c.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		b.WriteString(mf.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func (c *controller) counter(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := c.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				total += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				total += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return total
}

// eventually polls check until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// never checks that cond stays false for d.
func never(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			t.Fatalf("%s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getSync(t *testing.T, c client.Client, ns, name string) *v1alpha1.Sync {
	t.Helper()
	var s v1alpha1.Sync
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatalf("getting Sync %s/%s: %v", ns, name, err)
	}
	return &s
}

func condition(s *v1alpha1.Sync, typ string) string {
	c := apimeta.FindStatusCondition(s.Status.Conditions, typ)
	if c == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
}

// histogramSum is the sum of the samples of histogram name.
func (c *controller) histogramSum(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := c.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return sum
}
