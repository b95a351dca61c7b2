package reconcile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// scenario is what a controller test starts from: a control plane that
// serves the Sync kind, an empty Git repository and, for the tests that
// resolve secrets, a Vault dev server. The test adds what is its own: the
// commits, the Vault data, the controllers and the Syncs.
type scenario struct {
	kube  *testenv.Kube
	c     client.Client
	git   *testenv.GitServer // serves repo
	repo  *testenv.GitRepo
	vault *testenv.Vault // nil unless built withVault
}

// scenarioOption adds a component to a scenario.
type scenarioOption func(*scenarioConfig)

type scenarioConfig struct{ vault, serial bool }

// withVault starts a Vault dev server too.
func withVault() scenarioOption { return func(c *scenarioConfig) { c.vault = true } }

// alone runs the test while no other test of the package runs, for a test
// that measures the test process (its peak RSS).
func alone() scenarioOption { return func(c *scenarioConfig) { c.serial = true } }

// newScenario starts the components, with a Git repository named repo. Each
// is a real server process, so -short skips the test. The components are
// the test's own (its controller watches every namespace), so scenarios run
// in parallel (t.Parallel: the test may not use t.Setenv) unless alone.
func newScenario(t *testing.T, repo string, opts ...scenarioOption) *scenario {
	t.Helper()
	var cfg scenarioConfig
	for _, o := range opts {
		o(&cfg)
	}
	if testing.Short() {
		if cfg.vault {
			t.Skip("starts kube-apiserver, etcd, Vault and Git")
		}
		t.Skip("starts kube-apiserver, etcd and Git")
	}
	if !cfg.serial {
		t.Parallel()
	}
	kube := testenv.StartKube(t, testenv.WithScheme(v1alpha1.AddToScheme))
	sc := &scenario{kube: kube, c: kube.Client}
	if cfg.vault {
		sc.vault = testenv.StartVault(t)
	}
	sc.git = testenv.StartGitServer(t)
	sc.repo = sc.git.NewRepo(t, repo)
	return sc
}

// vaultConfig is a controller-wide Vault configuration that logs in to the
// scenario's Vault with its root token.
func (sc *scenario) vaultConfig() *config.Vault {
	return &config.Vault{
		Address: sc.vault.Addr, Timeout: 5 * time.Second, Concurrency: 4,
		Auth: config.VaultAuth{Method: config.VaultAuthToken, Token: config.Sensitive(sc.vault.RootToken)},
	}
}

// gitSync is a Sync ns/name of the scenario's repository at path ("" for
// its root), fetched every interval.
func (sc *scenario) gitSync(ns, name, path string, interval time.Duration) *v1alpha1.Sync {
	return &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.SyncSpec{Source: v1alpha1.GitSource{
			URL: sc.repo.URL, Path: path, Interval: metav1.Duration{Duration: interval},
		}},
	}
}

// create creates objs in order: a Sync's Secrets before the Sync, so its
// first reconciliation finds them.
func (sc *scenario) create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := sc.c.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
}

// waitApplied waits until the Sync ns/name has applied rev.
func (sc *scenario) waitApplied(t *testing.T, what, ns, name, rev string) {
	t.Helper()
	eventually(t, 30*time.Second, what, func() error {
		if s := getSync(t, sc.c, ns, name); s.Status.LastAppliedRevision != rev {
			return fmt.Errorf("Ready %s", condition(s, v1alpha1.ConditionReady))
		}
		return nil
	})
}
