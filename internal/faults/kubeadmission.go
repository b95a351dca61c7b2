package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// rejectPolicy is the ValidatingAdmissionPolicy (and binding) of
// AdmissionRejects.
const rejectPolicy = "faults-reject-one-configmap"

// AdmissionRejects installs a ValidatingAdmissionPolicy (CEL, evaluated by
// kube-apiserver itself) refusing one ConfigMap by name, then commits a
// revision that changes every ConfigMap of the Sync and adds the refused
// one. Latchkey applies through fluxcd/pkg/ssa: a server-side dry-run of
// every object of a stage before any is applied, and admission runs on
// dry-runs, so the promise checked is that nothing of the revision is
// applied (every ConfigMap keeps its previous data), nothing is deleted,
// and the condition names the object and the policy's message. Recovery is
// from the policy's removal to Ready at the revision.
func AdmissionRejects(tb testing.TB, c Campaign, w *World) Row {
	tb.Helper()
	row := Row{
		Fault:   "admission (ValidatingAdmissionPolicy) refuses one ConfigMap of the set",
		Checked: "nothing of the revision applied; condition names the object and the message; nothing deleted; no orphan",
		Trials:  c.Trials,
	}
	rng := c.Rand("admission rejects")
	ctx := context.Background()
	const ns = "kv"
	names := []string{"cm-0", "cm-1", "cm-2"}
	rev := w.Repo.Commit(tb, "kv: first", map[string]string{"kv/objects.yaml": configMaps(names, "0")})
	w.newSync(tb, ns, "kv", nil)
	if _, err := w.WaitReady(ctx, []string{ns}, rev, kubeWait); err != nil {
		tb.Fatalf("kv: not converged before the fault: %v", err)
	}
	prev := "0"
	for trial := range c.Trials {
		before, err := w.uids(ctx, ns)
		if err != nil {
			tb.Fatal(err)
		}
		refused := fmt.Sprintf("cm-refused-%d", trial)
		message := fmt.Sprintf("faults: %s is refused by policy", refused)
		if err := installRejectPolicy(ctx, w.Client, ns, refused, message); err != nil {
			tb.Fatalf("kv: %v", err)
		}
		gen := fmt.Sprint(trial + 1)
		// The refused ConfigMap at a random place of the set.
		next := slices.Insert(slices.Clone(names), rng.IntN(len(names)+1), refused)
		rev = w.Repo.Commit(tb, fmt.Sprintf("kv: trial %d", trial), map[string]string{"kv/objects.yaml": configMaps(next, gen)})
		if s, err := w.waitSync(ctx, ns, kubeWait, failedNaming(refused, message)); err != nil {
			row.Fail(trial, "the condition does not name %s and the policy's message: %v", refused, err)
		} else if trial == 0 {
			tb.Logf("admission refusal reported as %s", Condition(s))
		}
		// Give a partial apply the time to show.
		time.Sleep(2 * time.Second)
		got, err := w.configMapGens(ctx, ns, next)
		if err != nil {
			tb.Fatal(err)
		}
		var partial []string
		for _, n := range next {
			if want := map[bool]string{true: "", false: prev}[n == refused]; got[n] != want {
				partial = append(partial, fmt.Sprintf("%s=%q", n, got[n]))
			}
		}
		if len(partial) > 0 {
			row.PartialApplies++
			row.Fail(trial, "applied in part while %s was refused: %s", refused, strings.Join(partial, " "))
		}
		w.controllerAlive(tb, &row, trial)

		lifted := time.Now()
		if err := removeRejectPolicy(ctx, w.Client); err != nil {
			tb.Fatalf("kv: %v", err)
		}
		if _, err := w.WaitReady(ctx, []string{ns}, rev, kubeWait); err != nil {
			row.Fail(trial, "not recovered after the policy went: %v", firstLine(err.Error()))
		} else {
			row.Recovery = append(row.Recovery, time.Since(lifted))
		}
		if got, err := w.configMapGens(ctx, ns, next); err != nil {
			tb.Fatal(err)
		} else if slices.ContainsFunc(next, func(n string) bool { return got[n] != gen }) {
			row.Fail(trial, "not every ConfigMap at the revision after recovery: %v", got)
		}
		w.controllerAlive(tb, &row, trial)
		w.checkKept(ctx, tb, &row, trial, before, func(key string) bool { return slices.Contains(names, strings.TrimPrefix(key, ns+"/")) }, ns)
		w.checkOwnedIn(ctx, &row, trial, ns, ns, kinded(next))
		// The next trial's set drops this one's refused ConfigMap: pruned.
		prev = gen
	}
	return row
}

// installRejectPolicy refuses creating or updating ConfigMap ns/name with
// message, and waits until the API server enforces it (a dry-run create
// is refused).
func installRejectPolicy(ctx context.Context, c client.Client, ns, name, message string) error {
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: rejectPolicy},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
				},
			}}},
			Validations: []admissionv1.Validation{{
				Expression: fmt.Sprintf("!(object.metadata.namespace == %q && object.metadata.name == %q)", ns, name),
				Message:    message,
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: rejectPolicy},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        rejectPolicy,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	if err := c.Create(ctx, policy); err != nil {
		return fmt.Errorf("creating the admission policy: %w", err)
	}
	if err := c.Create(ctx, binding); err != nil {
		return fmt.Errorf("binding the admission policy: %w", err)
	}
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	deadline := time.Now().Add(kubeWait)
	for {
		err := c.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), message) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the admission policy is not enforced after %s: %v", kubeWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeRejectPolicy deletes the policy and its binding and waits until the
// API server no longer enforces it.
func removeRejectPolicy(ctx context.Context, c client.Client) error {
	for _, o := range []client.Object{
		&admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: rejectPolicy}},
		&admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: rejectPolicy}},
	} {
		if err := c.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting the admission policy: %w", err)
		}
	}
	return nil
}
