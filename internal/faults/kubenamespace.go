package faults

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// Hold is the finalizer that keeps an object (and so its namespace) from
// going away in NamespaceTerminating.
const Hold = "faults.latchkey.dev/hold"

// NamespaceTerminating deletes a Sync's target namespace while a ConfigMap
// in it carries a finalizer nobody removes, so the namespace stays
// Terminating, then commits a change that adds a ConfigMap there. The Sync
// (enforce, its Namespace and ConfigMaps in Git, spec.targetNamespace)
// must fail with a condition naming the namespace being terminated; a
// second Sync (its own namespace) must apply the same commit; the
// controller must not crash. The finalizer removed, the namespace goes and
// the Sync must recreate it and its ConfigMaps: recovery is measured from
// the finalizer's removal to Ready at the commit.
//
// envtest runs no kube-controller-manager, so the harness does what its
// namespace controller does: it deletes the namespace's content when the
// namespace is deleted and removes the namespace's "kubernetes" finalizer
// once it is empty.
func NamespaceTerminating(tb testing.TB, c Campaign, w *World) Row {
	tb.Helper()
	row := Row{
		Fault:   "target namespace stuck terminating (a finalizer), then released",
		Checked: "condition names the namespace; other Sync applies; controller alive; recreated after release; nothing else deleted; no orphan",
		Trials:  c.Trials,
	}
	rng := c.Rand("namespace terminating")
	ctx := context.Background()
	const other = "kt-other"
	rev := w.Repo.Commit(tb, "kt: other", map[string]string{"kt-other/objects.yaml": configMaps([]string{"cm-0"}, "0")})
	w.newSync(tb, other, "kt-other", nil)
	if _, err := w.WaitReady(ctx, []string{other}, rev, kubeWait); err != nil {
		tb.Fatalf("kt: %v", err)
	}
	for trial := range c.Trials {
		ns := fmt.Sprintf("kt-%d", trial)
		target := ns + "-t"
		path := "kt/" + ns
		names := []string{"cm-0", "cm-1", "cm-2"}
		doc := func(names []string, gen string) map[string]string {
			return map[string]string{path + "/objects.yaml": fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", target) + configMaps(names, gen)}
		}
		rev = w.Repo.Commit(tb, "kt: "+ns, doc(names, "0"))
		w.newSync(tb, ns, path, func(s *v1alpha1.SyncSpec) { s.TargetNamespace = target })
		if _, err := w.WaitReady(ctx, []string{ns, other}, rev, kubeWait); err != nil {
			tb.Fatalf("kt: not converged before the fault: %v", err)
		}
		before, err := w.uids(ctx, other)
		if err != nil {
			tb.Fatal(err)
		}
		held := names[rng.IntN(len(names))]
		if err := hold(ctx, w.Client, target, held, true); err != nil {
			tb.Fatalf("kt: %v", err)
		}
		if err := w.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: target}}); err != nil {
			tb.Fatalf("kt: deleting namespace %s: %v", target, err)
		}
		if _, err := emptyNamespace(ctx, w.Client, target); err != nil {
			tb.Fatalf("kt: %v", err)
		}
		next := append(slices.Clone(names), "cm-3")
		gen := fmt.Sprint(trial + 1)
		files := doc(next, gen)
		files["kt-other/objects.yaml"] = configMaps([]string{"cm-0"}, gen)
		rev = w.Repo.Commit(tb, fmt.Sprintf("kt: trial %d", trial), files)

		// The attempt at the new revision must say why it fails (not only
		// the drift repairs that ran before the commit).
		naming := failedNaming(target, "terminat")
		if s, err := w.waitSync(ctx, ns, kubeWait, func(s *v1alpha1.Sync) bool {
			return s.Status.LastAttemptedRevision == rev && naming(s)
		}); err != nil {
			row.Fail(trial, "the condition does not name namespace %s being terminated for revision %s: %v", target, short(rev), err)
		} else if ReadyAt(s, rev) {
			row.Fail(trial, "Ready at %s while its namespace is terminating", short(rev))
		} else if trial == 0 {
			tb.Logf("namespace terminating reported as %s", Condition(s))
		}
		if _, err := w.WaitReady(ctx, []string{other}, rev, kubeWait); err != nil {
			row.Fail(trial, "the other Sync is affected: %v", firstLine(err.Error()))
		}
		w.controllerAlive(tb, &row, trial)

		released := time.Now()
		if err := hold(ctx, w.Client, target, held, false); err != nil {
			tb.Fatalf("kt: %v", err)
		}
		if err := finishNamespace(ctx, w.Client, target); err != nil {
			tb.Fatalf("kt: %v", err)
		}
		if _, err := w.WaitReady(ctx, []string{ns}, rev, kubeWait); err != nil {
			row.Fail(trial, "not recovered after the namespace went: %v", firstLine(err.Error()))
		} else {
			row.Recovery = append(row.Recovery, time.Since(released))
		}
		if got, err := w.configMapGens(ctx, target, next); err != nil {
			tb.Fatal(err)
		} else {
			for _, n := range next {
				if got[n] != gen {
					row.Fail(trial, "%s/%s has gen %q, want %s", target, n, got[n], gen)
				}
			}
		}
		w.controllerAlive(tb, &row, trial)
		w.checkKept(ctx, tb, &row, trial, before, keepsAll, other)
		w.checkOwnedIn(ctx, &row, trial, ns, target, kinded(next))
		w.checkOwnedIn(ctx, &row, trial, other, other, kinded([]string{"cm-0"}))
	}
	return row
}

