package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// statusChange is one version of a Sync, as a watch sees it.
type statusChange struct {
	generation, observed        int64
	revision                    string // lastAppliedRevision
	reconciling, ready, stalled string // condition(): "True/Reason: message" or "<none>"
}

func (c statusChange) String() string {
	return fmt.Sprintf("generation=%d observed=%d applied=%.8s Reconciling=%s Ready=%.40s Stalled=%.30s",
		c.generation, c.observed, c.revision, c.reconciling, c.ready, c.stalled)
}

// statusRecorder keeps every version of one Sync the API server sends a
// watch, so transient conditions cannot be missed between two polls.
type statusRecorder struct {
	mu      sync.Mutex
	changes []statusChange
}

func recordStatus(t *testing.T, kube *testenv.Kube, ns, name string) *statusRecorder {
	t.Helper()
	wc, err := client.NewWithWatch(kube.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, &v1alpha1.SyncList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	rec := &statusRecorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			s, ok := ev.Object.(*v1alpha1.Sync)
			if !ok || s.Name != name {
				continue
			}
			rec.mu.Lock()
			rec.changes = append(rec.changes, statusChange{
				generation: s.Generation, observed: s.Status.ObservedGeneration,
				revision:    s.Status.LastAppliedRevision,
				reconciling: condition(s, v1alpha1.ConditionReconciling),
				ready:       condition(s, v1alpha1.ConditionReady),
				stalled:     condition(s, v1alpha1.ConditionStalled),
			})
			rec.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		w.Stop()
		cancel()
		<-done
	})
	return rec
}

func (r *statusRecorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.changes)
}

func (r *statusRecorder) since(i int) []statusChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]statusChange(nil), r.changes[i:]...)
}

// waitFor waits for a change from index from on that satisfies ok and
// returns the changes from `from` up to it.
func (r *statusRecorder) waitFor(t *testing.T, from int, what string, ok func(statusChange) bool) []statusChange {
	t.Helper()
	var seen []statusChange
	eventually(t, 60*time.Second, what, func() error {
		seen = r.since(from)
		for i, c := range seen {
			if ok(c) {
				seen = seen[:i+1]
				return nil
			}
		}
		return fmt.Errorf("changes so far:\n  %s", joinChanges(seen))
	})
	return seen
}

func joinChanges(cs []statusChange) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.String())
		b.WriteString("\n  ")
	}
	return b.String()
}

