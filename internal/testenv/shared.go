package testenv

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// shared is the control plane the tests of one test binary (one package)
// share: started by the first test that asks for it, stopped by Main after
// the last test. envtest has no controller-manager, so a namespace is
// never deleted: tests sharing it isolate by namespace names of their own,
// as Flux's suites do, and leave what they created behind.
var shared struct {
	mu      sync.Mutex
	inMain  bool
	started bool
	kube    *components.Kube
	err     error
	wrapped *Kube
}

// Main runs the tests of a package that uses Shared and then stops the
// shared control plane; TestMain calls it: os.Exit(testenv.Main(m)). A
// control plane that does not stop cleanly fails the run.
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	if err := components.RemoveLatchkeyBinary(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: removing the latchkey binary built for the tests: %v\n", err)
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.kube != nil {
		if err := shared.kube.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stopping the shared kube-apiserver: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		shared.kube = nil
	}
	return code
}

// Shared returns the control plane the tests of this package share, started
// on first use with opts (every caller in a package passes the same ones:
// only the first call's count). It is for tests that need an API server, not
// a fresh one: tests that need their own flags (an audit log), a restart, or
// cluster-wide state of their own (a controller watching every namespace,
// the sealed-secrets controller in kube-system) call StartKube.
func Shared(t testing.TB, opts ...KubeOption) *Kube {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatalf("testenv: Shared needs the package's TestMain to run os.Exit(testenv.Main(m)), which stops the shared control plane")
	}
	if !shared.started {
		shared.started = true
		shared.kube, shared.err = launchKube(opts...)
		if shared.err == nil {
			shared.wrapped = wrapKube(shared.kube)
		}
	}
	// Every test that asks reports the failure (a skip locally when a tool
	// is missing), not only the first.
	started(t, "starting the shared kube-apiserver", shared.err)
	return shared.wrapped
}
