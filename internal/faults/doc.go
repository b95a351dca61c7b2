// Package faults is Latchkey's fault-injection campaign: it breaks the real
// components (the controller killed mid-reconciliation, Vault, Git and the
// kube-apiserver stopped, slowed, answering errors or cutting responses)
// and checks the promises that must survive: nothing applied from a partial
// input, nothing pruned that Git still has, no object left labelled as a
// Sync's outside its inventory, the condition naming the cause, and how long
// recovery takes once the fault ends.
//
// Each kind of fault is a function taking a testing.TB and a Campaign (seed,
// trial count) and returning a Row of the faults table. The package's tests
// run a seeded subset of trials that fits CI; bench/faults runs the full
// campaign (50+ trials per fault) and prints the table that
// docs/reliability.md publishes.
//
// Proxy sits in front of a component's HTTP endpoint (Vault, the Git
// server) and injects the faults a network or an overloaded server causes.
package faults
