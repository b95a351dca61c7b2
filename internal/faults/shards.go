package faults

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// ShardedTenant creates namespace ns with a Sync "app" following the
// repository's app/ every interval, labelled for shard ("" for none) from
// its creation, so no other replica ever sees it as its own.
func (w *World) ShardedTenant(tb testing.TB, ns, shard string, interval time.Duration) {
	tb.Helper()
	w.Kube.CreateNamespace(tb, ns)
	s := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec:       v1alpha1.SyncSpec{Source: v1alpha1.GitSource{URL: w.Repo.URL, Path: "app", Interval: metav1.Duration{Duration: interval}}},
	}
	if shard != "" {
		s.Labels = map[string]string{reconcile.LabelShard: shard}
	}
	if err := w.Client.Create(context.Background(), s); err != nil {
		tb.Fatalf("creating Sync %s/app: %v", ns, err)
	}
}

// RequestReconcile sets the reconcile-request annotation of Sync ns/app,
// as the webhook receiver does.
func (w *World) RequestReconcile(ctx context.Context, ns, value string) error {
	return w.UpdateSync(ctx, ns, "app", func(s *v1alpha1.Sync) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[reconcile.AnnotationReconcileRequest] = value
	})
}

// Reconcilers maps each Sync namespace to the replicas whose log records a
// full reconciliation of it, sorted.
func Reconcilers(replicas []*Replica) (map[string][]string, error) {
	out := map[string][]string{}
	for _, r := range replicas {
		counts, err := r.FullReconciles()
		if err != nil {
			return nil, err
		}
		for ns := range counts {
			out[ns] = append(out[ns], r.Name)
		}
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out, nil
}

// Vigil watches, until stopped, that every object a Sync owns stays in
// place (same UID) while something happens to the Sync, such as moving it
// to another shard: an object deleted or recreated even for a moment is
// reported.
type Vigil struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	lost []string
}

// Watch starts a Vigil over the objects namespaces own now, polling every
// 20 ms.
func (w *World) Watch(ctx context.Context, namespaces []string) (*Vigil, error) {
	start, err := w.written(ctx, namespaces)
	if err != nil {
		return nil, err
	}
	uid := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			u, _, _ := strings.Cut(v, "@")
			out[k] = u
		}
		return out
	}
	want := uid(start)
	v := &Vigil{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(v.done)
		for {
			select {
			case <-v.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			now, err := w.written(ctx, namespaces)
			if err != nil {
				continue
			}
			got := uid(now)
			v.mu.Lock()
			for k, u := range want {
				if got[k] != u && len(v.lost) < 10 {
					v.lost = append(v.lost, fmt.Sprintf("%s (uid %s → %q)", k, u, got[k]))
				}
			}
			v.mu.Unlock()
		}
	}()
	return v, nil
}

// Stop ends the vigil and returns the objects seen gone or replaced.
func (v *Vigil) Stop() []string {
	close(v.stop)
	<-v.done
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lost
}
