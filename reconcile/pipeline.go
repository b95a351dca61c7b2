package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	gitsource "github.com/latchkey-dev/latchkey/reconcile/source"
	"github.com/latchkey-dev/latchkey/resolver"
)

// reconcile runs the pipeline for one Sync in four parts: look (the
// revision, the secrets, a rotation check), decide (pure: what to do about
// what changed, including holding a revision that awaits approval), run
// (fetch, render, the secrets gate, resolve, apply or diff) and record
// (memory; health, soak and publication; status, events). With nothing to
// run, a Sync that checks health is only verified again. Every failure
// carries its Ready reason the same way, as a stepError, and is recorded by
// fail; a promotion that waits is recorded by hold, not as a failure.
func (r *Reconciler) reconcile(ctx context.Context, s *v1alpha1.Sync) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(s)
	a := &attempt{s: s, key: key, st: r.state(key), dirty: r.tracker.Take(key), requeue: s.GetInterval()}
	a.st.mu.Lock()
	a.st.interval = s.GetInterval() // caps the backoff of its retries (retry.go)
	a.st.mu.Unlock()
	in, err := r.look(ctx, a)
	if err != nil {
		return r.fail(ctx, a, err)
	}

	capsChanged := r.capabilitiesChanged(ctx, a.st)
	a.st.mu.Lock()
	dec := decide(a.st.memory(), s, change{revision: in.revision, rotated: in.rot != nil, capabilities: capsChanged, dirty: len(a.dirty), now: time.Now()})
	if dec.progress != "" {
		a.st.progressing = dec.progress
	}
	a.st.mu.Unlock()
	a.requeue = dec.requeue
	if dec.awaiting != "" {
		msg := fmt.Sprintf("revision %s of %s waits for %s; %s stays applied", in.revision, in.ref, dec.awaiting, cmp.Or(short(dec.target), "nothing"))
		if err := r.hold(ctx, a, in.revision, v1alpha1.ReasonAwaitingApproval, msg, []string{"approval"}); err != nil {
			return ctrl.Result{}, err
		}
		// The last applied revision stays, and is still kept true.
		in.revision, in.pinned = dec.target, true
	}
	if !dec.full && !dec.check {
		if a.s.ChecksHealth() && a.st.verifiable() {
			return r.reverify(ctx, a, in)
		}
		return ctrl.Result{RequeueAfter: a.requeue}, nil
	}
	if err := r.announce(ctx, s, in, dec, len(a.dirty)); err != nil {
		return ctrl.Result{}, err
	}

	d, out, err := r.run(ctx, s, in, dec, a.dirty)
	if err != nil {
		return r.fail(ctx, a, err)
	}
	return r.record(ctx, a, in, dec, d, out)
}

// capabilitiesChanged reports whether the cluster's capabilities differ
// from those of the Sync's last Helm render (only a Helm render sees them).
func (r *Reconciler) capabilitiesChanged(ctx context.Context, st *syncState) bool {
	st.mu.Lock()
	last := st.capabilities
	st.mu.Unlock()
	if last == "" {
		return false
	}
	_, sum, err := r.caps.get(ctx)
	return err == nil && sum != last
}

// attempt is one reconciliation of a Sync in progress.
type attempt struct {
	s     *v1alpha1.Sync
	key   types.NamespacedName
	st    *syncState
	dirty map[string]time.Time // managed objects changed in the cluster
	// revision is the revision attempted, once known.
	revision string
	requeue  time.Duration
}

// inputs are what look found: who the Sync acts as, where its source is and
// which revision it points to, its secrets and whether any rotated.
type inputs struct {
	id       *identity
	creds    *gitsource.Credentials
	ref      gitsource.Ref // the followed ref
	revision string
	// pinned: revision is not the head of ref but the last applied one,
	// held while a promotion waits; it is fetched by commit.
	pinned  bool
	secrets Secrets
	rot     *rotation
}

