package testenv

import "testing"

// Kubeseal returns the path of the upstream kubeseal built by `make tools`,
// for tests that need only the client (sealing with a certificate of their
// own, --recovery-unseal with its key), not a cluster or the controller.
func Kubeseal(t testing.TB) string {
	t.Helper()
	return requireTool(t, "kubeseal", SealedSecretsVersion)
}