// TestReconcilingCondition: Reconciling=True (reason Progressing) is
// written when a new revision, a spec change or a fix starts being
// processed, and replaced by the outcome: removed on success and when
// stalled, ProgressingWithRetry while a failure is retried. Requeues that
// find nothing new write no status at all, and retries of the same failed
// work do not write Progressing again.
func TestReconcilingCondition(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "progress")
	cm := func(color string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {color: " + color + "}\n"
	}
	rev1 := sc.repo.Commit(t, "blue", map[string]string{"app/cm.yaml": cm("blue")})
	ctl := startController(t, sc.kube, nil) // no Vault: a reference fails to resolve
	sc.kube.CreateNamespace(t, "progress")
	rec := recordStatus(t, sc.kube, "progress", "app")
	sc.create(t, sc.gitSync("progress", "app", "app", time.Second))

	progressing := func(c statusChange, contains string) bool {
		return strings.HasPrefix(c.reconciling, "True/"+v1alpha1.ReasonProgressing+":") && strings.Contains(c.reconciling, contains)
	}
	appliedAndDone := func(rev string) func(statusChange) bool {
		return func(c statusChange) bool {
			return c.revision == rev && strings.HasPrefix(c.ready, "True") && c.reconciling == "<none>" && c.stalled == "<none>"
		}
	}
	// expectProgress checks that the changes up to the outcome went through
	// Reconciling=True for the work named by contains, exactly once. A
	// version that keeps the condition of the one before (the inventory
	// recorded before an apply) did not write it again.
	expectProgress := func(t *testing.T, changes []statusChange, contains string) {
		t.Helper()
		n := 0
		for i, c := range changes {
			if progressing(c, contains) && (i == 0 || changes[i-1].reconciling != c.reconciling) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("Reconciling=True/Progressing for %q written %d times, want once:\n  %s", contains, n, joinChanges(changes))
		}
	}
	commit := func(t *testing.T, msg string, files map[string]string) (string, int) {
		t.Helper()
		from := rec.len()
		return sc.repo.Commit(t, msg, files), from
	}

	t.Run("a new Sync is Reconciling until its first apply", func(t *testing.T) {
		changes := rec.waitFor(t, 0, "revision 1 applied", appliedAndDone(rev1))
		expectProgress(t, changes, "reconciling revision "+rev1[:12]+", generation 1")
	})

	t.Run("requeues that find nothing new write no status", func(t *testing.T) {
		from := rec.len()
		// Four intervals: four reconciliations that each look up the
		// revision and stop there.
		never(t, 4*time.Second, "a no-op requeue wrote the status", func() bool { return rec.len() > from })
	})

	t.Run("a new revision", func(t *testing.T) {
		rev, from := commit(t, "green", map[string]string{"app/cm.yaml": cm("green")})
		expectProgress(t, rec.waitFor(t, from, "the new revision applied", appliedAndDone(rev)), "reconciling revision "+rev[:12])
	})

	t.Run("a spec change", func(t *testing.T) {
		from := rec.len()
		s := getSync(t, sc.c, "progress", "app")
		patch := client.MergeFrom(s.DeepCopy())
		s.Spec.Mode = v1alpha1.ModeSync
		if err := sc.c.Patch(ctx, s, patch); err != nil {
			t.Fatal(err)
		}
		changes := rec.waitFor(t, from, "generation 2 done", func(c statusChange) bool {
			return c.observed == 2 && strings.HasPrefix(c.ready, "True") && c.reconciling == "<none>"
		})
		expectProgress(t, changes, "generation 2: spec changed")
	})

	var failing string
	t.Run("a failure is retried: ProgressingWithRetry, Progressing not written again", func(t *testing.T) {
		errorsBefore := errorCount(t, ctl)
		var from int
		failing, from = commit(t, "a reference", map[string]string{
			"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: '<path:secret/data/db#password>'}\n",
		})
		rec.waitFor(t, from, "the failure recorded", func(c statusChange) bool {
			return strings.HasPrefix(c.ready, "False/"+v1alpha1.ReasonResolveFailed) &&
				strings.HasPrefix(c.reconciling, "True/"+v1alpha1.ReasonProgressingWithRetry+": retrying: ")
		})
		eventually(t, 30*time.Second, "two more attempts", func() error {
			if n := errorCount(t, ctl) - errorsBefore; n < 3 {
				return fmt.Errorf("%v failed attempts", n)
			}
			return nil
		})
		expectProgress(t, rec.since(from), "reconciling revision "+failing[:12])
	})

	t.Run("the fix is new work again", func(t *testing.T) {
		rev, from := commit(t, "no reference", map[string]string{
			"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: not-a-secret-yet}\n",
		})
		expectProgress(t, rec.waitFor(t, from, "the fix applied", appliedAndDone(rev)), "reconciling revision "+rev[:12])
	})

	t.Run("stalled: Reconciling removed", func(t *testing.T) {
		from := rec.len()
		sc.repo.Remove(t, "no secret", "app/secret.yaml")
		sc.repo.Commit(t, "no object", map[string]string{"app/cm.yaml": "# nothing to apply\n"})
		changes := rec.waitFor(t, from, "stalled on the empty render", func(c statusChange) bool {
			return strings.HasPrefix(c.stalled, "True/"+v1alpha1.ReasonEmptyRender)
		})
		if last := changes[len(changes)-1]; last.reconciling != "<none>" {
			t.Errorf("a stalled Sync is still Reconciling: %s", last)
		}
	})
}

// errorCount is how many reconciliations ended in an error.
func errorCount(t *testing.T, ctl *controller) float64 {
	t.Helper()
	mfs, err := ctl.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "latchkey_reconcile_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == "error" {
					return float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	return 0
}
