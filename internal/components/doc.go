// Package components starts and stops the real components Latchkey talks to,
// on loopback: kube-apiserver and etcd through controller-runtime's envtest,
// a Vault server, Git repositories served over smart HTTP and SSH, and the upstream
// sealed-secrets controller and kubeseal. It also owns the one table of the
// tools `make tools` builds and their pinned versions.
//
// Every component is a struct in the shape of envtest.Environment: fill in
// what to start, call Start, read what it got (addresses, clients), call
// Stop. Errors are returned, never reported to a testing.TB, so one launcher
// serves `latchkey dev`, the tests (internal/testenv adds cleanup and the
// CI-fails-on-a-missing-tool rule) and the benchmarks.
//
// A component that cannot start because something is not installed (a tool
// `make tools` did not build, git, unshare) fails with an error that
// errors.Is ErrUnavailable and names the fix.
package components
