package faults

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"

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
	rw, err := watchConfigMaps(ctx, w.Kube.Clientset, reconcile.LabelSync)
	if err != nil {
		tb.Fatal(err)
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
