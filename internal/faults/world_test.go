package faults

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The World the campaigns run on converges without faults, and its
// ownership accounting sees what the controller applied: the baseline every
// fault is compared with.
func TestWorldConvergesAndAccountsForOwnership(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Git and the controller")
	}
	w := StartWorld(t, WorldOptions{})
	files := map[string]string{}
	var want []string
	for i := range 3 {
		files[fmt.Sprintf("app/cm-%d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  n: \"%d\"\n", i, i)
		want = append(want, fmt.Sprintf("ConfigMap/cm-%d", i))
	}
	rev := w.Repo.Commit(t, "three ConfigMaps", files)
	namespaces := []string{"world-a", "world-b"}
	for _, ns := range namespaces {
		w.Tenant(t, ns, "app", time.Second)
	}
	ctx := context.Background()
	if _, err := w.WaitReady(ctx, namespaces, rev, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		o, err := w.Owned(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		if d := Diff(want, o.Labelled) + Diff(want, o.Inventory); d != "" || len(o.Orphans) > 0 {
			t.Errorf("%s: labelled/inventory differ from Git: %s; orphans %v", ns, d, o.Orphans)
		}
	}
}
