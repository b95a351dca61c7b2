package reconcile_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// TestFailedStagedApplyLeavesNoOrphan: a set whose first stage (a
// Namespace) applies and whose second stage fails (an invalid object)
// leaves the Namespace in status.inventory, recorded before it was applied,
// so the next good revision prunes it. (Tenancy off: the controller's
// identity; the pre-check has nothing to refuse.)
func TestFailedStagedApplyLeavesNoOrphan(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "staged")
	startController(t, sc.kube, nil)
	sc.kube.CreateNamespace(t, "team")
	good := sc.repo.Commit(t, "good", map[string]string{"a.yaml": cm("a", "1")})
	sc.create(t, sc.gitSync("team", "app", "", time.Second))
	sc.waitApplied(t, "the good revision applied", "team", "app", good)

	bad := sc.repo.Commit(t, "two stages, the second invalid", map[string]string{
		"ns.yaml":  "apiVersion: v1\nkind: Namespace\nmetadata: {name: staged}\n",
		"bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not-A-DNS-Name, namespace: staged}\ndata: {v: x}\n",
	})
	waitRefused(t, sc.c, "team", "app", bad, v1alpha1.ReasonApplyFailed)
	if err := sc.c.Get(ctx, client.ObjectKey{Name: "staged"}, &corev1.Namespace{}); err != nil {
		t.Fatalf("the first stage did not apply (the test needs it to): %v", err)
	}
	s := getSync(t, sc.c, "team", "app")
	var ids []string
	for _, e := range s.Status.Inventory.Entries {
		ids = append(ids, e.ID)
	}
	if !slices.Contains(ids, "_staged__Namespace") {
		t.Errorf("inventory %v lacks Namespace staged, applied by the failed revision", ids)
	}
	if !slices.Contains(ids, "team_a__ConfigMap") {
		t.Errorf("inventory %v lost ConfigMap a of the last good revision", ids)
	}

	fixed := sc.repo.Remove(t, "drop both", "ns.yaml", "bad.yaml")
	sc.waitApplied(t, "the fixed revision applied", "team", "app", fixed)
	eventually(t, 10*time.Second, "Namespace staged pruned", func() error {
		var ns corev1.Namespace
		err := sc.c.Get(ctx, client.ObjectKey{Name: "staged"}, &ns)
		if apierrors.IsNotFound(err) || (err == nil && !ns.DeletionTimestamp.IsZero()) {
			return nil // envtest runs no namespace controller: deleting is enough
		}
		return fmt.Errorf("Namespace staged: %v, deletion %v", err, ns.DeletionTimestamp)
	})
	if got := getSync(t, sc.c, "team", "app").Status.Inventory.Entries; len(got) != 1 || got[0].ID != "team_a__ConfigMap" {
		t.Errorf("inventory after the fix: %v, want only ConfigMap a", got)
	}
}
