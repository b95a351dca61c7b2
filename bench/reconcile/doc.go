// Package reconcile benchmarks the controller at fleet scale: N Syncs of one
// Git repository, each rendering 10 ConfigMaps, 1 Secret whose value comes
// from Vault and 1 ServiceAccount into its own namespace, against a local
// kube-apiserver and etcd on the same machine. It prints the time until all
// Syncs are Ready, the controller's peak RSS, the requests Vault served, and
// the drift-revert latency (p50/p95) over manual edits.
//
//	make build tools
//	go test ./bench/reconcile -run '^$' -bench . -benchtime 1x -syncs 200 -edits 100
//
// The controller runs as its own process (bin/latchkey controller, or the
// binary in $LATCHKEY_BIN), so its memory is measured alone.
package reconcile
