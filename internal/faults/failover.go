package faults

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// fleet is the repository content the replicas campaigns commit: cm-0
// changes every commit, cm-1 and cm-2 never do, and extra comes and goes
// (so each commit needs an apply, and every other one a prune).
type fleet struct{ n int }

func (f fleet) files() map[string]string {
	cm := func(name string, n int) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  n: \"%d\"\n", name, n)
	}
	files := map[string]string{"app/cm-0.yaml": cm("cm-0", f.n), "app/cm-1.yaml": cm("cm-1", 1), "app/cm-2.yaml": cm("cm-2", 2)}
	if f.n%2 == 1 {
		files["app/extra.yaml"] = cm("extra", f.n)
	}
	return files
}

// want is what each Sync should own at this commit.
func (f fleet) want() []string {
	w := []string{"ConfigMap/cm-0", "ConfigMap/cm-1", "ConfigMap/cm-2"}
	if f.n%2 == 1 {
		w = append(w, "ConfigMap/extra")
	}
	slices.Sort(w)
	return w
}

// commit makes the commit of step n: the files, and extra removed on
// even steps.
func (w *World) commitFleet(tb testing.TB, n int) (string, fleet) {
	tb.Helper()
	f := fleet{n: n}
	rev := w.Repo.Commit(tb, fmt.Sprintf("fleet %d", n), f.files())
	if n%2 == 0 && n > 0 {
		rev = w.Repo.Remove(tb, fmt.Sprintf("fleet %d: no extra", n), "app/extra.yaml")
	}
	return rev, f
}

// written are the UID and resourceVersion of every object the Syncs own,
// by namespace/name: a replica taking over applies the whole set again (its
// first reconciliation is full), and server-side apply of an unchanged
// object writes nothing, so with no commit in between none may move.
func (w *World) written(ctx context.Context, namespaces []string) (map[string]string, error) {
	out := map[string]string{}
	for _, ns := range namespaces {
		var cms corev1.ConfigMapList
		if err := w.Client.List(ctx, &cms, client.InNamespace(ns), client.MatchingLabels{reconcile.LabelSync: "app"}); err != nil {
			return nil, err
		}
		for _, cm := range cms.Items {
			out[ns+"/"+cm.Name] = string(cm.UID) + "@" + cm.ResourceVersion
		}
	}
	return out, nil
}

// checkOwnership compares what each Sync owns with want, counting orphans
// and objects Git has that are gone (wrong prunes) into row.
func (w *World) checkOwnership(ctx context.Context, row *Row, trial int, namespaces []string, want []string) {
	for _, ns := range namespaces {
		o, err := w.Owned(ctx, ns)
		if err != nil {
			row.Fail(trial, "%s: reading what it owns: %v", ns, err)
			continue
		}
		row.Orphans += len(o.Orphans)
		for _, x := range want {
			if !slices.Contains(o.Labelled, x) {
				row.WrongPrunes++
			}
		}
		if d := Diff(want, o.Inventory); d != "" || len(o.Orphans) > 0 || Diff(want, o.Labelled) != "" {
			row.Fail(trial, "%s: inventory vs Git: %s; labelled vs Git: %s; orphans %v", ns, d, Diff(want, o.Labelled), o.Orphans)
		}
	}
}

// Failover is what LeaderFailover measured: the faults table's row
// (recovery: from the SIGKILL until the new leader has reconciled every
// Sync, and with a commit made just after the kill, until it is Ready on
// every Sync) and, per trial, the takeover alone (SIGKILL until the
// follower holds the Lease).
type Failover struct {
	Row
	Takeover []time.Duration
}

// TakeoverP50 and TakeoverMax summarise Takeover.
func (f Failover) TakeoverP50() time.Duration { return percentile(f.Takeover, 0.5) }

// TakeoverMax is the slowest takeover.
func (f Failover) TakeoverMax() time.Duration { return percentile(f.Takeover, 1) }

