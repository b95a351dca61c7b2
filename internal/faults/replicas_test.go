package faults

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
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
// moved by relabelling (a → b, unlabelled → a) is let go by its old
// replica and taken by the new one, its objects never pruned in between.
func TestShardsReconcileEachSyncExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git and three controllers")
	}
	ctx := context.Background()
	w := StartWorld(t, WorldOptions{NoController: true})
	rev, _ := w.commitFleet(t, 0)
	shards := []string{"a", "b", ""}
	var replicas []*Replica
	byShard := map[string]*Replica{}
	for _, shard := range shards {
		name := "shard-" + shard
		if shard == "" {
			name = "unsharded"
		}
		r := w.StartReplica(t, name, shard, testLease.Args()...)
		replicas, byShard[shard] = append(replicas, r), r
	}
	owner := map[string]string{} // namespace → shard
	var namespaces []string
	for _, shard := range shards {
		for i := range 2 {
			ns := fmt.Sprintf("sharded-%s-%d", shard, i)
			if shard == "" {
				ns = fmt.Sprintf("sharded-none-%d", i)
			}
			w.ShardedTenant(t, ns, shard, time.Hour)
			owner[ns], namespaces = shard, append(namespaces, ns)
		}
	}
	if _, err := w.WaitReady(ctx, namespaces, rev, 2*time.Minute); err != nil {
		t.Fatal(err)
	}

	// exactlyOnce checks that each replica holds exactly the Syncs of its
	// shard and that no other replica's log records a full reconciliation
	// of them since the start.
	exactlyOnce := func(t *testing.T, step string) {
		t.Helper()
		err := waitFor(30*time.Second, func(ctx context.Context) error {
			for shard, r := range byShard {
				var want []string
				for ns, s := range owner {
					if s == shard {
						want = append(want, ns+"/app")
					}
				}
				slices.Sort(want)
				got, err := r.SyncsReconciled(ctx)
				if err != nil {
					return err
				}
				if d := Diff(want, got); d != "" {
					return fmt.Errorf("%s holds other Syncs than its shard's: %s", r.Name, d)
				}
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", step, err)
		}
	}
	exactlyOnce(t, "after the first apply")
	by, err := Reconcilers(replicas)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		if len(by[ns]) != 1 {
			t.Errorf("%s was fully reconciled by %v, want exactly one replica", ns, by[ns])
		}
	}

	step := 0
	for _, move := range []struct{ ns, to string }{{"sharded-a-0", "b"}, {"sharded-none-0", "a"}} {
		from := byShard[owner[move.ns]]
		to := byShard[move.to]
		t.Run(fmt.Sprintf("%s moves from %s to %s", move.ns, from.Name, to.Name), func(t *testing.T) {
			before, err := from.FullReconciles()
			if err != nil {
				t.Fatal(err)
			}
			vigil, err := w.Watch(ctx, []string{move.ns})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.UpdateSync(ctx, move.ns, "app", func(s *v1alpha1.Sync) {
				if s.Labels == nil {
					s.Labels = map[string]string{}
				}
				s.Labels[reconcile.LabelShard] = move.to
			}); err != nil {
				t.Fatal(err)
			}
			owner[move.ns] = move.to
			exactlyOnce(t, "after the move")
			// The new replica has applied the Sync (its metrics hold it):
			// the move is over.
			if lost := vigil.Stop(); len(lost) > 0 {
				t.Errorf("objects of %s were deleted or replaced during the move: %v", move.ns, lost)
			}
			// The new shard applies the next commit; the old one stays away.
			step++
			next, f := w.commitFleet(t, step)
			for _, ns := range namespaces {
				if err := w.RequestReconcile(ctx, ns, next); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.WaitReady(ctx, namespaces, next, time.Minute); err != nil {
				t.Fatal(err)
			}
			w.checkOwnershipT(t, namespaces, f.want())
			after, err := from.FullReconciles()
			if err != nil {
				t.Fatal(err)
			}
			if after[move.ns] != before[move.ns] {
				t.Errorf("%s reconciled %s again after it left its shard (%d → %d full reconciliations)", from.Name, move.ns, before[move.ns], after[move.ns])
			}
			if counts, _ := to.FullReconciles(); counts[move.ns] == 0 {
				t.Errorf("%s never reconciled %s", to.Name, move.ns)
			}
			exactlyOnce(t, "after the next commit")
		})
	}
}
