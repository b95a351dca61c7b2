package faults

import (
	"testing"
)

// The Kubernetes faults, a seeded subset: each fault twice (for the field
// manager conflict and the CRD, once each way).
func TestKubeFaults(t *testing.T) {
	t.Parallel() // its own World: the waits of the families overlap
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git and the controller, and breaks them")
	}
	var table Table
	for _, r := range KubeFaults(t, NewCampaign(t, 2)) {
		table.Add(r)
		if r.Result() != "pass" {
			t.Errorf("%s: %s", r.Fault, r.Result())
		}
	}
	t.Log("\n" + table.Markdown())
}
