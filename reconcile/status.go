package reconcile

import (
	"context"
	"fmt"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// maxMessage bounds condition messages (the API allows 32 KiB).
const maxMessage = 4096

func setCondition(st *v1alpha1.SyncStatus, generation int64, typ string, status bool, reason, message string) {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	if len(message) > maxMessage {
		message = message[:maxMessage-3] + "..."
	}
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: typ, Status: s, Reason: reason, Message: message, ObservedGeneration: generation,
	})
}

// setReady records a finished reconciliation: Ready=True, and Reconciling
// and Stalled removed, as kstatus reads them.
func setReady(st *v1alpha1.SyncStatus, generation int64, reason, message string) {
	setCondition(st, generation, v1alpha1.ConditionReady, true, reason, message)
	apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionReconciling)
	apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionStalled)
	st.ObservedGeneration = generation
}

// setProgressing records that new work started: Reconciling=True until
// setReady or setFailed records its outcome. Ready keeps the last outcome
// meanwhile, so the Ready column and metric do not flap on every commit.
func setProgressing(st *v1alpha1.SyncStatus, generation int64, message string) {
	setCondition(st, generation, v1alpha1.ConditionReconciling, true, v1alpha1.ReasonProgressing, message)
	apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionStalled)
}

// setFailed records a failed reconciliation. A configuration problem only a
// person can fix stalls the Sync; everything else is retried with backoff,
// so it is still reconciling.
func setFailed(st *v1alpha1.SyncStatus, generation int64, reason, message string) {
	setCondition(st, generation, v1alpha1.ConditionReady, false, reason, message)
	switch reason {
	case v1alpha1.ReasonConfigInvalid, v1alpha1.ReasonEmptyRender:
		setCondition(st, generation, v1alpha1.ConditionStalled, true, reason, message)
		apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionReconciling)
	default:
		setCondition(st, generation, v1alpha1.ConditionReconciling, true, v1alpha1.ReasonProgressingWithRetry, "retrying: "+message)
		apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionStalled)
	}
	st.ObservedGeneration = generation
}

func setDrift(st *v1alpha1.SyncStatus, generation int64, mode v1alpha1.Mode) {
	if len(st.Drift) == 0 {
		setCondition(st, generation, v1alpha1.ConditionDrifted, false, v1alpha1.ReasonNoDrift, "the cluster matches the desired state")
		return
	}
	action := "reported, not reverted (mode " + string(mode) + ")"
	if mode == v1alpha1.ModeEnforce {
		action = "being reverted"
	}
	setCondition(st, generation, v1alpha1.ConditionDrifted, true, v1alpha1.ReasonDriftDetected,
		fmt.Sprintf("%d object(s) differ from Git, %s: %s", len(st.Drift), action, driftSummary(st.Drift)))
}

func driftSummary(d []v1alpha1.DriftedObject) string {
	out := ""
	for i, o := range d {
		if i == 5 {
			out += fmt.Sprintf("; and %d more", len(d)-5)
			break
		}
		if i > 0 {
			out += "; "
		}
		out += fmt.Sprintf("%s %v", o.Object, o.Fields)
	}
	return out
}

// patchStatus applies mutate to the status and sends it as a merge patch of
// the status subresource; s keeps the metadata and spec it was read with.
func (r *Reconciler) patchStatus(ctx context.Context, s *v1alpha1.Sync, mutate func(*v1alpha1.SyncStatus)) error {
	before := s.DeepCopy()
	mutate(&s.Status)
	ready := 0.0
	if apimeta.IsStatusConditionTrue(s.Status.Conditions, v1alpha1.ConditionReady) {
		ready = 1
	}
	r.metrics.Ready.WithLabelValues(s.Namespace, s.Name).Set(ready)
	// The API server answers with the whole object, whose spec and
	// generation may be newer than what this reconciliation works from:
	// only the status is taken from the answer, so that a later write of
	// the same reconciliation still names the generation it observed;
	// before, a copy taken for the patch, gives them back.
	err := r.client.Status().Patch(ctx, s, client.MergeFrom(before))
	s.TypeMeta, s.ObjectMeta, s.Spec = before.TypeMeta, before.ObjectMeta, before.Spec
	if err != nil {
		return fmt.Errorf("updating the status: %w", err)
	}
	return nil
}

func pushHistory(st *v1alpha1.SyncStatus, a v1alpha1.Apply) {
	st.History = append([]v1alpha1.Apply{a}, st.History...)
	if len(st.History) > v1alpha1.HistoryLimit {
		st.History = st.History[:v1alpha1.HistoryLimit]
	}
}
