package testenv

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestSharedIsOneControlPlanePerPackage: every test that asks gets the same
// running API server, and what one test created is there for the next (so
// tests sharing it isolate by namespace).
func TestSharedIsOneControlPlanePerPackage(t *testing.T) {
	var first *Kube
	t.Run("first", func(t *testing.T) {
		first = Shared(t)
		first.CreateNamespace(t, "shared-first")
	})
	t.Run("second", func(t *testing.T) {
		k := Shared(t)
		if k.Host() != first.Host() {
			t.Fatalf("second Shared at %s, first at %s", k.Host(), first.Host())
		}
		var ns corev1.Namespace
		if err := k.Client.Get(context.Background(), types.NamespacedName{Name: "shared-first"}, &ns); err != nil {
			t.Fatalf("the first test's namespace: %v", err)
		}
	})
}
