package faults

import (
	"testing"
)

// Vault restarted, sealed, answering 403, 500 and 429, slow, and the
// controller's token revoked, each while a rotation and a commit needing a
// new secret are pending: the seeded CI subset of the Vault family.
func TestVaultFaults(t *testing.T) {
	t.Parallel() // its own World: the waits of the families overlap
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git, Vault and the controller")
	}
	var table Table
	for _, r := range VaultFaults(t, NewCampaign(t, 1)) {
		table.Add(r)
		if r.Result() != "pass" {
			t.Errorf("%s: %s", r.Fault, r.Result())
		}
	}
	t.Log("\n" + table.Markdown())
}
