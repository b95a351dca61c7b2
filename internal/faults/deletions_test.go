package faults

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// A ConfigMap deleted and re-created before anyone looks leaves only its
// deletion event: Deletions returns it once Flush returns, and only once.
func TestDeletionsSeesADeletionThatLeftNoTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver and etcd")
	}
	kube := testenv.StartKube(t)
	kube.CreateNamespace(t, ControllerNamespace)
	kube.CreateNamespace(t, "deletions")
	ctx := context.Background()
	d, err := WatchDeletions(ctx, kube.Clientset)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	cms := kube.Clientset.CoreV1().ConfigMaps("deletions")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}
	for range 2 {
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, "kept", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := d.Take(); !slices.Equal(got, []string{"deletions/kept", "deletions/kept"}) {
		t.Errorf("deletions seen: %v; want deletions/kept twice", got)
	}
	if err := d.Flush(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := d.Take(); len(got) != 0 {
		t.Errorf("deletions seen again after Take: %v", got)
	}
}
