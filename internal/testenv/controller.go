package testenv

import (
	"path/filepath"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// StartController runs the latchkey binary built from the checkout with args
// (e.g. "controller", "--kubeconfig", ...) and env added to this process's,
// as its own process logging to NAME.log in a temporary directory. It is
// stopped (SIGTERM) when the test ends; a process that died on its own fails
// the test, and a failed test logs the end of its log. The returned
// Controller may be killed and started again (its log accumulates).
func StartController(t testing.TB, name string, args, env []string) *components.Controller {
	t.Helper()
	c := &components.Controller{Args: args, Env: env, Log: filepath.Join(t.TempDir(), name+".log")}
	err := c.Start()
	t.Cleanup(func() {
		if why := c.Exited(); why != "" {
			t.Errorf("testenv: %s: %s", name, why)
		}
		stopped(t, name, c.Stop())
		if t.Failed() {
			t.Logf("testenv: %s log (tail):\n%s", name, c.LogTail(200))
		}
	})
	started(t, "starting the controller", err)
	return c
}