// hold adds (or removes) the Hold finalizer of ConfigMap ns/name.
func hold(ctx context.Context, c client.Client, ns, name string, on bool) error {
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
		return fmt.Errorf("reading %s/%s to set its finalizer: %w", ns, name, err)
	}
	patch := client.MergeFrom(cm.DeepCopy())
	cm.Finalizers = slices.DeleteFunc(cm.Finalizers, func(f string) bool { return f == Hold })
	if on {
		cm.Finalizers = append(cm.Finalizers, Hold)
	}
	if err := c.Patch(ctx, &cm, patch); err != nil {
		return fmt.Errorf("setting the finalizer of %s/%s: %w", ns, name, err)
	}
	return nil
}

// emptyNamespace deletes the ConfigMaps of a namespace being deleted, as
// kube-controller-manager's namespace controller does, and says how many
// are left (held by a finalizer).
func emptyNamespace(ctx context.Context, c client.Client, ns string) (int, error) {
	var cms corev1.ConfigMapList
	if err := c.List(ctx, &cms, client.InNamespace(ns)); err != nil {
		return 0, fmt.Errorf("listing namespace %s: %w", ns, err)
	}
	left := 0
	for i := range cms.Items {
		if err := c.Delete(ctx, &cms.Items[i]); client.IgnoreNotFound(err) != nil {
			return 0, fmt.Errorf("emptying namespace %s: %w", ns, err)
		}
		if len(cms.Items[i].Finalizers) > 0 {
			left++
		}
	}
	return left, nil
}

// finishNamespace is the rest of the namespace controller's work: once the
// namespace is empty, its "kubernetes" finalizer is removed and it goes.
func finishNamespace(ctx context.Context, c client.Client, ns string) error {
	deadline := time.Now().Add(kubeWait)
	for {
		left, err := emptyNamespace(ctx, c, ns)
		if err != nil {
			return err
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s still holds %d ConfigMaps after %s", ns, left, kubeWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var n corev1.Namespace
	if err := c.Get(ctx, client.ObjectKey{Name: ns}, &n); err != nil {
		return fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	uid := n.UID
	n.Spec.Finalizers = nil
	if err := c.SubResource("finalize").Update(ctx, &n); err != nil {
		return fmt.Errorf("finalizing namespace %s: %w", ns, err)
	}
	for {
		// Gone, or already created again (by the Sync).
		err := c.Get(ctx, client.ObjectKey{Name: ns}, &n)
		if apierrors.IsNotFound(err) || (err == nil && n.UID != uid) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s still there after its finalizers were removed: %v", ns, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
