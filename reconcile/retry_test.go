package reconcile

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// A Sync that keeps failing (its Git host down for an hour) is retried with
// backoff, but never less often than its interval: once the host is back,
// it recovers within an interval, as a healthy Sync notices a commit. A
// Sync the controller knows no interval of backs off as controller-runtime
// does.
func TestRetriesBackOffUpToTheSyncInterval(t *testing.T) {
	known := ctrlreconcile.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "app"}}
	unknown := ctrlreconcile.Request{NamespacedName: types.NamespacedName{Namespace: "other", Name: "app"}}
	l := newRetryLimiter(func(r ctrlreconcile.Request) time.Duration {
		if r == known {
			return time.Minute
		}
		return 0
	})
	var first, last, lastUnknown time.Duration
	for i := range 40 {
		d := l.When(known)
		if i == 0 {
			first = d
		}
		last = d
		lastUnknown = l.When(unknown)
	}
	if first >= time.Second {
		t.Errorf("first retry after %s, want a quick one", first)
	}
	if last != time.Minute {
		t.Errorf("after 40 failures, retry after %s, want the interval (1m)", last)
	}
	if lastUnknown <= time.Minute {
		t.Errorf("without a known interval, retry after %s, want controller-runtime's backoff (beyond 1m)", lastUnknown)
	}
	l.Forget(known)
	if d := l.When(known); d >= time.Second {
		t.Errorf("after a success, first retry after %s, want the backoff to start over", d)
	}
}
