package faults

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/latchkey-dev/latchkey/reconcile"
)

// cmEvent is one change the API server reported to a ConfigMap a Sync
// owns: what a poll between two moments would miss (a ConfigMap pruned and
// applied again).
type cmEvent struct {
	At        time.Time
	Type      watch.EventType
	Namespace string
	Name      string
	Data      map[string]string
}

// cmWatch records every change to the ConfigMaps labelled as a Sync's, in
// every namespace, from the moment it starts until the test ends.
type cmWatch struct {
	mu     sync.Mutex
	events []cmEvent
}

// watchConfigMaps starts recording; the watch is resumed from its last
// resource version whenever the API server ends it.
func (w *World) watchConfigMaps(tb testing.TB) *cmWatch {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	cms := w.Kube.Clientset.CoreV1().ConfigMaps("")
	sel := reconcile.LabelSync
	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		tb.Fatalf("listing ConfigMaps to watch them: %v", err)
	}
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = sel
			return cms.Watch(ctx, opts)
		},
	})
	if err != nil {
		tb.Fatalf("watching ConfigMaps: %v", err)
	}
	tb.Cleanup(rw.Stop)
	cw := &cmWatch{}
	go func() {
		for e := range rw.ResultChan() {
			cm, ok := e.Object.(*corev1.ConfigMap)
			if !ok {
				continue // a bookmark or an error the retry watcher recovers from
			}
			cw.mu.Lock()
			cw.events = append(cw.events, cmEvent{At: time.Now(), Type: e.Type, Namespace: cm.Namespace, Name: cm.Name, Data: cm.Data})
			cw.mu.Unlock()
		}
	}()
	return cw
}

// mark is a position in the record, for since.
func (cw *cmWatch) mark() int {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	return len(cw.events)
}

// since returns the changes recorded after mark.
func (cw *cmWatch) since(mark int) []cmEvent {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	return append([]cmEvent(nil), cw.events[mark:]...)
}
