// Package testenv starts the real components Latchkey talks to, on loopback,
// for tests: kube-apiserver and etcd through controller-runtime's envtest, a
// Vault dev server, Git repositories served over smart HTTP, and the upstream
// sealed-secrets controller and kubeseal.
//
// The binaries are built from pinned Go module versions by `make tools` into a
// per-user cache (tools/install.sh). A missing binary skips the test locally
// and fails it when CI=true, so CI can never pass by silently testing nothing.
// Every component is stopped and its files removed by t.Cleanup.
package testenv
