package faults

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// ShardedTenant creates namespace ns with a Sync "app" following the
// repository's app/ every interval, labelled for shard ("" for none) from
// its creation, so no other replica ever sees it as its own.
func (w *World) ShardedTenant(tb testing.TB, ns, shard string, interval time.Duration) {
	tb.Helper()
	w.Kube.CreateNamespace(tb, ns)
	s := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec:       v1alpha1.SyncSpec{Source: v1alpha1.GitSource{URL: w.Repo.URL, Path: "app", Interval: metav1.Duration{Duration: interval}}},
	}
	if shard != "" {
		s.Labels = map[string]string{reconcile.LabelShard: shard}
	}
	if err := w.Client.Create(context.Background(), s); err != nil {
		tb.Fatalf("creating Sync %s/app: %v", ns, err)
	}
}

// RequestReconcile sets the reconcile-request annotation of Sync ns/app,
// as the webhook receiver does.
func (w *World) RequestReconcile(ctx context.Context, ns, value string) error {
	return w.UpdateSync(ctx, ns, "app", func(s *v1alpha1.Sync) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[reconcile.AnnotationReconcileRequest] = value
	})
}

// Reconcilers maps each Sync namespace to the replicas whose log records a
// full reconciliation of it, sorted.
func Reconcilers(replicas []*Replica) (map[string][]string, error) {
	out := map[string][]string{}
	for _, r := range replicas {
		counts, err := r.FullReconciles()
		if err != nil {
			return nil, err
		}
		for ns := range counts {
			out[ns] = append(out[ns], r.Name)
		}
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out, nil
}

// Vigil watches, until stopped, that every object a Sync owns stays in
// place (same UID) while something happens to the Sync, such as moving it
// to another shard: an object deleted or recreated even for a moment is
// reported.
type Vigil struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	lost []string
}

// Watch starts a Vigil over the objects namespaces own now, polling every
// 20 ms.
func (w *World) Watch(ctx context.Context, namespaces []string) (*Vigil, error) {
	start, err := w.written(ctx, namespaces)
	if err != nil {
		return nil, err
	}
	uid := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			u, _, _ := strings.Cut(v, "@")
			out[k] = u
		}
		return out
	}
	want := uid(start)
	v := &Vigil{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(v.done)
		for {
			select {
			case <-v.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			now, err := w.written(ctx, namespaces)
			if err != nil {
				continue
			}
			got := uid(now)
			v.mu.Lock()
			for k, u := range want {
				if got[k] != u && len(v.lost) < 10 {
					v.lost = append(v.lost, fmt.Sprintf("%s (uid %s → %q)", k, u, got[k]))
				}
			}
			v.mu.Unlock()
		}
	}()
	return v, nil
}

// Stop ends the vigil and returns the objects seen gone or replaced.
func (v *Vigil) Stop() []string {
	close(v.stop)
	<-v.done
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lost
}

// holders checks that each replica holds exactly the Syncs owner gives its
// shard (by its latchkey_sync_ready series).
func holders(ctx context.Context, byShard map[string]*Replica, owner map[string]string) error {
	for shard, r := range byShard {
		var want []string
		for ns, s := range owner {
			if s == shard {
				want = append(want, ns+"/app")
			}
		}
		sort.Strings(want)
		got, err := r.SyncsReconciled(ctx)
		if err != nil {
			return err
		}
		if d := Diff(want, got); d != "" {
			return fmt.Errorf("%s holds other Syncs than its shard's: %s", r.Name, d)
		}
	}
	return nil
}

