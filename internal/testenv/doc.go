// Package testenv is the testing.TB layer over internal/components, which
// starts the real components Latchkey talks to on loopback: kube-apiserver
// and etcd through controller-runtime's envtest, a Vault dev server, Git
// repositories served over smart HTTP and SSH, and the upstream sealed-secrets
// controller and kubeseal.
//
// It adds what only tests want: every component is stopped and its files
// removed by t.Cleanup, a start failure fails the test, and a component that
// is not installed (a tool `make tools` did not build) skips the test
// locally and fails it when CI=true, so CI can never pass by silently testing
// nothing. Shared hands the tests of a package one control plane.
package testenv
