package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/promotion"
	gitsource "github.com/latchkey-dev/latchkey/reconcile/source"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/resolver"
)

// missingSecrets is why a new revision is held back: keys its references
// name that this Sync's Vault does not have. Never a value: file:line and
// path#key only.
type missingSecrets struct {
	revision string
	missing  []promotion.Missing
}

func (e *missingSecrets) Error() string {
	lines := make([]string, len(e.missing))
	for i, m := range e.missing {
		lines[i] = m.String()
	}
	return fmt.Sprintf("revision %s waits for %d key(s) missing in this Sync's Vault (the last applied revision stays; write them to promote): %s",
		short(e.revision), len(e.missing), strings.Join(lines, "; "))
}

// waitedFor names each missing key as status.promotions records it.
func (e *missingSecrets) waitedFor() []string {
	out := make([]string, len(e.missing))
	for i, m := range e.missing {
		out[i] = "secret " + m.Ref
	}
	return out
}

// checkPresence is the secrets gate of a promotion: every reference of the
// rendered revision must exist in this Sync's own Vault before anything of
// it is resolved or applied. It returns what it verified.
func checkPresence(ctx context.Context, revision string, res *render.Result, secrets Secrets) ([]promotion.Verified, error) {
	rep, err := secrets.Check(ctx, res)
	if err != nil {
		return nil, failed(v1alpha1.ReasonResolveFailed, fmt.Errorf("checking that the references of revision %s exist in this Sync's Vault: %w", short(revision), err))
	}
	if len(rep.Missing) > 0 {
		return nil, failed(v1alpha1.ReasonSecretsMissing, &missingSecrets{revision: revision, missing: rep.Missing})
	}
	// The check read past the cache; resolution must not then answer from
	// it with a version older than the one verified (a key written while
	// the revision waited would be missing again).
	locs := make([]resolver.Location, len(rep.Verified))
	for i, v := range rep.Verified {
		locs[i] = v.Location
	}
	secrets.Invalidate(locs...)
	return rep.Verified, nil
}

// hold records that a new revision of the followed ref waits (for an
// approval, or for keys in Vault): PromotionPending=True naming what, an
// event and a metric when that changes. Ready keeps the last applied
// revision's outcome: a hold is not a failure, and is retried at the
// interval, not with backoff.
func (r *Reconciler) hold(ctx context.Context, a *attempt, revision, reason, msg string, what []string) error {
	s := a.s
	a.st.mu.Lock()
	if a.st.waitedRev != revision {
		a.st.waitedRev, a.st.waitedFor, a.st.waitedSince = revision, nil, time.Now()
	}
	for _, w := range what {
		if !contains(a.st.waitedFor, w) {
			a.st.waitedFor = append(a.st.waitedFor, w)
		}
	}
	a.st.mu.Unlock()
	if prev := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionPromotionPending); prev != nil &&
		prev.Status == metav1.ConditionTrue && prev.Reason == reason && prev.Message == msg {
		return nil // already said: no write at every interval
	}
	r.metrics.PromotionHolds.WithLabelValues(s.Namespace, reason).Inc()
	r.events.Eventf(s, nil, corev1.EventTypeNormal, v1alpha1.ConditionPromotionPending, "Promote", "%s", msg)
	return r.patchStatus(ctx, s, func(st *v1alpha1.SyncStatus) {
		setCondition(st, s.Generation, v1alpha1.ConditionPromotionPending, true, reason, msg)
		apimeta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionReconciling)
	})
}

