package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	sync := func(mod ...func(*v1alpha1.Sync)) *v1alpha1.Sync {
		s := &v1alpha1.Sync{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
		s.Spec.Source.Interval = metav1.Duration{Duration: time.Minute}
		s.Spec.Rotation.Interval = &metav1.Duration{Duration: 30 * time.Second}
		s.Status.LastAppliedRevision = "r1"
		s.Status.ObservedGeneration = 3
		for _, m := range mod {
			m(s)
		}
		return s
	}
	// settled: the Sync applied r1 at generation 3 a moment ago.
	settled := memory{applied: true, revision: "r1", generation: 3, digest: "sha256:a", ready: true, lastFull: now.Add(-time.Second)}
	with := func(mod func(*memory)) memory { m := settled; mod(&m); return m }

	tests := []struct {
		name   string
		m      memory
		s      *v1alpha1.Sync
		c      change
		full   bool
		check  bool
		why    string
		same   bool
		newWk  bool // Reconciling=True is set
		requeu time.Duration
	}{
		{name: "nothing changed: nothing to do until the interval",
			m: settled, s: sync(), c: change{revision: "r1", now: now},
			same: true, requeu: time.Minute},
		{name: "objects edited in the cluster: only they are checked",
			m: settled, s: sync(), c: change{revision: "r1", dirty: 2, now: now},
			check: true, same: true, requeu: time.Minute},
		{name: "a new revision is new work",
			m: settled, s: sync(), c: change{revision: "r2", now: now},
			full: true, why: "new revision", newWk: true, requeu: time.Minute},
		{name: "a spec change is new work",
			m: settled, s: sync(func(s *v1alpha1.Sync) { s.Generation = 4 }), c: change{revision: "r1", now: now},
			full: true, why: "spec changed", newWk: true, requeu: time.Minute},
		{name: "a rotated secret is new work, not drift",
			m: with(func(m *memory) { m.tracksVersions = true }), s: sync(), c: change{revision: "r1", rotated: true, now: now},
			full: true, why: "secret rotated", newWk: true, requeu: 30 * time.Second},
		{name: "after a failure the same revision is retried in full, announced once",
			m: with(func(m *memory) { m.ready = false; m.revision = "r2"; m.progressing = "r2\x003\x00false" }), s: sync(), c: change{revision: "r2", now: now},
			full: true, why: "not ready", same: true, requeu: time.Minute},
		{name: "a restart re-applies without announcing new work",
			m: memory{}, s: sync(), c: change{revision: "r1", now: now},
			full: true, why: "first reconciliation in this process, new revision, spec changed, not ready, periodic full check",
			requeu: time.Minute},
		{name: "a restart on a new revision announces it",
			m: memory{}, s: sync(), c: change{revision: "r2", now: now},
			full: true, why: "first reconciliation in this process, new revision, spec changed, not ready, periodic full check", newWk: true, requeu: time.Minute},
		{name: "a reconcile request forces a full pass of the same state",
			m: settled, s: sync(func(s *v1alpha1.Sync) { s.Annotations = map[string]string{AnnotationReconcileRequest: "now"} }),
			c: change{revision: "r1", now: now}, full: true, why: "reconciliation requested", same: true, requeu: time.Minute},
		{name: "ten intervals without a full pass bring one",
			m: with(func(m *memory) { m.lastFull = now.Add(-10 * time.Minute) }), s: sync(), c: change{revision: "r1", now: now},
			full: true, why: "periodic full check", same: true, requeu: time.Minute},
		{name: "a new revision under approval waits: the last applied one stays the target",
			m: settled, s: sync(func(s *v1alpha1.Sync) { s.Spec.Promotion = &v1alpha1.Promotion{Approval: true} }),
			c: change{revision: "r2", now: now}, same: true, requeu: time.Minute},
		{name: "an approval of another revision does not let it through",
			m: settled, s: sync(func(s *v1alpha1.Sync) {
				s.Spec.Promotion = &v1alpha1.Promotion{Approval: true}
				s.Annotations = map[string]string{AnnotationApprove: "r3"}
			}),
			c: change{revision: "r4", now: now}, same: true, requeu: time.Minute},
		{name: "the approved revision is new work, its secrets checked first",
			m: settled, s: sync(func(s *v1alpha1.Sync) {
				s.Spec.Promotion = &v1alpha1.Promotion{Approval: true}
				s.Annotations = map[string]string{AnnotationApprove: "r2"}
			}),
			c: change{revision: "r2", now: now}, full: true, why: "new revision", newWk: true, requeu: time.Minute},
		{name: "secrets to watch shorten the requeue to the rotation interval",
			m: with(func(m *memory) { m.tracksVersions = true }), s: sync(), c: change{revision: "r1", now: now},
			same: true, requeu: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(tt.m, tt.s, tt.c)
			if d.full != tt.full || d.check != tt.check {
				t.Errorf("full=%t check=%t, want full=%t check=%t (why %q)", d.full, d.check, tt.full, tt.check, d.why)
			}
			if got := strings.Join(d.why, ", "); got != tt.why {
				t.Errorf("why = %q, want %q", got, tt.why)
			}
			if d.sameState != tt.same {
				t.Errorf("sameState = %t, want %t", d.sameState, tt.same)
			}
			if (d.progress != "") != tt.newWk {
				t.Errorf("progress = %q, want new work %t", d.progress, tt.newWk)
			}
			if d.requeue != tt.requeu {
				t.Errorf("requeue = %s, want %s", d.requeue, tt.requeu)
			}
			if held := d.awaiting != ""; held && d.target != tt.m.revision || !held && d.target != tt.c.revision {
				t.Errorf("target = %q, awaiting %q", d.target, d.awaiting)
			}
			if want := d.full && tt.s.Spec.Promotion != nil; d.checkSecrets != want {
				t.Errorf("checkSecrets = %t, want %t", d.checkSecrets, want)
			}
			if d.lastDigest != tt.m.digest {
				t.Errorf("lastDigest = %q, want the remembered %q", d.lastDigest, tt.m.digest)
			}
		})
	}
}

