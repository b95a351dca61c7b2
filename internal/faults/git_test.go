package faults

import "testing"

// TestGitFaults runs the Git campaign's seeded subset: every Git fault, once
// (LATCHKEY_FAULTS_TRIALS for more), each promise checked.
func TestGitFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git and the controller")
	}
	var table Table
	for _, row := range GitFaults(t, NewCampaign(t, 1)) {
		table.Add(row)
		if row.Result() != "pass" {
			t.Errorf("%s: %s", row.Fault, row.Result())
		}
	}
	t.Log("\n" + table.Markdown())
}
