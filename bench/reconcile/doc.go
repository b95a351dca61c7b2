// Package reconcile benchmarks the controller at fleet scale against Flux, on
// one stack in one run: a local kube-apiserver and etcd, one Git repository and
// Vault. Each contender gets N namespaces of its own, each with a
// ServiceAccount allowed to manage ConfigMaps, Secrets and ServiceAccounts
// there, and is asked for the same application in each: 10 ConfigMaps, 1
// Secret whose value comes from Vault and 1 ServiceAccount.
//
//   - latchkey: `latchkey controller` without tenancy (-plain=false drops it);
//   - latchkey --tenancy: every Sync impersonates its namespace's
//     ServiceAccount (--default-service-account); the Secret is resolved with
//     the controller's Vault token, allowed there by --vault-default-namespaces;
//   - flux v1.9.6: source-controller and kustomize-controller, a GitRepository
//     and a Kustomization (prune, targetNamespace, serviceAccountName) per
//     namespace; it applies the Secret's placeholder as it is (same objects,
//     less work). Built by `tools/install.sh flux` (or `make flux`); without
//     it the bench says so and compares Latchkey only (-flux=false to be quiet).
//
// The contenders run one after the other, each stopped and its objects deleted
// before the next starts, with the same workers and client rate limits, after
// an unmeasured warm-up of 10 Syncs (so the first one does not alone meet a
// cold API server, Git server and Vault). For
// each: the time until all N are Ready, the sum of its processes' peak RSS,
// the API requests per Sync until then (from the kube-apiserver's audit log:
// each controller authenticates as its own ServiceAccount, so impersonated
// requests count for the controller that made them), and for Latchkey the
// Vault requests and the drift-revert latency (p50/p95) over manual edits.
//
//	make build tools flux
//	LATCHKEY_BIN=$PWD/bin/latchkey go test ./bench/reconcile -run '^$' -bench . -benchtime 1x -syncs 200
//	(-syncs 1000 takes about 10 minutes: add -timeout 45m)
//
// Each controller runs as its own process, so its memory is measured alone.
package reconcile
