package reconcile

import (
	"net/http"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// Building a client does no I/O (the REST mapper is lazy), so the cache of
// ServiceAccount clients is tested without a server.
func TestServiceAccountClientsAreSharedAndEvictedWithTheirLastSync(t *testing.T) {
	held := -1
	ids := newIdentities(&rest.Config{Host: "https://127.0.0.1:1", QPS: 1000, Burst: 2000}, &http.Client{Transport: http.DefaultTransport},
		runtime.NewScheme(), nil, nil, 4, func(n int) { held = n })
	if ids.qps != 250 || ids.burst != 500 {
		t.Errorf("per-ServiceAccount budget %v QPS, burst %d; want a quarter (concurrency 4) of 1000 and 2000", ids.qps, ids.burst)
	}
	policy := &tenancy.Policy{Enabled: true}
	sync := func(name, sa string) *v1alpha1.Sync {
		return &v1alpha1.Sync{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name}, Spec: v1alpha1.SyncSpec{ServiceAccountName: sa}}
	}
	a, err := ids.forSync(policy, sync("one", "deployer"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ids.forSync(policy, sync("two", "deployer"))
	if err != nil {
		t.Fatal(err)
	}
	if a != b || held != 1 {
		t.Fatalf("two Syncs of one ServiceAccount: same client %t, %d held; want one shared", a == b, held)
	}
	if a.account.Name != "deployer" || a.user() != "ServiceAccount team-a/deployer" {
		t.Errorf("identity %v (%s)", a.account, a.user())
	}
	if _, err := ids.forSync(policy, sync("two", "reader")); err != nil || held != 2 {
		t.Fatalf("Sync two moved to another ServiceAccount: %v, %d held", err, held)
	}
	ids.release(types.NamespacedName{Namespace: "team-a", Name: "one"})
	if held != 1 {
		t.Errorf("deployer's client kept after its last Sync went: %d held", held)
	}
	ids.release(types.NamespacedName{Namespace: "team-a", Name: "two"})
	if held != 0 {
		t.Errorf("%d clients held with no Sync", held)
	}
	if _, err := ids.forSync(policy, sync("three", "")); !tenancy.IsDenied(err) {
		t.Errorf("a Sync without ServiceAccount under tenancy: %v, want a refusal", err)
	}
	if id, err := ids.forSync(&tenancy.Policy{}, sync("four", "")); err != nil || id != ids.controller {
		t.Errorf("tenancy off, no ServiceAccount: %v %v, want the controller's identity", id, err)
	}
}