// promoted records a new revision of the followed ref applied under
// spec.promotion: status.promotions, PromotionPending=False, an event and
// a metric.
func (r *Reconciler) promoted(a *attempt, in *inputs, d *desired) func(*v1alpha1.SyncStatus) {
	s := a.s
	a.st.mu.Lock()
	rec := v1alpha1.PromotionRecord{Revision: d.revision, From: in.ref.String(), PromotedAt: metav1.Now()}
	if a.st.waitedRev == d.revision {
		rec.WaitedFor = append(rec.WaitedFor, a.st.waitedFor...)
		since := metav1.NewTime(a.st.waitedSince)
		rec.HeldSince = &since
	}
	a.st.waitedRev, a.st.waitedFor = "", nil
	a.st.mu.Unlock()
	if s.Spec.Promotion.Approval {
		rec.ApprovedBy = s.Annotations[AnnotationApprovedBy]
	}
	for _, v := range d.verified {
		rec.Secrets = append(rec.Secrets, v1alpha1.VerifiedSecret{Reference: v.Location.String(), Version: v.Version})
	}
	r.metrics.Promotions.WithLabelValues(s.Namespace).Inc()
	by := ""
	if rec.ApprovedBy != "" {
		by = ", approved by " + rec.ApprovedBy
	}
	r.events.Eventf(s, nil, corev1.EventTypeNormal, v1alpha1.ReasonPromoted, "Promote",
		"revision %s of %s applied%s; %d secret(s) verified present", short(d.revision), rec.From, by, len(rec.Secrets))
	return func(st *v1alpha1.SyncStatus) {
		st.Promotions = append([]v1alpha1.PromotionRecord{rec}, st.Promotions...)
		if len(st.Promotions) > v1alpha1.PromotionLimit {
			st.Promotions = st.Promotions[:v1alpha1.PromotionLimit]
		}
	}
}