// LeaderFailover runs two `latchkey controller` replicas with leader
// election (the chart's replicaCount: 2) and Syncs that poll hourly, so only
// a new leader's first reconciliation picks up a commit. Each trial asks
// every Sync to reconcile (the leader is busy), SIGKILLs the leader a
// random moment later, and waits for the other replica to take the Lease
// and reconcile every Sync; the killed replica then comes back as the
// follower. Odd trials commit just after the kill (cm-0 changes, extra
// comes or goes): every Sync must be Ready at the commit, its inventory and
// labelled objects exactly what Git renders (no orphan, no wrong prune).
// Even trials commit nothing: the new leader's full apply of the same
// revision must write nothing (every object keeps its UID and
// resourceVersion): a takeover applies nothing twice.
func LeaderFailover(tb testing.TB, c Campaign, lease Lease, syncs int) Failover {
	tb.Helper()
	ctx := context.Background()
	res := Failover{Row: Row{
		Fault:   fmt.Sprintf("leader of 2 replicas SIGKILLed (%s)", lease),
		Checked: "follower takes over and reconciles every Sync; a commit made after the kill Ready on every Sync, inventory = Git, no orphan; without a commit nothing rewritten",
		Trials:  c.Trials,
	}}
	rnd := c.Rand("leader failover")
	w := StartWorld(tb, WorldOptions{NoController: true})
	rev, f := w.commitFleet(tb, 0)
	replicas := []*Replica{
		w.StartReplica(tb, "replica-0", "", lease.Args()...),
		w.StartReplica(tb, "replica-1", "", lease.Args()...),
	}
	var namespaces, all []string
	for i := range syncs {
		ns := fmt.Sprintf("failover-%d", i)
		namespaces, all = append(namespaces, ns), append(all, ns+"/app")
		w.Tenant(tb, ns, "app", time.Hour)
	}
	settle := lease.Duration + 90*time.Second
	if _, err := w.WaitReady(ctx, namespaces, rev, settle); err != nil {
		tb.Fatalf("before any fault: %v", err)
	}
	commits := 0
	for trial := range c.Trials {
		leader, err := WaitLeader(ctx, replicas, settle)
		if err != nil {
			tb.Fatalf("trial %d: %v", trial, err)
		}
		follower := replicas[0]
		if follower == leader {
			follower = replicas[1]
		}
		if err := waitFor(settle, follower.Ready); err != nil {
			tb.Fatalf("trial %d: the follower is not ready: %v", trial, err)
		}
		before, err := w.written(ctx, namespaces)
		if err != nil {
			tb.Fatalf("trial %d: %v", trial, err)
		}
		for _, ns := range namespaces {
			if err := w.UpdateSync(ctx, ns, "app", func(s *v1alpha1.Sync) {
				if s.Annotations == nil {
					s.Annotations = map[string]string{}
				}
				s.Annotations[reconcile.AnnotationReconcileRequest] = fmt.Sprintf("failover-%d", trial)
			}); err != nil {
				tb.Fatalf("trial %d: %v", trial, err)
			}
		}
		time.Sleep(time.Duration(rnd.Int64N(int64(500 * time.Millisecond))))
		if err := leader.Kill(); err != nil {
			tb.Fatal(err)
		}
		killed := time.Now()
		commit := trial%2 == 1
		if commit {
			commits++
			rev, f = w.commitFleet(tb, commits)
		}

		if _, err := WaitLeader(ctx, []*Replica{follower}, settle); err != nil {
			res.Fail(trial, "the follower never took over: %v", err)
			break
		}
		res.Takeover = append(res.Takeover, time.Since(killed))
		err = waitFor(settle, func(ctx context.Context) error {
			got, err := follower.SyncsReconciled(ctx)
			if err != nil {
				return err
			}
			if d := Diff(all, got); d != "" {
				return fmt.Errorf("the new leader has not reconciled every Sync: %s", d)
			}
			return nil
		})
		if err == nil && commit {
			_, err = w.WaitReady(ctx, namespaces, rev, settle)
		}
		if err != nil {
			res.Fail(trial, "after the failover: %v", err)
			break
		}
		res.Recovery = append(res.Recovery, time.Since(killed))
		w.checkOwnership(ctx, &res.Row, trial, namespaces, f.want())
		if !commit {
			after, err := w.written(ctx, namespaces)
			if err != nil {
				tb.Fatalf("trial %d: %v", trial, err)
			}
			for k, v := range before {
				if after[k] != v {
					res.Fail(trial, "%s was written again by the new leader although nothing changed (%s → %s)", k, v, after[k])
				}
			}
		}
		if trial < c.Trials-1 {
			if err := leader.Start(); err != nil {
				tb.Fatalf("restarting %s as the follower: %v", leader.Name, err)
			}
		}
	}
	return res
}

// waitFor polls check every 100 ms until it passes or timeout has passed.
func waitFor(timeout time.Duration, check func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check(context.Background())
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
