package soak

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// revertDeadline is how long an edit may stay before it counts as not
// reverted.
const revertDeadline = 2 * time.Minute

// edits records the manual edits and how long each took to be reverted.
type edits struct {
	mu       sync.Mutex
	wg       sync.WaitGroup
	reverts  []time.Duration
	failures []string
}

// edit changes one ConfigMap's data as kubectl edit would, then watches it
// until the controller has put the value back; it returns at once.
func (e *edits) edit(ctx context.Context, c client.Client, key client.ObjectKey, n int) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		took, err := editAndWait(ctx, c, key, n)
		e.mu.Lock()
		defer e.mu.Unlock()
		if err != nil {
			e.failures = append(e.failures, fmt.Sprintf("edit %d of %s: %v", n, key, err))
			return
		}
		e.reverts = append(e.reverts, took)
	}()
}

func editAndWait(ctx context.Context, c client.Client, key client.ObjectKey, n int) (time.Duration, error) {
	var cm corev1.ConfigMap
	var edited time.Time
	var want string
	// The controller may write the object between the read and the update
	// (a commit, a revert of another edit): read again.
	for attempt := 0; ; attempt++ {
		if err := c.Get(ctx, key, &cm); err != nil {
			return 0, err
		}
		want = cm.Data["index"]
		cm.Data["index"] = "edited-" + strconv.Itoa(n)
		edited = time.Now()
		err := c.Update(ctx, &cm, client.FieldOwner("kubectl-edit"))
		if err == nil {
			break
		}
		if attempt == 3 {
			return 0, fmt.Errorf("updating: %w", err)
		}
	}
	for {
		if err := c.Get(ctx, key, &cm); err != nil {
			return 0, err
		}
		if cm.Data["index"] == want {
			return time.Since(edited), nil
		}
		if time.Since(edited) > revertDeadline {
			return 0, fmt.Errorf("not reverted within %s", revertDeadline)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
