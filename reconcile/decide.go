package reconcile

import (
	"fmt"
	"time"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// memory is what the controller remembers of a Sync between
// reconciliations, as decide reads it: a copy of syncState taken under its
// lock, so deciding needs no lock, no server and no clock of its own.
type memory struct {
	applied          bool
	revision         string
	generation       int64
	digest           string
	ready            bool
	reconcileRequest string
	lastFull         time.Time
	progressing      string
	// tracksVersions: the last build read unpinned Vault secrets, whose
	// rotation is checked at the rotation interval.
	tracksVersions bool
}

// memory copies what decide reads. Callers hold st.mu.
func (st *syncState) memory() memory {
	return memory{
		applied: st.applied, revision: st.revision, generation: st.generation, digest: st.digest,
		ready: st.ready, reconcileRequest: st.reconcileRequest, lastFull: st.lastFull,
		progressing: st.progressing, tracksVersions: len(st.versions) > 0,
	}
}

// change is what this reconciliation found before deciding: the revision
// the source points to, whether a Vault secret rotated, how many managed
// objects changed in the cluster, and the time.
type change struct {
	revision string
	rotated  bool
	dirty    int
	now      time.Time
}

// decision is what one reconciliation does, decided before any of it is
// done.
type decision struct {
	// target is the revision to reconcile: the one the source points to,
	// or, while a promotion waits for approval, the last applied one ("" when
	// none was: then nothing is done).
	target string
	// awaiting is what a new revision of the followed ref waits for before
	// it is applied ("" when nothing holds it).
	awaiting string
	// checkSecrets: target is a new revision under spec.promotion, whose
	// references must all exist in the Sync's Vault before it is applied.
	checkSecrets bool
	// full: render, resolve and apply (or diff) the whole set; why says
	// because of what. Neither full nor check: nothing to do until requeue.
	full bool
	why  []string
	// check: only the dirty objects are compared (and re-applied in
	// enforce mode).
	check bool
	// sameState: the set is the one last applied (same revision, spec and
	// secret versions), so whatever a full apply changes is drift; the
	// digest of the build confirms it.
	sameState  bool
	lastDigest string
	// progress is the work Reconciling=True is set for ("" when it is not
	// new work, or already announced).
	progress string
	// requeue is when to look again when nothing triggers sooner.
	requeue time.Duration
}

// decide is the pure part of a reconciliation: from what the controller
// remembers, the Sync and what changed, what to do.
func decide(m memory, s *v1alpha1.Sync, c change) decision {
	requested := s.Annotations[AnnotationReconcileRequest]
	d := decision{target: c.revision}
	last := m.revision
	if !m.applied {
		last = s.Status.LastAppliedRevision
	}
	if d.awaiting = approvalAwaited(s, c.revision, last); d.awaiting != "" {
		d.target = last
		c.revision = last
	}
	for _, cond := range []struct {
		on     bool
		reason string
	}{
		{!m.applied, "first reconciliation in this process"},
		{c.revision != m.revision, "new revision"},
		{s.Generation != m.generation, "spec changed"},
		{c.rotated, "secret rotated"},
		{!m.ready, "not ready"},
		{requested != m.reconcileRequest, "reconciliation requested"},
		{c.now.Sub(m.lastFull) >= fullCheckEvery*s.GetInterval(), "periodic full check"},
	} {
		if cond.on {
			d.why = append(d.why, cond.reason)
		}
	}
	d.full = len(d.why) > 0 && d.target != ""
	d.check = !d.full && c.dirty > 0 && d.target != ""
	d.checkSecrets = d.full && s.Spec.Promotion != nil && d.target != last
	// A full apply of the state last applied can only be changing what
	// someone changed in the cluster: drift.
	d.sameState = m.applied && c.revision == m.revision && s.Generation == m.generation && !c.rotated
	d.lastDigest = m.digest
	if d.full {
		d.progress = progressWork(m, s, c)
	}
	d.requeue = s.GetInterval()
	if m.tracksVersions && s.GetRotationInterval() < d.requeue {
		d.requeue = s.GetRotationInterval()
	}
	return d
}

// progressWork names the work this reconciliation starts when the Sync has
// not applied it yet: a revision or a generation other than the last
// applied one (known in memory, or from the status after a restart, so a
// restart alone is not new work), or a rotated secret. It is "" when that
// work was already announced, however often it is retried.
func progressWork(m memory, s *v1alpha1.Sync, c change) string {
	changed := c.rotated
	if m.applied {
		changed = changed || c.revision != m.revision || s.Generation != m.generation
	} else {
		changed = changed || c.revision != s.Status.LastAppliedRevision || s.Generation != s.Status.ObservedGeneration
	}
	work := fmt.Sprintf("%s\x00%d\x00%t", c.revision, s.Generation, c.rotated)
	if !changed || work == m.progressing {
		return ""
	}
	return work
}

// approvalAwaited says what revision waits for when spec.promotion.approval
// holds it: a revision other than the last applied one is taken only once
// annotation latchkey.dev/approve names exactly it, so an approval never
// carries over to a newer commit. "" when nothing holds it.
func approvalAwaited(s *v1alpha1.Sync, revision, last string) string {
	if s.Spec.Promotion == nil || !s.Spec.Promotion.Approval || revision == last {
		return ""
	}
	if approved := s.Annotations[AnnotationApprove]; approved == revision {
		return ""
	} else if approved != "" {
		return fmt.Sprintf("approval of revision %s (latchkey.dev/approve names %s, another revision): latchkey approve %s/%s %s",
			revision, short(approved), s.Namespace, s.Name, revision)
	}
	return fmt.Sprintf("approval of revision %s: latchkey approve %s/%s %s", revision, s.Namespace, s.Name, revision)
}
