package faults

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// Deletions records every ConfigMap deleted in the cluster, from a watch
// the API server feeds in etcd order: a prune that deletes an object Git
// still has and re-creates it within one trial leaves nothing to see
// afterwards except this event.
type Deletions struct {
	clientset kubernetes.Interface
	cancel    context.CancelFunc
	rw        *watchtools.RetryWatcher

	mu      sync.Mutex
	deleted []string // "namespace/name", since the last Take
	marked  string   // resourceVersion of the marker the watch saw last
	seen    chan struct{}
	err     error
	markerN int
}

// markerName is the ConfigMap Flush writes: the watch delivers events in
// resourceVersion order, so once it shows the marker's write it has shown
// every deletion before it.
const markerName = "faults-deletions-marker"

// WatchDeletions starts watching ConfigMaps in every namespace; Stop ends it.
func WatchDeletions(ctx context.Context, clientset kubernetes.Interface) (*Deletions, error) {
	list, err := clientset.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("listing ConfigMaps to start the deletions watch: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return clientset.CoreV1().ConfigMaps("").Watch(ctx, o)
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watching ConfigMaps: %w", err)
	}
	d := &Deletions{clientset: clientset, cancel: cancel, rw: rw, seen: make(chan struct{}, 1)}
	go d.run()
	return d, nil
}

func (d *Deletions) run() {
	for ev := range d.rw.ResultChan() {
		if ev.Type == watch.Error {
			d.mu.Lock()
			d.err = apierrors.FromObject(ev.Object)
			d.mu.Unlock()
			continue
		}
		cm, ok := ev.Object.(*corev1.ConfigMap)
		if !ok {
			continue
		}
		d.mu.Lock()
		switch {
		case ev.Type == watch.Deleted:
			d.deleted = append(d.deleted, cm.Namespace+"/"+cm.Name)
		case cm.Name == markerName && cm.Namespace == ControllerNamespace:
			d.marked = cm.ResourceVersion
			select {
			case d.seen <- struct{}{}:
			default:
			}
		}
		d.mu.Unlock()
	}
}

// Flush writes the marker and waits until the watch has delivered it, so
// that Take returns every deletion that happened before Flush was called.
func (d *Deletions) Flush(ctx context.Context, timeout time.Duration) error {
	d.markerN++
	cms := d.clientset.CoreV1().ConfigMaps(ControllerNamespace)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: markerName},
		Data:       map[string]string{"n": strconv.Itoa(d.markerN)},
	}
	got, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		got, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("writing the deletions marker: %w", err)
	}
	deadline := time.After(timeout)
	for {
		d.mu.Lock()
		done, werr := d.marked == got.ResourceVersion, d.err
		d.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-d.seen:
		case <-deadline:
			return fmt.Errorf("the ConfigMap watch did not deliver the marker within %s (last watch error: %v)", timeout, werr)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Take returns the deletions seen since the last Take ("namespace/name").
func (d *Deletions) Take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.deleted
	d.deleted = nil
	return out
}

// Stop ends the watch.
func (d *Deletions) Stop() {
	d.cancel()
	d.rw.Stop()
}
