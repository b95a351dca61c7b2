package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	gitsource "github.com/latchkey-dev/latchkey/reconcile/source"
	"github.com/latchkey-dev/latchkey/resolver"
)

// reconcile runs the pipeline for one Sync: look up the revision, check
// secret versions, and when anything changed (or a managed object was
// edited) render, resolve and apply or diff.
func (r *Reconciler) reconcile(ctx context.Context, s *v1alpha1.Sync) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(s)
	st := r.state(key)
	dirty := r.tracker.Take(key)
	requeue := ctrl.Result{RequeueAfter: s.GetInterval()}

	fail := func(reason string, err error, revision string) (ctrl.Result, error) {
		st.mu.Lock()
		st.ready = false
		st.mu.Unlock()
		// Dirty objects stay dirty: the next attempt must still look at them.
		for id, at := range dirty {
			r.tracker.Mark(key, id, at)
		}
		msg := err.Error()
		r.events.Eventf(s, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", msg)
		perr := r.patchStatus(ctx, s, func(status *v1alpha1.SyncStatus) {
			if revision != "" {
				status.LastAttemptedRevision = revision
			}
			setFailed(status, s.Generation, reason, msg)
		})
		switch reason {
		case v1alpha1.ReasonConfigInvalid, v1alpha1.ReasonEmptyRender, v1alpha1.ReasonRenderLimitExceeded:
			// Stalled: retrying changes nothing until the Sync or the repository does.
			return requeue, perr
		case v1alpha1.ReasonForbidden:
			// Retried at the interval, not with backoff: a grant, the other
			// Sync letting go or a new commit fixes it, and a refused tenant
			// should not keep the API server busy meanwhile.
			return requeue, perr
		}
		return ctrl.Result{}, errors.Join(err, perr)
	}

	// The policy decides before anything is fetched: who the Sync acts as,
	// where its objects may go, where its source may be.
	id, err := r.admit(s)
	if err != nil {
		return fail(v1alpha1.ReasonForbidden, err, "")
	}
	creds, err := r.gitCredentials(ctx, s)
	if err != nil {
		return fail(v1alpha1.ReasonConfigInvalid, err, "")
	}
	ref := gitRef(s)
	revision, err := r.fetcher.Revision(ctx, s.Spec.Source.URL, ref, creds, s.GetInterval())
	if err != nil {
		return fail(v1alpha1.ReasonFetchFailed, err, "")
	}
	secrets, err := r.secrets.For(ctx, s)
	if err != nil {
		return fail(v1alpha1.ReasonConfigInvalid, err, revision)
	}

	rot, err := r.checkRotation(ctx, st, s.GetRotationInterval(), secrets)
	if err != nil {
		// Vault may be down: nothing is applied on this ground, the last
		// good state stays, and the check is retried at the next interval.
		logger(ctx).Info("rotation check failed", "error", err.Error())
	}

	st.mu.Lock()
	lastCaps := st.capabilities
	st.mu.Unlock()
	capsChanged := false
	if lastCaps != "" {
		// Only a Helm render sees the capabilities.
		if _, sum, err := r.caps.get(ctx); err == nil && sum != lastCaps {
			capsChanged = true
		}
	}

	st.mu.Lock()
	requested := s.Annotations[AnnotationReconcileRequest]
	var why []string
	for _, c := range []struct {
		on     bool
		reason string
	}{
		{!st.applied, "first reconciliation in this process"},
		{revision != st.revision, "new revision"},
		{s.Generation != st.generation, "spec changed"},
		{rot != nil, "secret rotated"},
		{capsChanged, "cluster capabilities changed"},
		{!st.ready, "not ready"},
		{requested != st.reconcileRequest, "reconciliation requested"},
		{time.Since(st.lastFull) >= fullCheckEvery*s.GetInterval(), "periodic full check"},
	} {
		if c.on {
			why = append(why, c.reason)
		}
	}
	full := len(why) > 0
	// A full apply of the state last applied can only be changing what
	// someone changed in the cluster: drift.
	sameState := st.applied && revision == st.revision && s.Generation == st.generation && rot == nil
	lastDigest := st.digest
	hasVersions := len(st.versions) > 0
	progress := st.startsProgress(s, revision, rot != nil)
	st.mu.Unlock()
	if hasVersions && s.GetRotationInterval() < requeue.RequeueAfter {
		requeue.RequeueAfter = s.GetRotationInterval()
	}
	if !full && len(dirty) == 0 {
		return requeue, nil
	}

	if full {
		logger(ctx).Info("reconciling", "revision", short(revision), "because", strings.Join(why, ", "), "generation", s.Generation, "observedGeneration", s.Status.ObservedGeneration)
		if progress {
			// kstatus reads Reconciling=True as "in progress" until the
			// outcome replaces it; only new work is worth this write.
			msg := fmt.Sprintf("reconciling revision %s, generation %d: %s", short(revision), s.Generation, strings.Join(why, ", "))
			if err := r.patchStatus(ctx, s, func(status *v1alpha1.SyncStatus) { setProgressing(status, s.Generation, msg) }); err != nil {
				return ctrl.Result{}, err
			}
		}
	} else {
		logger(ctx).Info("checking drift", "objects", len(dirty))
	}
	snap, err := r.fetcher.Fetch(ctx, s.Spec.Source.URL, ref, revision, creds)
	if err != nil {
		return fail(v1alpha1.ReasonFetchFailed, err, revision)
	}
	d, err := r.build(ctx, s, snap, secrets)
	if d != nil {
		r.metrics.VaultReads.Add(float64(d.reads))
		r.metrics.VaultCacheHits.Add(float64(d.hits))
	}
	if err != nil {
		reason := v1alpha1.ReasonRenderFailed
		var se *stepError
		if errors.As(err, &se) {
			reason = se.reason
		}
		return fail(reason, err, revision)
	}
	if rot != nil {
		r.metrics.RotationPickups.WithLabelValues(s.Namespace).Inc()
		r.events.Eventf(s, nil, corev1.EventTypeNormal, v1alpha1.ReasonRotationPickedUp, "Rotate",
			"re-resolving after a Vault secret rotation: %s", rot)
	}

	var out outcome
	switch s.GetMode() {
	case v1alpha1.ModeObserve:
		out, err = r.observe(ctx, s, id, d, dirty, full)
	default:
		out, err = r.enforce(ctx, s, id, d, dirty, full, sameState && d.digest == lastDigest)
	}
	if err != nil {
		return fail(out.reason, d.redact.Error(err), revision)
	}

	st.mu.Lock()
	if full {
		st.lastFull = time.Now()
		st.revision, st.generation, st.digest = d.revision, s.Generation, d.digest
		st.capabilities = d.capabilities
	}
	st.ready = true
	st.applied = true
	st.reconcileRequest = requested
	st.versions = unpinnedVersions(append([]resolver.Provenance{d.values}, d.prov...))
	if len(st.versions) > 0 && st.lastRotationCheck.IsZero() {
		st.lastRotationCheck = time.Now()
	}
	if len(st.versions) > 0 && s.GetRotationInterval() < requeue.RequeueAfter {
		requeue.RequeueAfter = s.GetRotationInterval()
	}
	st.mu.Unlock()

	if full && definesAPIs(d.objects) {
		// The cluster may serve new kinds now: charts that test for them
		// should see them at their next render.
		r.caps.invalidate()
	}
	r.ensureWatches(ctx, d.objects)
	if err := r.patchStatus(ctx, s, func(status *v1alpha1.SyncStatus) { out.record(status, s, d) }); err != nil {
		return ctrl.Result{}, err
	}
	return requeue, nil
}

func gitRef(s *v1alpha1.Sync) gitsource.Ref {
	if r := s.Spec.Source.Ref; r != nil {
		return gitsource.Ref{Branch: r.Branch, Tag: r.Tag, Commit: r.Commit}
	}
	return gitsource.Ref{}
}

// gitCredentials reads spec.source.secretRef.
func (r *Reconciler) gitCredentials(ctx context.Context, s *v1alpha1.Sync) (*gitsource.Credentials, error) {
	ref := s.Spec.Source.SecretRef
	if ref == nil {
		return nil, nil
	}
	var sec corev1.Secret
	if err := r.reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ref.Name}, &sec); err != nil {
		return nil, fmt.Errorf("reading the Git credentials Secret %s/%s: %w", s.Namespace, ref.Name, err)
	}
	return gitsource.CredentialsFromSecret(sec.Data), nil
}
