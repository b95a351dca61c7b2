package faults

import (
	"testing"
	"time"
)

// testLease is short enough for CI and long enough that a loaded machine
// does not make the leader miss its renew deadline (it would exit).
var testLease = Lease{Duration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: time.Second}

// Two replicas with leader election: the leader SIGKILLed, the follower
// takes over and applies the commit made just after the kill, losing and
// doubling nothing. The figures are logged; bench/faults publishes them.
func TestLeaderFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git and two controllers")
	}
	lease := LeaseFromEnv(t, testLease)
	res := LeaderFailover(t, NewCampaign(t, 2), lease, 4)
	var tab Table
	tab.Add(res.Row)
	t.Logf("\n%s", tab.Markdown())
	t.Logf("takeover (kill → the follower holds the Lease): p50 %s, max %s over %d trials",
		percentile(res.Takeover, 0.5), percentile(res.Takeover, 1), len(res.Takeover))
	if res.Result() != "pass" {
		t.Errorf("leader failover: %s\n%v", res.Result(), res.Failures)
	}
}
