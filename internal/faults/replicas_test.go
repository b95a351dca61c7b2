package faults

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
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
	t.Parallel() // its own World: the waits of the families overlap
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git and two controllers")
	}
	lease := LeaseFromEnv(t, testLease)
	res := LeaderFailover(t, NewCampaign(t, 2), lease, 4)
	var tab Table
	tab.Add(res.Row)
	t.Logf("\n%s", tab.Markdown())
	t.Logf("takeover (kill → the follower holds the Lease): p50 %s, max %s over %d trials",
		res.TakeoverP50(), res.TakeoverMax(), len(res.Takeover))
	if res.Result() != "pass" {
		t.Errorf("leader failover: %s\n%v", res.Result(), res.Failures)
	}
}

// githubPush posts a push of repo signed with secret to a receiver, as
// GitHub delivers it, and returns the status and the answer.
func githubPush(t *testing.T, addr, secret, delivery, repo, after string) (int, string) {
	t.Helper()
	body := `{"ref":"refs/heads/main","after":"` + after + `","repository":{"clone_url":"` + repo + `"}}`
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/hook", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("delivering to %s: %v", addr, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(msg))
}

// The chart's Service sends webhook deliveries to any ready replica. A
// delivery to the follower makes the leader apply the pushed commit (the
// Syncs poll hourly: nothing else would), and the delivery replayed to
// either replica is refused: they share one record of deliveries.
func TestWebhookDeliveredToTheFollower(t *testing.T) {
	t.Parallel() // its own World: the waits of the families overlap
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git and two controllers")
	}
	ctx := context.Background()
	const secret = "controller-wide-hook-secret"
	w := StartWorld(t, WorldOptions{NoController: true})
	rev, _ := w.commitFleet(t, 0)
	var replicas []*Replica
	for i := range 2 {
		addr, flags := WithWebhook(t, secret)
		r := w.StartReplica(t, fmt.Sprintf("replica-%d", i), "", append(testLease.Args(), flags...)...)
		r.Webhook = addr
		replicas = append(replicas, r)
	}
	namespaces := []string{"hook-a", "hook-b"}
	for _, ns := range namespaces {
		w.Tenant(t, ns, "app", time.Hour)
	}
	if _, err := w.WaitReady(ctx, namespaces, rev, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	leader, err := WaitLeader(ctx, replicas, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	follower := replicas[0]
	if follower == leader {
		follower = replicas[1]
	}
	if err := waitFor(time.Minute, follower.Ready); err != nil {
		t.Fatalf("the follower is not ready, so the Service would not send it deliveries: %v", err)
	}

	next, _ := w.commitFleet(t, 1)
	code, msg := githubPush(t, follower.Webhook, secret, "delivery-1", w.Repo.URL, next)
	if code != http.StatusAccepted || !strings.Contains(msg, "2 sync(s) triggered") {
		t.Fatalf("delivery to the follower: %d %q, want 202 triggering both Syncs", code, msg)
	}
	if leads, err := follower.Leads(ctx); err != nil || leads {
		t.Fatalf("the replica that took the delivery leads (%v, %v): the test proves nothing", leads, err)
	}
	took, err := w.WaitReady(ctx, namespaces, next, time.Minute)
	if err != nil {
		t.Fatalf("the leader did not apply the pushed commit: %v", err)
	}
	t.Logf("delivered to the follower: every Sync Ready at the pushed commit %s later", took)

	for _, r := range []struct {
		name, to, delivery string
	}{
		{"the same delivery to the leader", leader.Webhook, "delivery-1"},
		{"the same delivery to the follower", follower.Webhook, "delivery-1"},
		{"the same payload under a new delivery ID to the leader", leader.Webhook, "delivery-2"},
	} {
		if code, msg := githubPush(t, r.to, secret, r.delivery, w.Repo.URL, next); code != http.StatusConflict {
			t.Errorf("%s: %d %q, want 409", r.name, code, msg)
		}
	}

	// A push while no replica leads (the leader just died) is not lost: the
	// follower still takes the delivery, and the pushed commit is applied
	// once it leads (by its first, full, reconciliation of every Sync).
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	during, _ := w.commitFleet(t, 2)
	if code, msg := githubPush(t, follower.Webhook, secret, "delivery-3", w.Repo.URL, during); code != http.StatusAccepted {
		t.Fatalf("delivery during the failover: %d %q, want 202", code, msg)
	}
	if _, err := w.WaitReady(ctx, namespaces, during, time.Minute); err != nil {
		t.Fatalf("the push delivered during the failover was not applied: %v", err)
	}
}

// Two shards and the unsharded replica at once, each its own process with
// its own Lease: every Sync is reconciled by exactly one of them (by each
// replica's metrics and by its log of full reconciliations), and a Sync
// moved by relabelling is let go by its old replica and taken by the new
// one, its objects never pruned in between (ShardMoves).
func TestShardsReconcileEachSyncExactlyOnce(t *testing.T) {
	t.Parallel() // its own World: the waits of the families overlap
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git and three controllers")
	}
	row := ShardMoves(t, NewCampaign(t, 3), testLease)
	var tab Table
	tab.Add(row)
	t.Logf("\n%s", tab.Markdown())
	if row.Result() != "pass" {
		t.Errorf("shard moves: %s\n%v", row.Result(), row.Failures)
	}
}