func TestReasonTravelsWithTheFailure(t *testing.T) {
	secret := "hunter2-canary"
	obj := func(v string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap", "data": map[string]any{"k": v}}}
	}
	red := newRedactor([]*unstructured.Unstructured{obj("<path:secret/app#k>")}, []*unstructured.Unstructured{obj(secret)})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"named by its step", failed(v1alpha1.ReasonPruneFailed, errors.New("x")), v1alpha1.ReasonPruneFailed},
		{"wrapped further", fmt.Errorf("outer: %w", failed(v1alpha1.ReasonForbidden, errors.New("x"))), v1alpha1.ReasonForbidden},
		{"redacted", red.Error(failed(v1alpha1.ReasonApplyFailed, errors.New("value "+secret+" refused"))), v1alpha1.ReasonApplyFailed},
		{"unnamed", errors.New("x"), v1alpha1.ReasonApplyFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reasonOf(tt.err); got != tt.want {
				t.Errorf("reasonOf = %q, want %q", got, tt.want)
			}
			if strings.Contains(tt.err.Error(), secret) {
				t.Errorf("the value survived redaction: %q", tt.err)
			}
		})
	}
}

func TestApprovalAwaited(t *testing.T) {
	const r3, r4 = "3333333333333333333333333333333333333333", "4444444444444444444444444444444444444444"
	gated := func(approve string) *v1alpha1.Sync {
		s := &v1alpha1.Sync{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "staging", Annotations: map[string]string{}}}
		s.Spec.Promotion = &v1alpha1.Promotion{Approval: true}
		if approve != "" {
			s.Annotations[AnnotationApprove] = approve
		}
		return s
	}
	tests := []struct {
		name     string
		s        *v1alpha1.Sync
		revision string
		last     string
		waits    bool
		names    []string
	}{
		{"no promotion gates", &v1alpha1.Sync{}, r4, r3, false, nil},
		{"gates without approval", func() *v1alpha1.Sync { s := gated(""); s.Spec.Promotion.Approval = false; return s }(), r4, r3, false, nil},
		{"the applied revision needs no approval", gated(""), r3, r3, false, nil},
		{"unapproved: says how to approve", gated(""), r4, r3, true, []string{r4, "latchkey approve ns/staging " + r4}},
		{"the first revision waits too", gated(""), r3, "", true, []string{r3}},
		{"approved exactly", gated(r4), r4, r3, false, nil},
		{"an approval of R3 never promotes R4", gated(r3), r4, "", true, []string{r4, "names " + r3[:12]}},
		{"an abbreviated approval is not exact", gated(r4[:12]), r4, r3, true, []string{r4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := approvalAwaited(tt.s, tt.revision, tt.last)
			if (got != "") != tt.waits {
				t.Fatalf("approvalAwaited = %q, want waiting %t", got, tt.waits)
			}
			for _, n := range tt.names {
				if !strings.Contains(got, n) {
					t.Errorf("%q does not name %q", got, n)
				}
			}
		})
	}
}
