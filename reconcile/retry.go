package reconcile

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// newRetryLimiter is the Sync queue's rate limiter: controller-runtime's
// default (a per-Sync exponential backoff from 5 ms, and 10 retries a
// second, bursts of 100, over all Syncs) with each Sync's backoff capped at
// its interval. Uncapped, the backoff grows with the length of an outage (a
// Git host down for 10 minutes leaves its Syncs retrying only every 5-10
// minutes, up to 16), so recovery would take as long again once the host
// is back; capped, a failing Sync is retried at least as often as a healthy
// one is checked, as Flux's retryInterval defaults to its interval. The
// overall bucket still bounds what many failing Syncs cost together.
func newRetryLimiter(interval func(ctrlreconcile.Request) time.Duration) workqueue.TypedRateLimiter[ctrlreconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		cappedBackoff{
			TypedRateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[ctrlreconcile.Request](5*time.Millisecond, 1000*time.Second),
			interval:         interval,
		},
		&workqueue.TypedBucketRateLimiter[ctrlreconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// cappedBackoff caps a per-Sync backoff at the Sync's interval, when known.
type cappedBackoff struct {
	workqueue.TypedRateLimiter[ctrlreconcile.Request]
	interval func(ctrlreconcile.Request) time.Duration
}

func (c cappedBackoff) When(req ctrlreconcile.Request) time.Duration {
	d := c.TypedRateLimiter.When(req)
	if limit := c.interval(req); limit > 0 && d > limit {
		return limit
	}
	return d
}