// look gathers what decide needs. The policy decides before anything is
// fetched: who the Sync acts as, where its objects may go, where its
// source may be.
func (r *Reconciler) look(ctx context.Context, a *attempt) (*inputs, error) {
	s := a.s
	in := &inputs{ref: gitRef(s)}
	var err error
	if in.id, err = r.admit(s); err != nil {
		return nil, failed(v1alpha1.ReasonForbidden, err)
	}
	if in.creds, err = r.gitCredentials(ctx, s); err != nil {
		return nil, failed(v1alpha1.ReasonConfigInvalid, err)
	}
	if in.revision, err = r.fetcher.Revision(ctx, s.Spec.Source.URL, in.ref, in.creds, s.GetInterval()); err != nil {
		return nil, failed(v1alpha1.ReasonFetchFailed, err)
	}
	a.revision = in.revision
	if in.secrets, err = r.secrets.For(ctx, s); err != nil {
		return nil, failed(v1alpha1.ReasonConfigInvalid, err)
	}
	if in.rot, err = r.checkRotation(ctx, a.st, s.GetRotationInterval(), in.secrets); err != nil {
		// Vault may be down: nothing is applied on this ground, the last
		// good state stays, and the check is retried at the next interval.
		logger(ctx).Info("rotation check failed", "error", err.Error())
	}
	return in, nil
}

// announce logs the decision and, for new work, sets Reconciling=True:
// kstatus reads it as "in progress" until the outcome replaces it, and only
// new work is worth this write.
func (r *Reconciler) announce(ctx context.Context, s *v1alpha1.Sync, in *inputs, dec decision, dirty int) error {
	if !dec.full {
		logger(ctx).Info("checking drift", "objects", dirty)
		return nil
	}
	because := strings.Join(dec.why, ", ")
	logger(ctx).Info("reconciling", "revision", short(in.revision), "because", because, "generation", s.Generation, "observedGeneration", s.Status.ObservedGeneration)
	if dec.progress == "" {
		return nil
	}
	msg := fmt.Sprintf("reconciling revision %s, generation %d: %s", short(in.revision), s.Generation, because)
	return r.patchStatus(ctx, s, func(status *v1alpha1.SyncStatus) { setProgressing(status, s.Generation, msg) })
}

// run does what was decided: fetch the revision, build the desired state
// and apply it (or diff it, in observe mode).
func (r *Reconciler) run(ctx context.Context, s *v1alpha1.Sync, in *inputs, dec decision, dirty map[string]time.Time) (*desired, outcome, error) {
	ref := in.ref
	if in.pinned {
		ref = gitsource.Ref{Commit: in.revision}
	}
	snap, err := r.fetcher.Fetch(ctx, s.Spec.Source.URL, ref, in.revision, in.creds)
	if err != nil {
		return nil, outcome{}, failed(v1alpha1.ReasonFetchFailed, err)
	}
	d, err := r.build(ctx, s, snap, in.secrets, dec.checkSecrets)
	if d != nil {
		r.metrics.VaultReads.Add(float64(d.reads))
		r.metrics.VaultCacheHits.Add(float64(d.hits))
	}
	if err != nil {
		return nil, outcome{}, err
	}
	if in.rot != nil {
		r.metrics.RotationPickups.WithLabelValues(s.Namespace).Inc()
		r.events.Eventf(s, nil, corev1.EventTypeNormal, v1alpha1.ReasonRotationPickedUp, "Rotate",
			"re-resolving after a Vault secret rotation: %s", in.rot)
	}
	var out outcome
	switch s.GetMode() {
	case v1alpha1.ModeObserve:
		out, err = r.observe(ctx, s, in.id, d, dirty, dec.full)
	default:
		out, err = r.enforce(ctx, s, in.id, d, dirty, dec.full, dec.sameState && d.digest == dec.lastDigest)
	}
	if err != nil {
		return nil, outcome{}, d.redact.Error(err)
	}
	return d, out, nil
}

