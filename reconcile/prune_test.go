package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// TestNeverPruneOnEmptyOrFailedRender: a render that yields nothing, or
// fails, must leave every owned object in place (DESIGN.md invariant 3),
// and observe mode never creates anything.
func TestNeverPruneOnEmptyOrFailedRender(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "app")
	good := map[string]string{
		"deploy/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n",
		"deploy/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: v}\n",
	}
	rev := sc.repo.Commit(t, "good", good)
	startController(t, sc.kube, nil)
	sc.kube.CreateNamespace(t, "team")
	sc.create(t, sc.gitSync("team", "app", "deploy", time.Second))
	sc.waitApplied(t, "first apply", "team", "app", rev)

	tests := []struct {
		name   string
		change func() string
		reason string
	}{
		{name: "every manifest deleted", reason: v1alpha1.ReasonRenderFailed,
			change: func() string { return sc.repo.Remove(t, "delete all", "deploy/a.yaml", "deploy/b.yaml") }},
		{name: "files that hold no object", reason: v1alpha1.ReasonEmptyRender,
			change: func() string {
				return sc.repo.Commit(t, "comments only", map[string]string{"deploy/a.yaml": "# nothing\n", "deploy/b.yaml": "---\n"})
			}},
		{name: "a malformed manifest", reason: v1alpha1.ReasonRenderFailed,
			change: func() string {
				return sc.repo.Commit(t, "typo", map[string]string{"deploy/a.yaml": good["deploy/a.yaml"], "deploy/b.yaml": "kind: [unclosed\n"})
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.change()
			eventually(t, 30*time.Second, "the failure reported", func() error {
				s := getSync(t, sc.c, "team", "app")
				ready := condition(s, v1alpha1.ConditionReady)
				if s.Status.LastAttemptedRevision != bad || !strings.HasPrefix(ready, "False/"+tc.reason) {
					return fmt.Errorf("attempted %s, Ready %s", s.Status.LastAttemptedRevision, ready)
				}
				return nil
			})
			s := getSync(t, sc.c, "team", "app")
			if s.Status.LastAppliedRevision != rev || len(s.Status.Inventory.Entries) != 2 {
				t.Errorf("applied %s with %d inventory entries; want %s and 2", s.Status.LastAppliedRevision, len(s.Status.Inventory.Entries), rev)
			}
			for _, name := range []string{"a", "b"} {
				if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team", Name: name}, &corev1.ConfigMap{}); err != nil {
					t.Errorf("ConfigMap %s: %v (an empty or failed render pruned it)", name, err)
				}
			}
		})
	}

	t.Run("observe mode creates nothing and reports what is missing", func(t *testing.T) {
		sc.repo.Commit(t, "a new object", map[string]string{
			"deploy/a.yaml": good["deploy/a.yaml"], "deploy/b.yaml": good["deploy/b.yaml"],
			"deploy/c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n",
		})
		s := getSync(t, sc.c, "team", "app")
		patch := client.MergeFrom(s.DeepCopy())
		s.Spec.Mode = v1alpha1.ModeObserve
		if err := sc.c.Patch(ctx, s, patch); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "the missing object reported", func() error {
			s := getSync(t, sc.c, "team", "app")
			if d := condition(s, v1alpha1.ConditionDrifted); !strings.Contains(d, "ConfigMap team/c [(missing)]") {
				return fmt.Errorf("Drifted %s", d)
			}
			return nil
		})
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "c"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("observe mode created ConfigMap c (get: %v)", err)
		}
	})
}
