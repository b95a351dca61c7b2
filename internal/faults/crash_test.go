package faults

import (
	"testing"
)

// A controller SIGKILLed at random moments of the reconciliations a commit
// starts converges after its restart with no object orphaned, none pruned
// that Git still has, every inventory exactly what Git renders and the
// Vault value nowhere but in the Secret. The seeded CI subset: 8 Syncs, 4
// trials; bench/faults runs the full campaign (40 Syncs, 50 trials).
func TestCrashLeavesNoOrphanAndPrunesNothingGitHas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git, Vault and the controller")
	}
	row := Crash(t, NewCampaign(t, 4), 8)
	var table Table
	table.Add(row)
	t.Log("\n" + table.Markdown())
	if row.Result() != "pass" {
		t.Errorf("%s: %s", row.Fault, row.Result())
	}
}