// record remembers what was applied, watches its kinds, verifies it
// (health, soak, publication) and writes the outcome into the status.
func (r *Reconciler) record(ctx context.Context, a *attempt, in *inputs, dec decision, d *desired, out outcome) (ctrl.Result, error) {
	s, st := a.s, a.st
	st.mu.Lock()
	if dec.full {
		st.lastFull = time.Now()
		st.revision, st.generation, st.digest = d.revision, s.Generation, d.digest
		st.capabilities = d.capabilities
	}
	st.ready = true
	st.applied = true
	st.reconcileRequest = s.Annotations[AnnotationReconcileRequest]
	st.versions = unpinnedVersions(append([]resolver.Provenance{d.values}, d.prov...))
	st.workloads = workloadsOf(d.objects)
	if len(st.versions) > 0 && st.lastRotationCheck.IsZero() {
		st.lastRotationCheck = time.Now()
	}
	if len(st.versions) > 0 && s.GetRotationInterval() < a.requeue {
		a.requeue = s.GetRotationInterval()
	}
	st.mu.Unlock()

	if dec.full && definesAPIs(d.objects) {
		// The cluster may serve new kinds now: charts that test for them
		// should see them at their next render.
		r.caps.invalidate()
	}
	r.ensureWatches(ctx, d.objects)
	after := s.Status.DeepCopy()
	out.record(after, s, d)
	v := r.verify(ctx, a, in, d.revision, d.objects, d.redact.String, len(after.Drift) > 0)
	if v.requeue > 0 && v.requeue < a.requeue {
		a.requeue = v.requeue
	}
	var promoted func(*v1alpha1.SyncStatus)
	if s.Spec.Promotion != nil && out.applied && d.revision != s.Status.LastAppliedRevision {
		promoted = r.promoted(a, in, d)
	}
	if err := r.patchStatus(ctx, s, func(status *v1alpha1.SyncStatus) {
		out.record(status, s, d)
		v.record(status, s)
		if promoted != nil {
			promoted(status)
		}
		if s.Spec.Promotion != nil && dec.awaiting == "" {
			settled(s, d.revision)(status)
		}
	}); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: a.requeue}, nil
}

// fail records a failed attempt: Ready=False with the reason the failing
// step gave, a Warning event, and the retry policy of that reason.
func (r *Reconciler) fail(ctx context.Context, a *attempt, err error) (ctrl.Result, error) {
	s := a.s
	// Dirty objects stay dirty: the next attempt must still look at them.
	for id, at := range a.dirty {
		r.tracker.Mark(a.key, id, at)
	}
	var notFound *gitsource.RefNotFoundError
	if s.Spec.Promotion != nil && errors.As(err, &notFound) {
		// The previous environment has published nothing yet: waiting for
		// it is no failure, and no reason to back off.
		msg := fmt.Sprintf("waiting for a first revision: %s", err)
		if herr := r.hold(ctx, a, "", v1alpha1.ReasonNothingPublished, msg, nil); herr != nil {
			return ctrl.Result{}, herr
		}
		return ctrl.Result{RequeueAfter: a.requeue}, nil
	}
	var missing *missingSecrets
	if errors.As(err, &missing) {
		// Held, not failed: the last applied revision stays and stays
		// Ready; the gate is checked again at the interval.
		if herr := r.hold(ctx, a, missing.revision, v1alpha1.ReasonSecretsMissing, err.Error(), missing.waitedFor()); herr != nil {
			return ctrl.Result{}, herr
		}
		return ctrl.Result{RequeueAfter: a.requeue}, nil
	}
	reason := reasonOf(err)
	a.st.mu.Lock()
	a.st.ready = false
	a.st.soak = a.st.soak.observe(false, time.Now()) // a failed revision is not verified
	a.st.mu.Unlock()
	msg := err.Error()
	r.events.Eventf(s, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", msg)
	perr := r.patchStatus(ctx, s, func(status *v1alpha1.SyncStatus) {
		if a.revision != "" {
			status.LastAttemptedRevision = a.revision
		}
		setFailed(status, s.Generation, reason, msg)
	})
	switch reason {
	case v1alpha1.ReasonConfigInvalid, v1alpha1.ReasonEmptyRender, v1alpha1.ReasonRenderLimitExceeded:
		// Stalled: retrying changes nothing until the Sync or the repository does.
		return ctrl.Result{RequeueAfter: a.requeue}, perr
	case v1alpha1.ReasonForbidden:
		// Retried at the interval, not with backoff: a grant, the other
		// Sync letting go or a new commit fixes it, and a refused tenant
		// should not keep the API server busy meanwhile.
		return ctrl.Result{RequeueAfter: a.requeue}, perr
	}
	return ctrl.Result{}, errors.Join(err, perr)
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
