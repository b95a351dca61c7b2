package reconcile

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// applyIntervalFloor raises the Sync's intervals to --min-interval for this
// reconciliation (in memory; the spec stays as written) and says so in a
// Warning event, so the owner of a Sync that asked for less learns why it
// is checked less often. The CRD already refuses less than a second; the
// floor is the admin's: one tenant polling every second would spend the API
// server and Git host that every Sync shares.
func (r *Reconciler) applyIntervalFloor(s *v1alpha1.Sync) {
	if r.opts.MinInterval <= 0 {
		return
	}
	s.SetIntervalFloor(r.opts.MinInterval)
	if raised := s.IntervalsRaised(); len(raised) > 0 {
		r.events.Eventf(s, nil, corev1.EventTypeWarning, v1alpha1.ReasonIntervalRaised, "Reconcile",
			"%s raised to the controller's minimum interval %s (--min-interval)", strings.Join(raised, " and "), r.opts.MinInterval)
	}
}
