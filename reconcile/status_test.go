package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// A reconciliation writes the status more than once (progress, then the
// outcome). The API server answers each write with the whole object: when a
// person changed the spec meanwhile, that answer carries the new generation,
// and a later write of the same reconciliation must still name the
// generation it worked from, or a client waiting for "observed generation
// N" reads an outcome computed from generation N-1 (TestHostileTenant saw
// one under load: a Vault 403 of the old spec under the new generation).
func TestStatusNamesTheGenerationItWasComputedFrom(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver and etcd")
	}
	t.Parallel()
	kube := testenv.StartKube(t, testenv.WithScheme(v1alpha1.AddToScheme))
	ctx := context.Background()
	kube.CreateNamespace(t, "gen")
	s := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gen", Name: "app"},
		Spec: v1alpha1.SyncSpec{Source: v1alpha1.GitSource{
			URL: "https://git.example.com/repo.git", Interval: metav1.Duration{Duration: time.Minute}}},
	}
	if err := kube.Client.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	worked := s.DeepCopy() // what the reconciliation read: generation 1

	changed := &v1alpha1.Sync{}
	if err := kube.Client.Get(ctx, client.ObjectKeyFromObject(s), changed); err != nil {
		t.Fatal(err)
	}
	changed.Spec.Source.Path = "elsewhere"
	if err := kube.Client.Update(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if changed.Generation == worked.Generation {
		t.Fatalf("the spec change did not bump the generation (%d)", changed.Generation)
	}

	r := &Reconciler{client: kube.Client, metrics: NewMetrics(prometheus.NewRegistry())}
	for _, msg := range []string{"reconciling", "the fetch failed"} {
		if err := r.patchStatus(ctx, worked, func(st *v1alpha1.SyncStatus) {
			setFailed(st, worked.Generation, v1alpha1.ReasonFetchFailed, msg)
		}); err != nil {
			t.Fatal(err)
		}
	}
	got := &v1alpha1.Sync{}
	if err := kube.Client.Get(ctx, client.ObjectKeyFromObject(s), got); err != nil {
		t.Fatal(err)
	}
	c := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
	if c == nil || c.ObservedGeneration != 1 || got.Status.ObservedGeneration != 1 || c.Message != "the fetch failed" {
		t.Errorf("status after two writes of a reconciliation of generation 1 (the Sync is at %d): condition %+v, observedGeneration %d",
			got.Generation, c, got.Status.ObservedGeneration)
	}
	if worked.Spec.Source.Path != "" {
		t.Errorf("the reconciliation's Sync took the newer spec from the API server's answer: path %q", worked.Spec.Source.Path)
	}
}
