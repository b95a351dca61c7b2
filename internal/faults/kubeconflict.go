package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// OtherManager is the field manager of the person or tool that takes a field
// from Latchkey in FieldManagerConflict.
const OtherManager = "kubectl"

// FieldManagerConflict has another field manager ("kubectl", as `kubectl
// apply --server-side --force-conflicts` does) take data.gen of a ConfigMap
// Latchkey applies, alternately under a Sync in enforce and in sync mode.
// What docs/controller.md promises (Modes): enforce reverts the change at
// once and Latchkey owns the field again (it applies with forced
// ownership, as Flux does, so the conflict never blocks it); sync reports
// it (Drifted=True, status.drift naming the object and the field, never the
// value) without reverting, and reverts it with the next commit, which
// applies the whole set. Recovery is from the change to the revert.
func FieldManagerConflict(tb testing.TB, c Campaign, w *World) Row {
	tb.Helper()
	row := Row{
		Fault:   "another field manager forces a field Latchkey applies (enforce, sync)",
		Checked: "enforce: reverted, field owned by latchkey; sync: Drifted names object and field, reverted by the next commit; nothing deleted; no orphan",
		Trials:  c.Trials,
	}
	rng := c.Rand("field manager conflict")
	ctx := context.Background()
	names := []string{"cm-0", "cm-1", "cm-2"}
	modes := map[v1alpha1.Mode]string{v1alpha1.ModeEnforce: "kc-enforce", v1alpha1.ModeSync: "kc-sync"}
	file := func(gen int) map[string]string {
		return map[string]string{"kc/objects.yaml": configMaps(names, fmt.Sprint(gen))}
	}
	gen := 0
	rev := w.Repo.Commit(tb, "kc: first", file(gen))
	for mode, ns := range modes {
		w.newSync(tb, ns, "kc", func(s *v1alpha1.SyncSpec) { s.Mode = mode })
	}
	if _, err := w.WaitReady(ctx, []string{"kc-enforce", "kc-sync"}, rev, kubeWait); err != nil {
		tb.Fatalf("kc: not converged before the fault: %v", err)
	}
	for trial := range c.Trials {
		mode := v1alpha1.ModeEnforce
		if trial%2 == 1 {
			mode = v1alpha1.ModeSync
		}
		ns := modes[mode]
		if _, err := w.WaitReady(ctx, []string{ns}, rev, kubeWait); err != nil {
			tb.Fatalf("kc: %v", err)
		}
		before, err := w.uids(ctx, ns)
		if err != nil {
			tb.Fatal(err)
		}
		target := names[rng.IntN(len(names))]
		theirs := fmt.Sprintf("theirs-%d", trial)
		time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
		changed := time.Now()
		if err := forceApply(ctx, w.Client, ns, target, theirs); err != nil {
			tb.Fatalf("kc: applying as %s: %v", OtherManager, err)
		}
		want := fmt.Sprint(gen)
		if mode == v1alpha1.ModeSync {
			// Reported, not reverted.
			field := "data.gen"
			s, err := w.waitSync(ctx, ns, kubeWait, func(s *v1alpha1.Sync) bool {
				return drifted(s, "ConfigMap "+ns+"/"+target, field)
			})
			if err != nil {
				row.Fail(trial, "sync mode: drift of ConfigMap %s/%s %s not reported: %v; drift %v", ns, target, field, err, s.Status.Drift)
			} else if strings.Contains(fmt.Sprint(s.Status), theirs) {
				row.Fail(trial, "sync mode: the status quotes the value %s", theirs)
			}
			if got, err := w.configMapGens(ctx, ns, []string{target}); err != nil || got[target] != theirs {
				row.Fail(trial, "sync mode: %s reverted (gen %q, %v) though the mode only reports", target, got[target], err)
			}
			gen++
			want = fmt.Sprint(gen)
			changed = time.Now()
			rev = w.Repo.Commit(tb, fmt.Sprintf("kc: trial %d", trial), file(gen))
		}
		// Reverted: enforce at once, sync by the commit.
		deadline := time.Now().Add(kubeWait)
		var got map[string]string
		for {
			got, err = w.configMapGens(ctx, ns, names)
			if err == nil && !slices.ContainsFunc(names, func(n string) bool { return got[n] != want }) {
				break
			}
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if slices.ContainsFunc(names, func(n string) bool { return got[n] != want }) {
			row.Fail(trial, "%s mode: not reverted to gen %s within %s: %v (%v)", mode, want, kubeWait, got, err)
		} else {
			row.Recovery = append(row.Recovery, time.Since(changed))
		}
		if _, err := w.WaitReady(ctx, []string{ns}, rev, kubeWait); err != nil {
			row.Fail(trial, "%s mode: %v", mode, firstLine(err.Error()))
		}
		if owners, err := fieldOwners(ctx, w.Client, ns, target, "gen"); err != nil {
			tb.Fatal(err)
		} else if !slices.Equal(owners, []string{reconcile.FieldManager}) {
			row.Fail(trial, "%s mode: data.gen of %s owned by %v after the revert, want latchkey alone", mode, target, owners)
		}
		if s, err := w.Sync(ctx, ns, "app"); err == nil && len(s.Status.Drift) > 0 {
			row.Fail(trial, "%s mode: drift still reported after the revert: %v", mode, s.Status.Drift)
		}
		w.controllerAlive(tb, &row, trial)
		w.checkKept(ctx, tb, &row, trial, before, keepsAll, ns)
		w.checkOwnedIn(ctx, &row, trial, ns, ns, kinded(names))
	}
	return row
}

// forceApply sets data.gen of ConfigMap ns/name as OtherManager with
// server-side apply, forcing the conflict with Latchkey's ownership.
func forceApply(ctx context.Context, c client.Client, ns, name, value string) error {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetNamespace(ns)
	u.SetName(name)
	if err := unstructured.SetNestedField(u.Object, value, "data", "gen"); err != nil {
		return err
	}
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(OtherManager), client.ForceOwnership)
}

// fieldOwners names the field managers owning data.key of ConfigMap ns/name.
func fieldOwners(ctx context.Context, c client.Client, ns, name, key string) ([]string, error) {
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
		return nil, err
	}
	var owners []string
	for _, m := range cm.ManagedFields {
		if m.FieldsV1 != nil && strings.Contains(m.FieldsV1.GetRawString(), `"f:`+key+`"`) {
			owners = append(owners, m.Manager)
		}
	}
	slices.Sort(owners)
	return owners, nil
}

// drifted says whether the Sync reports object's field as drifted, with
// Drifted=True.
func drifted(s *v1alpha1.Sync, object, field string) bool {
	c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionDrifted)
	if c == nil || c.Status != metav1.ConditionTrue {
		return false
	}
	for _, d := range s.Status.Drift {
		if d.Object == object && slices.Contains(d.Fields, field) {
			return true
		}
	}
	return false
}
