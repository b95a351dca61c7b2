package v1alpha1

import "time"

// Defaults the API server applies through the CRD; the getters repeat them
// so a Sync built in Go (tests, `latchkey dev`) behaves the same.
const (
	DefaultInterval         = time.Minute
	DefaultRotationInterval = 30 * time.Second
	DefaultTimeout          = 5 * time.Minute
	DefaultBranch           = "main"
	DefaultWaitTimeout      = 5 * time.Minute
	DefaultPublishAfter     = 30 * time.Minute
)

// ChecksHealth reports whether the Sync checks the health of its workloads
// after an apply: spec.wait asks for it, and spec.publish needs it.
func (s *Sync) ChecksHealth() bool { return s.Spec.Wait != nil || s.Spec.Publish != nil }

// GetWaitTimeout returns how long new workloads may take to become healthy.
func (s *Sync) GetWaitTimeout() time.Duration {
	if w := s.Spec.Wait; w != nil && w.Timeout != nil && w.Timeout.Duration > 0 {
		return w.Timeout.Duration
	}
	return DefaultWaitTimeout
}

// GetPublishAfter returns the soak before a revision is published.
func (s *Sync) GetPublishAfter() time.Duration {
	if p := s.Spec.Publish; p != nil && p.After != nil && p.After.Duration >= 0 {
		return p.After.Duration
	}
	return DefaultPublishAfter
}

// GetMode returns the mode, enforce when unset.
func (s *Sync) GetMode() Mode {
	if s.Spec.Mode == "" {
		return ModeEnforce
	}
	return s.Spec.Mode
}

// PruneEnabled reports whether pruning is on (the default).
func (s *Sync) PruneEnabled() bool { return s.Spec.Prune == nil || *s.Spec.Prune }

// GetInterval returns the source check interval, at least the floor.
func (s *Sync) GetInterval() time.Duration {
	if d := s.Spec.Source.Interval.Duration; d > 0 {
		return max(d, s.intervalFloor)
	}
	return max(DefaultInterval, s.intervalFloor)
}

// SetIntervalFloor makes GetInterval and GetRotationInterval return at
// least floor (the controller's --min-interval), on this copy in memory: the
// spec is left as written.
func (s *Sync) SetIntervalFloor(floor time.Duration) { s.intervalFloor = floor }

// IntervalsRaised names the intervals of the spec that the floor raises,
// as "spec.source.interval 1s", for the controller to say so.
func (s *Sync) IntervalsRaised() []string {
	var out []string
	if d := s.Spec.Source.Interval.Duration; d > 0 && d < s.intervalFloor {
		out = append(out, "spec.source.interval "+d.String())
	}
	if r := s.Spec.Rotation.Interval; r != nil && r.Duration > 0 && r.Duration < s.intervalFloor {
		out = append(out, "spec.rotation.interval "+r.Duration.String())
	}
	return out
}

// GetTimeout returns the reconciliation timeout.
func (s *Sync) GetTimeout() time.Duration {
	if t := s.Spec.Timeout; t != nil && t.Duration > 0 {
		return t.Duration
	}
	return DefaultTimeout
}

// GetRotationInterval returns the interval between secret version checks,
// at least the floor.
func (s *Sync) GetRotationInterval() time.Duration {
	if r := s.Spec.Rotation.Interval; r != nil && r.Duration > 0 {
		return max(r.Duration, s.intervalFloor)
	}
	return max(DefaultRotationInterval, s.intervalFloor)
}

// RestartWorkloads reports whether workloads roll on a secret change (the
// default).
func (s *Sync) RestartWorkloads() bool {
	return s.Spec.Rotation.RestartWorkloads == nil || *s.Spec.Rotation.RestartWorkloads
}

// TargetNamespace is where namespaced objects without a namespace go.
func (s *Sync) TargetNamespace() string {
	if s.Spec.TargetNamespace != "" {
		return s.Spec.TargetNamespace
	}
	return s.Namespace
}

// RefString names the revision the Sync follows, as "branch/main",
// "tag/v1.2.0" or "commit/<sha>".
func (s *Sync) RefString() string {
	r := s.Spec.Source.Ref
	switch {
	case r == nil:
		return "branch/" + DefaultBranch
	case r.Commit != "":
		return "commit/" + r.Commit
	case r.Tag != "":
		return "tag/" + r.Tag
	case r.Branch != "":
		return "branch/" + r.Branch
	}
	return "branch/" + DefaultBranch
}
