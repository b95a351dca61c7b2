package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// TestNoSyncTakesOverAnothersObject: team-b's Sync applied ConfigMap
// team-a/shared first; team-a's Sync renders the same object. It is refused
// (reason Forbidden, the owner named), nothing of its set is applied, the
// object keeps team-b's content and labels, team-b's Sync stays Ready, and
// deleting team-a's Sync does not delete it. With tenancy on (both act as
// their ServiceAccounts; the admin allows cross-namespace objects, so
// team-b's Role in team-a is what lets it write there) and off (both act as
// the controller: only the labels protect team-b).
func TestNoSyncTakesOverAnothersObject(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tenancy bool
	}{{"tenancy on", true}, {"tenancy off", false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			sc := newScenario(t, "owners")
			for _, ns := range []string{"team-a", "team-b"} {
				serviceAccount(t, sc.kube, ns, "deployer")
				grantRole(t, sc.kube, ns, "deployer", ns, "deployer", configMapRules(true))
			}
			grantRole(t, sc.kube, "team-a", "team-b-deployer", "team-b", "deployer", configMapRules(true))
			startShardController(t, sc.kube, nil, "", func(o *reconcile.Options) {
				o.Tenancy = tenancy.Policy{Enabled: tc.tenancy, AllowCrossNamespace: true}
			})
			rev := sc.repo.Commit(t, "two teams", map[string]string{
				"b/shared.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: team-a}\ndata: {v: team-b}\n",
				"a/shared.yaml": cm("shared", "team-a"),
				"a/mine.yaml":   cm("mine", "team-a"),
			})
			syncOf := func(ns, path string) *v1alpha1.Sync {
				s := sc.gitSync(ns, "app", path, time.Second)
				if tc.tenancy {
					s.Spec.ServiceAccountName = "deployer"
				}
				return s
			}
			sc.create(t, syncOf("team-b", "b"))
			sc.waitApplied(t, "team-b's Sync applied team-a/shared", "team-b", "app", rev)

			sc.create(t, syncOf("team-a", "a"))
			msg := waitRefused(t, sc.c, "team-a", "app", rev, v1alpha1.ReasonForbidden)
			if want := "ConfigMap team-a/shared belongs to Sync team-b/app"; !strings.Contains(msg, want) {
				t.Errorf("Ready message %q does not say %q", msg, want)
			}
			if configMapExists(t, sc.c, "team-a", "mine") {
				t.Error("ConfigMap mine was applied although its set was refused")
			}
			checkShared := func() error {
				var shared corev1.ConfigMap
				if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "shared"}, &shared); err != nil {
					return fmt.Errorf("team-b's ConfigMap: %w", err)
				}
				if shared.Data["v"] != "team-b" || shared.Labels[reconcile.LabelSyncNamespace] != "team-b" {
					return fmt.Errorf("team-b's ConfigMap taken over: data %v, labels %v", shared.Data, shared.Labels)
				}
				return nil
			}
			if err := checkShared(); err != nil {
				t.Fatal(err)
			}
			never(t, 3*time.Second, "team-b's Sync stopped being Ready while team-a's retried", func() bool {
				return !strings.HasPrefix(condition(getSync(t, sc.c, "team-b", "app"), v1alpha1.ConditionReady), "True/")
			})

			if err := sc.c.Delete(ctx, getSync(t, sc.c, "team-a", "app")); err != nil {
				t.Fatal(err)
			}
			eventually(t, 30*time.Second, "team-a's Sync deleted", func() error {
				if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "app"}, &v1alpha1.Sync{}); !apierrors.IsNotFound(err) {
					return fmt.Errorf("still there: %v", err)
				}
				return nil
			})
			if err := checkShared(); err != nil {
				t.Errorf("after deleting team-a's Sync: %v", err)
			}
			if s := getSync(t, sc.c, "team-b", "app"); !strings.HasPrefix(condition(s, v1alpha1.ConditionReady), "True/") {
				t.Errorf("team-b's Sync: Ready %s", condition(s, v1alpha1.ConditionReady))
			}
		})
	}
}

// TestAdoptionOfAnUnlabelledObjectStays: an object nobody labelled (made
// with kubectl before the migration to Latchkey) is adopted: applied over
// and labelled as the Sync's.
func TestAdoptionOfAnUnlabelledObjectStays(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "adopt")
	serviceAccount(t, sc.kube, "team-a", "deployer")
	grantRole(t, sc.kube, "team-a", "deployer", "team-a", "deployer", configMapRules(true))
	sc.create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "legacy"}, Data: map[string]string{"v": "kubectl"}})
	startShardController(t, sc.kube, nil, "", func(o *reconcile.Options) { o.Tenancy = tenancy.Policy{Enabled: true} })
	rev := sc.repo.Commit(t, "adopt", map[string]string{"legacy.yaml": cm("legacy", "git")})
	s := sc.gitSync("team-a", "app", "", time.Second)
	s.Spec.ServiceAccountName = "deployer"
	sc.create(t, s)
	sc.waitApplied(t, "the unlabelled object adopted", "team-a", "app", rev)
	var legacy corev1.ConfigMap
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "legacy"}, &legacy); err != nil {
		t.Fatal(err)
	}
	if legacy.Data["v"] != "git" || legacy.Labels[reconcile.LabelSync] != "app" {
		t.Errorf("not adopted: data %v, labels %v", legacy.Data, legacy.Labels)
	}
}
