package reconcile

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// Trigger makes every Sync following repoURL check it now (a webhook said
// it changed). It returns how many Syncs were triggered.
//
// Any replica may call it, leader or not: the request is the Sync's
// AnnotationReconcileRequest, written to the API server, which the leader
// of the Sync's shard watches; the leader then asks the Git host for the
// head instead of reusing the one it looked up within the interval. The
// webhook receiver runs on every replica, behind one Service, for this.
func (r *Reconciler) Trigger(ctx context.Context, repoURL string) (int, error) {
	var list v1alpha1.SyncList
	if err := r.client.List(ctx, &list); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		s := &list.Items[i]
		if !sameRepository(s.Spec.Source.URL, repoURL) {
			continue
		}
		ok, err := r.requestReconcile(ctx, s)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// requestReconcile sets AnnotationReconcileRequest on s to the time now,
// with a merge patch of that one annotation (so it never conflicts with the
// leader's writes). A Sync deleted meanwhile is not an error: false.
func (r *Reconciler) requestReconcile(ctx context.Context, s *v1alpha1.Sync) (bool, error) {
	patch := client.MergeFrom(s.DeepCopy())
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[AnnotationReconcileRequest] = time.Now().UTC().Format(time.RFC3339Nano)
	if err := r.client.Patch(ctx, s, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("requesting a reconciliation of Sync %s/%s: %w", s.Namespace, s.Name, err)
	}
	return true, nil
}