// settled clears PromotionPending once nothing holds the followed ref.
func settled(s *v1alpha1.Sync, revision string) func(*v1alpha1.SyncStatus) {
	return func(st *v1alpha1.SyncStatus) {
		setCondition(st, s.Generation, v1alpha1.ConditionPromotionPending, false, v1alpha1.ReasonUpToDate,
			fmt.Sprintf("revision %s, the head of the followed ref, is applied", short(revision)))
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// soak is the verification of the applied revision, in memory only: after
// a restart it starts over, so a revision is never published on a soak
// this process did not watch.
type soak struct {
	revision string
	// appliedAt is when this process first saw the revision applied; the
	// health timeout counts from it.
	appliedAt time.Time
	// healthySince is when the revision was last seen becoming Ready,
	// healthy and without drift (zero while it is not).
	healthySince time.Time
}

// on returns the soak of revision: the same one, or a new one from now.
func (k soak) on(revision string, now time.Time) soak {
	if k.revision != revision {
		return soak{revision: revision, appliedAt: now}
	}
	return k
}

// observe returns the soak after one check: ok is Ready, every workload
// healthy and no drift. Anything else starts it over.
func (k soak) observe(ok bool, now time.Time) soak {
	switch {
	case !ok:
		k.healthySince = time.Time{}
	case k.healthySince.IsZero():
		k.healthySince = now
	}
	return k
}

// publishDue says whether the soaked revision is to be published now, and
// otherwise how long its soak still runs (0: nothing to wait for).
func publishDue(k soak, s *v1alpha1.Sync, now time.Time) (bool, time.Duration) {
	p := s.Spec.Publish
	if p == nil || k.revision == "" || k.healthySince.IsZero() {
		return false, 0
	}
	if pub := s.Status.Published; pub != nil && pub.Ref == p.Ref && pub.Revision == k.revision &&
		!apimeta.IsStatusConditionTrue(s.Status.Conditions, v1alpha1.ConditionPublishBlocked) {
		return false, 0
	}
	if end := k.healthySince.Add(s.GetPublishAfter()); now.Before(end) {
		return false, end.Sub(now)
	}
	return true, 0
}

// healthVerdict is what Ready says about the applied workloads: healthy;
// not yet (HealthCheckPending) until timeout has passed since the revision
// was applied; failed (HealthCheckFailed) after that, or as soon as kstatus
// reads a workload as failed.
func healthVerdict(h health, appliedAt, now time.Time, timeout time.Duration) (reason string, ok bool) {
	switch {
	case h.healthy():
		return v1alpha1.ReasonSucceeded, true
	case len(h.failed) > 0 || now.Sub(appliedAt) >= timeout:
		return v1alpha1.ReasonHealthCheckFailed, false
	}
	return v1alpha1.ReasonHealthCheckPending, false
}

// healthPoll is how often the health of workloads that are not healthy
// yet is read again (or the interval, when shorter): a Deployment's status
// changes do not trigger the Sync.
const healthPoll = 5 * time.Second

// verification is what the health check, the soak and a publication
// found, to be written into the status with the outcome.
type verification struct {
	checked bool
	ok      bool
	reason  string
	message string
	publish func(*v1alpha1.SyncStatus)
	requeue time.Duration // 0: no sooner than the interval
}

func (v verification) record(st *v1alpha1.SyncStatus, s *v1alpha1.Sync) {
	if v.checked && !v.ok {
		setCondition(st, s.Generation, v1alpha1.ConditionReady, false, v.reason, v.message)
	}
	if v.publish != nil {
		v.publish(st)
	}
}

// verify checks the health of the workloads of revision (objs, as the
// Sync's identity), advances the soak and publishes the revision once
// verified. redact removes the values of the last build from messages (nil
// outside a build: kstatus messages are computed from status fields).
func (r *Reconciler) verify(ctx context.Context, a *attempt, in *inputs, revision string, objs []*unstructured.Unstructured, redact func(string) string, drifted bool) verification {
	s := a.s
	if !s.ChecksHealth() || s.GetMode() == v1alpha1.ModeObserve {
		return verification{}
	}
	if redact == nil {
		redact = func(s string) string { return s }
	}
	now := time.Now()
	a.st.mu.Lock()
	k := a.st.soak.on(revision, now)
	a.st.mu.Unlock()

	v := verification{checked: true}
	h, err := checkHealth(ctx, in.id.client, objs)
	if err != nil {
		v.reason, v.message = v1alpha1.ReasonHealthCheckPending, redact(err.Error())
	} else {
		v.reason, v.ok = healthVerdict(h, k.appliedAt, now, s.GetWaitTimeout())
		v.message = fmt.Sprintf("revision %s applied, workloads %s", short(revision), redact(h.String()))
		if v.reason == v1alpha1.ReasonHealthCheckFailed && len(h.failed) == 0 {
			v.message = fmt.Sprintf("revision %s applied, workloads not healthy within %s (spec.wait.timeout): %s",
				short(revision), s.GetWaitTimeout(), redact(h.String()))
		}
	}
	k = k.observe(v.ok && !drifted, now)
	a.st.mu.Lock()
	a.st.soak = k
	a.st.mu.Unlock()
	if !v.ok {
		v.requeue = healthPoll
	}
	due, wait := publishDue(k, s, now)
	if wait > 0 {
		v.requeue = wait
	}
	if due {
		v.publish = r.publish(ctx, s, in, k)
	}
	return v
}

// reverify runs the health check, the soak and the publication between
// full reconciliations: a Deployment's rollout does not trigger the Sync,
// and a soak ends when it ends. It writes the status only when it changes.
func (r *Reconciler) reverify(ctx context.Context, a *attempt, in *inputs) (ctrl.Result, error) {
	s := a.s
	a.st.mu.Lock()
	revision, objs := a.st.revision, a.st.workloads
	a.st.mu.Unlock()
	v := r.verify(ctx, a, in, revision, objs, nil, len(s.Status.Drift) > 0)
	if v.requeue > 0 && v.requeue < a.requeue {
		a.requeue = v.requeue
	}
	after := s.Status.DeepCopy()
	v.record(after, s)
	if v.ok {
		if c := apimeta.FindStatusCondition(after.Conditions, v1alpha1.ConditionReady); c != nil && c.Status != metav1.ConditionTrue {
			setCondition(after, s.Generation, v1alpha1.ConditionReady, true, v1alpha1.ReasonSucceeded,
				fmt.Sprintf("revision %s applied, workloads healthy", short(revision)))
		}
	}
	if apiequality.Semantic.DeepEqual(after, &s.Status) {
		return ctrl.Result{RequeueAfter: a.requeue}, nil
	}
	if err := r.patchStatus(ctx, s, func(st *v1alpha1.SyncStatus) { *st = *after }); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: a.requeue}, nil
}

// workloadsOf keeps what the health check reads of objs, between
// reconciliations: kind, namespace and name, never content.
func workloadsOf(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if !healthChecked[gvk.Group+"/"+gvk.Kind] {
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		u.SetNamespace(o.GetNamespace())
		u.SetName(o.GetName())
		out = append(out, u)
	}
	return out
}

// publish fast-forwards spec.publish.ref to the verified revision with the
// Sync's Git credentials and returns the status change that records it.
func (r *Reconciler) publish(ctx context.Context, s *v1alpha1.Sync, in *inputs, k soak) func(*v1alpha1.SyncStatus) {
	p := s.Spec.Publish
	last := ""
	if pub := s.Status.Published; pub != nil && pub.Ref == p.Ref {
		last = pub.Revision
	}
	from := ""
	if in.ref.Commit == "" && in.ref.Tag == "" {
		from = cmp.Or(in.ref.Branch, v1alpha1.DefaultBranch)
	}
	verifiedAt := k.healthySince.Add(s.GetPublishAfter())
	held, err := r.fetcher.Publish(ctx, gitsource.Publication{
		URL: s.Spec.Source.URL, Branch: p.Ref, Revision: k.revision, From: from, Last: last, Creds: in.creds,
	})
	if err != nil {
		reason := v1alpha1.ReasonPublishFailed
		switch {
		case errors.Is(err, gitsource.ErrRefMoved):
			reason = v1alpha1.ReasonRefMoved
		case errors.Is(err, gitsource.ErrNewerOnRef):
			reason = v1alpha1.ReasonNewerOnRef
		}
		msg := fmt.Sprintf("revision %s is verified but not published: %s", short(k.revision), err)
		prev := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionPublishBlocked)
		if prev == nil || prev.Status != metav1.ConditionTrue || prev.Message != msg {
			r.metrics.Publishes.WithLabelValues(s.Namespace, "blocked").Inc()
			r.events.Eventf(s, nil, corev1.EventTypeWarning, v1alpha1.ConditionPublishBlocked, "Publish", "%s: %s", reason, msg)
		}
		return func(st *v1alpha1.SyncStatus) {
			setCondition(st, s.Generation, v1alpha1.ConditionPublishBlocked, true, reason, msg)
		}
	}
	now := metav1.Now()
	if held != k.revision {
		r.metrics.Publishes.WithLabelValues(s.Namespace, "published").Inc()
		r.metrics.PublishLatency.Observe(now.Sub(verifiedAt).Seconds())
		r.events.Eventf(s, nil, corev1.EventTypeNormal, v1alpha1.ReasonPublished, "Publish",
			"branch %s moved from %s to %s, verified (Ready, healthy, no drift) for %s", p.Ref, cmp.Or(short(held), "nothing"), short(k.revision), s.GetPublishAfter())
	}
	return func(st *v1alpha1.SyncStatus) {
		if st.Published == nil || st.Published.Ref != p.Ref || st.Published.Revision != k.revision {
			st.Published = &v1alpha1.Published{Ref: p.Ref, Revision: k.revision, VerifiedAt: metav1.NewTime(verifiedAt), PublishedAt: now}
		}
		setCondition(st, s.Generation, v1alpha1.ConditionPublishBlocked, false, v1alpha1.ReasonUpToDate,
			fmt.Sprintf("branch %s holds the verified revision %s", p.Ref, short(k.revision)))
	}
}
