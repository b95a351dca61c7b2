package reconcile

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

func TestSoakStartsOverOnAnythingButHealthy(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		revision string
		ok       bool
		at       int
		since    int // -1: not healthy
		applied  int
	}{
		{"r1", false, 0, -1, 0}, // applied, rolling out
		{"r1", true, 3, 3, 0},   // healthy from 3s
		{"r1", true, 5, 3, 0},   // still counting from 3s
		{"r1", false, 6, -1, 0}, // drift or a crash: starts over
		{"r1", true, 8, 8, 0},
		{"r2", true, 9, 9, 9}, // a new revision has its own soak and timeout
	}
	var k soak
	for i, st := range steps {
		k = k.on(st.revision, at(st.at)).observe(st.ok, at(st.at))
		wantSince := time.Time{}
		if st.since >= 0 {
			wantSince = at(st.since)
		}
		if !k.healthySince.Equal(wantSince) || !k.appliedAt.Equal(at(st.applied)) || k.revision != st.revision {
			t.Errorf("step %d: soak = %+v, want healthy since %v, applied at %v", i, k, wantSince, at(st.applied))
		}
	}
}

func TestPublishDue(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	publishing := func(mod ...func(*v1alpha1.Sync)) *v1alpha1.Sync {
		s := &v1alpha1.Sync{}
		s.Spec.Publish = &v1alpha1.Publish{Ref: "verified/dev", After: &metav1.Duration{Duration: 2 * time.Second}}
		for _, m := range mod {
			m(s)
		}
		return s
	}
	healthy := soak{revision: "r2", appliedAt: t0, healthySince: t0}
	tests := []struct {
		name string
		k    soak
		s    *v1alpha1.Sync
		now  time.Time
		due  bool
		wait time.Duration
	}{
		{"no spec.publish", healthy, &v1alpha1.Sync{}, t0.Add(time.Hour), false, 0},
		{"never healthy: never published", soak{revision: "r2", appliedAt: t0}, publishing(), t0.Add(time.Hour), false, 0},
		{"soaking: wait for the rest", healthy, publishing(), t0.Add(500 * time.Millisecond), false, 1500 * time.Millisecond},
		{"soaked", healthy, publishing(), t0.Add(2 * time.Second), true, 0},
		{"already published", healthy, publishing(func(s *v1alpha1.Sync) {
			s.Status.Published = &v1alpha1.Published{Ref: "verified/dev", Revision: "r2"}
		}), t0.Add(time.Hour), false, 0},
		{"published elsewhere before: publish here", healthy, publishing(func(s *v1alpha1.Sync) {
			s.Status.Published = &v1alpha1.Published{Ref: "other", Revision: "r2"}
		}), t0.Add(time.Hour), true, 0},
		{"blocked: tried again", healthy, publishing(func(s *v1alpha1.Sync) {
			s.Status.Published = &v1alpha1.Published{Ref: "verified/dev", Revision: "r2"}
			s.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionPublishBlocked, Status: metav1.ConditionTrue}}
		}), t0.Add(time.Hour), true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			due, wait := publishDue(tt.k, tt.s, tt.now)
			if due != tt.due || wait != tt.wait {
				t.Errorf("publishDue = %t, %s; want %t, %s", due, wait, tt.due, tt.wait)
			}
		})
	}
}

func TestHealthVerdict(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	waiting := health{waiting: []string{"Deployment dev/web: Available: 0/1"}}
	tests := []struct {
		name   string
		h      health
		after  time.Duration
		reason string
		ok     bool
	}{
		{"healthy", health{}, 0, v1alpha1.ReasonSucceeded, true},
		{"rolling out within the timeout", waiting, time.Minute, v1alpha1.ReasonHealthCheckPending, false},
		{"not healthy within the timeout", waiting, 5 * time.Minute, v1alpha1.ReasonHealthCheckFailed, false},
		{"a failed workload fails at once", health{failed: []string{"Job dev/migrate: BackoffLimitExceeded"}}, 0, v1alpha1.ReasonHealthCheckFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, ok := healthVerdict(tt.h, t0, t0.Add(tt.after), 5*time.Minute)
			if reason != tt.reason || ok != tt.ok {
				t.Errorf("healthVerdict = %s, %t; want %s, %t", reason, ok, tt.reason, tt.ok)
			}
		})
	}
	if got := waiting.String(); got != "not healthy yet: Deployment dev/web: Available: 0/1" {
		t.Errorf("health names %q", got)
	}
}
