package reconcile

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

func hookObj(kind, name, events, weight, policy string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion("v1")
	if kind == "Job" {
		o.SetAPIVersion("batch/v1")
	}
	o.SetKind(kind)
	o.SetNamespace("app")
	o.SetName(name)
	a := map[string]string{annotationHook: events}
	if weight != "" {
		a[annotationHookWeight] = weight
	}
	if policy != "" {
		a[annotationHookDeletePolicy] = policy
	}
	o.SetAnnotations(a)
	return o
}

func mustHooks(t *testing.T, objs ...*unstructured.Unstructured) []*hook {
	t.Helper()
	var out []*hook
	for _, o := range objs {
		h, err := newHook(o, []byte("key"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

func groupNames(groups [][]*hook) string {
	var gs []string
	for _, g := range groups {
		var ns []string
		for _, h := range g {
			ns = append(ns, h.obj.GetName())
		}
		gs = append(gs, strings.Join(ns, ","))
	}
	return strings.Join(gs, " | ")
}

// Hooks run by weight (lowest first, a bad weight as 0), then in apply
// order (kind, then name) within a weight; only those of the action (install
// at the first apply, else upgrade) whose digest changed since they last
// succeeded.
func TestPlanHooks(t *testing.T) {
	hooks := mustHooks(t,
		hookObj("Job", "b-migrate", "pre-install,pre-upgrade", "5", ""),
		hookObj("Job", "a-migrate", "pre-upgrade", "5", ""),
		hookObj("ConfigMap", "z-config", "pre-upgrade", "5", ""),
		hookObj("Job", "schema", "pre-upgrade", "-3", ""),
		hookObj("Job", "odd", "pre-upgrade", "x", ""),
		hookObj("Job", "notify", "post-upgrade", "", "hook-succeeded"),
		hookObj("Job", "cleanup", "pre-delete", "", ""),
		hookObj("Job", "first", "post-install", "", ""),
	)
	upgraded := &v1alpha1.Sync{Status: v1alpha1.SyncStatus{LastAppliedRevision: "r1"}}
	for _, tc := range []struct {
		name      string
		sync      *v1alpha1.Sync
		pre, post string
	}{
		{"upgrade", upgraded, "schema | odd | z-config,a-migrate,b-migrate", "notify"},
		{"install", &v1alpha1.Sync{}, "b-migrate", "first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planHooks(tc.sync, hooks)
			if got := groupNames(p.pre); got != tc.pre {
				t.Errorf("pre = %q, want %q", got, tc.pre)
			}
			if got := groupNames(p.post); got != tc.post {
				t.Errorf("post = %q, want %q", got, tc.post)
			}
		})
	}

	t.Run("an unchanged hook does not run again", func(t *testing.T) {
		s := upgraded.DeepCopy()
		s.Status.Hooks = []v1alpha1.HookRun{{ID: "app_schema_batch_Job", Digest: hooks[3].digest}}
		p := planHooks(s, hooks)
		if got := groupNames(p.pre); strings.Contains(got, "schema") {
			t.Errorf("pre = %q: schema ran again", got)
		}
		if len(p.ran) != 1 || p.ran[0].ID != "app_schema_batch_Job" {
			t.Errorf("ran = %+v: the earlier run is not kept", p.ran)
		}
	})

	t.Run("delete policy defaults to before-hook-creation", func(t *testing.T) {
		if !hooks[0].policy[policyBeforeCreation] || hooks[5].policy[policyBeforeCreation] || !hooks[5].policy[policySucceeded] {
			t.Errorf("policies: %v, %v", hooks[0].policy, hooks[5].policy)
		}
	})
}
