// Package soak runs `latchkey controller` as its own process against a fleet
// of Syncs for a long time under a steady stream of changes, and reports
// whether its memory and goroutines stay flat and whether every error it logs
// is explained.
//
// The stack is the real one on loopback (internal/testenv): kube-apiserver
// and etcd, a Git server and Vault. The fleet is -syncs Syncs, one namespace
// each, with --tenancy on (as the chart installs it), spread over -groups
// paths of one repository; each path renders 10 ConfigMaps, a Secret whose
// value comes from Vault (secret/soak/gNN) and a ServiceAccount. After all
// are Ready, for -duration, at a steady rate:
//
//   - a commit every -commit-every, to one group in turn: every ConfigMap's
//     value changes and an extra ConfigMap is added, or removed (pruned);
//   - a Vault rotation every -rotate-every, one group's secret in turn;
//   - a manual edit of a ConfigMap every -edit-every (drift, reverted);
//   - a Vault restart every -vault-restart-every. The test Vault is dev mode
//     (in-memory), so a restart loses the data: the restart event re-writes
//     every secret with its whole version history (same values, same version
//     numbers), as persistent storage would have kept them. Commits and edits
//     go on meanwhile (rotations wait for Vault): Syncs that must resolve
//     while it is down or not yet re-written fail closed and recover.
//
// Every -sample the controller's RSS (VmRSS of /proc/PID/status) and its
// goroutines (go_goroutines from its metrics endpoint) are recorded. At the
// end the events stop, the fleet must converge to exactly what Git and Vault
// hold (every Sync Ready at the head, every object as rendered, nothing extra,
// every Secret at its newest value), and every error line of the controller's
// log is classified; one that no injected fault explains fails the bench.
//
//	go test ./bench/soak -run '^$' -bench Soak -benchtime 1x -timeout 60m \
//	    -syncs 200 -duration 30m -sample 1m -plot $PWD/docs/reliability/soak.png
//
// (a short run: -syncs 20 -duration 3m -sample 20s). The controller is built
// from the checkout (components.Controller). The soak is not part of `make
// test` nor of `make bench`: `make soak` runs it.
package soak
