package drift

import (
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Tracker remembers, per Sync, the managed objects that changed since the
// Sync last looked, so a drift check compares only those instead of the
// whole set. It is safe for concurrent use.
type Tracker struct {
	mu    sync.Mutex
	dirty map[types.NamespacedName]map[string]time.Time
}

// NewTracker returns an empty Tracker.
func NewTracker() *Tracker {
	return &Tracker{dirty: map[types.NamespacedName]map[string]time.Time{}}
}

// Mark records that the object with inventory ID id, owned by sync, changed
// at when (the first mark wins until Take).
func (t *Tracker) Mark(sync types.NamespacedName, id string, when time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.dirty[sync]
	if m == nil {
		m = map[string]time.Time{}
		t.dirty[sync] = m
	}
	if _, ok := m[id]; !ok {
		m[id] = when
	}
}

// Take returns and forgets the changed objects of sync, with when each was
// first seen changing.
func (t *Tracker) Take(sync types.NamespacedName) map[string]time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.dirty[sync]
	delete(t.dirty, sync)
	return m
}

// Forget drops what is known about sync (it was deleted).
func (t *Tracker) Forget(sync types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.dirty, sync)
}

// OwnChange reports whether the latest change to obj was made by manager
// (the controller's own apply): the newest managedFields entries, ignoring
// status subresource updates, all belong to it. Such events need no drift
// check. Timestamps have a one second resolution: when another manager wrote
// in the same second the change is not called own, which costs one
// needless check and never misses an edit.
func OwnChange(obj metav1.Object, manager string) bool {
	var newest time.Time
	var own, other bool
	for _, e := range obj.GetManagedFields() {
		if e.Subresource != "" || e.Time == nil {
			continue
		}
		t := e.Time.Time
		switch {
		case t.After(newest):
			newest, own, other = t, e.Manager == manager, e.Manager != manager
		case t.Equal(newest):
			if e.Manager == manager {
				own = true
			} else {
				other = true
			}
		}
	}
	return own && !other
}
