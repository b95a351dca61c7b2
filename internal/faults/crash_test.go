package faults

import (
	"os"
	"strconv"
	"testing"
)

// EnvCrashSyncs sets how many Syncs the crash campaign's World holds (8 by
// default; the measurement, and the full campaign, use 40).
const EnvCrashSyncs = "LATCHKEY_FAULTS_CRASH_SYNCS"

// A controller SIGKILLed at random moments of the reconciliations a commit
// starts converges after its restart with no object orphaned, none pruned
// that Git still has, every inventory exactly what Git renders and the
// Vault value nowhere but in the Secret. The seeded CI subset: 8 Syncs, 4
// trials; the full campaign is 40 Syncs, 50 trials (see docs/reliability.md).
func TestCrashLeavesNoOrphanAndPrunesNothingGitHas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git, Vault and the controller")
	}
	syncs := 8
	if v := os.Getenv(EnvCrashSyncs); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive integer", EnvCrashSyncs, v)
		}
		syncs = n
	}
	row := Crash(t, NewCampaign(t, 4), syncs)
	var table Table
	table.Add(row)
	t.Logf("%d Syncs:\n%s", syncs, table.Markdown())
	if row.Result() != "pass" {
		t.Errorf("%s: %s", row.Fault, row.Result())
	}
}