// ShardMoves runs two shards (--shard a, --shard b) and the unsharded
// replica as three `latchkey controller` processes over six Syncs, two
// each, then moves a Sync chosen at random to another shard (or to none)
// by relabelling it, once per trial. Checked: before any move, each Sync
// fully reconciled by exactly one replica (their logs) and held by it alone
// (their metrics); after each move, the old replica lets the Sync go and
// the new one takes it, its objects never deleted or replaced meanwhile
// (watched every 20 ms), the old replica never reconciles it again (the
// next commit is applied by the new one), inventory = Git everywhere.
// Recovery is the handover: from the relabelling until the new replica
// alone holds the Sync, applied.
func ShardMoves(tb testing.TB, c Campaign, lease Lease) Row {
	tb.Helper()
	ctx := context.Background()
	row := Row{
		Fault:   "a Sync moved between shards by relabelling (shards a, b and the unsharded replica: 3 processes)",
		Checked: "each Sync reconciled by exactly one replica; the old shard lets go, the new one takes it; its objects never deleted or replaced; the old shard never reconciles it again; inventory = Git",
		Trials:  c.Trials,
	}
	rnd := c.Rand("shard moves")
	w := StartWorld(tb, WorldOptions{NoController: true})
	rev, _ := w.commitFleet(tb, 0)
	shards := []string{"a", "b", ""}
	var replicas []*Replica
	byShard := map[string]*Replica{}
	for _, shard := range shards {
		name := "shard-" + shard
		if shard == "" {
			name = "unsharded"
		}
		r := w.StartReplica(tb, name, shard, lease.Args()...)
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
			w.ShardedTenant(tb, ns, shard, time.Hour)
			owner[ns], namespaces = shard, append(namespaces, ns)
		}
	}
	settle := 2 * time.Minute
	if _, err := w.WaitReady(ctx, namespaces, rev, settle); err != nil {
		tb.Fatalf("before any move: %v", err)
	}
	if err := waitFor(30*time.Second, func(ctx context.Context) error { return holders(ctx, byShard, owner) }); err != nil {
		row.Fail(0, "before any move: %v", err)
	}
	by, err := Reconcilers(replicas)
	if err != nil {
		tb.Fatal(err)
	}
	for _, ns := range namespaces {
		if len(by[ns]) != 1 {
			row.Fail(0, "%s was fully reconciled by %v, want exactly one replica", ns, by[ns])
		}
	}

	for trial := range c.Trials {
		ns := namespaces[rnd.IntN(len(namespaces))]
		from := byShard[owner[ns]]
		var others []string
		for _, s := range shards {
			if s != owner[ns] {
				others = append(others, s)
			}
		}
		to := others[rnd.IntN(len(others))]
		before, err := from.FullReconciles()
		if err != nil {
			tb.Fatal(err)
		}
		vigil, err := w.Watch(ctx, []string{ns})
		if err != nil {
			tb.Fatal(err)
		}
		moved := time.Now()
		if err := w.UpdateSync(ctx, ns, "app", func(s *v1alpha1.Sync) {
			if to == "" {
				delete(s.Labels, reconcile.LabelShard)
				return
			}
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			s.Labels[reconcile.LabelShard] = to
		}); err != nil {
			tb.Fatal(err)
		}
		owner[ns] = to
		err = waitFor(settle, func(ctx context.Context) error { return holders(ctx, byShard, owner) })
		lost := vigil.Stop()
		if err != nil {
			row.Fail(trial, "moving %s from %s to %s: %v", ns, from.Name, byShard[to].Name, err)
			continue
		}
		row.Recovery = append(row.Recovery, time.Since(moved))
		if len(lost) > 0 {
			row.WrongPrunes += len(lost)
			row.Fail(trial, "objects of %s were deleted or replaced while it moved from %s to %s: %v", ns, from.Name, byShard[to].Name, lost)
		}
		// The next commit is the new shard's to apply, not the old one's.
		next, f := w.commitFleet(tb, trial+1)
		for _, n := range namespaces {
			if err := w.RequestReconcile(ctx, n, next); err != nil {
				tb.Fatal(err)
			}
		}
		if _, err := w.WaitReady(ctx, namespaces, next, settle); err != nil {
			row.Fail(trial, "after moving %s: %v", ns, err)
			continue
		}
		w.checkOwnership(ctx, &row, trial, namespaces, f.want())
		after, err := from.FullReconciles()
		if err != nil {
			tb.Fatal(err)
		}
		if after[ns] != before[ns] {
			row.Fail(trial, "%s reconciled %s again after it left its shard (%d → %d full reconciliations)", from.Name, ns, before[ns], after[ns])
		}
		if counts, _ := byShard[to].FullReconciles(); counts[ns] == 0 {
			row.Fail(trial, "%s never reconciled %s", byShard[to].Name, ns)
		}
	}
	return row
}
