package webhook

import (
	"sync"
	"time"
)

// recent remembers keys (GitHub delivery IDs, body signatures) for a while,
// to refuse a replayed delivery. It is bounded in both time and count: the
// oldest keys are forgotten first. Only authenticated requests add keys, so
// an anonymous sender cannot flush it.
type recent struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	at    map[string]time.Time
	order []string // keys in the order added (so by time)
}

func newRecent(ttl time.Duration, max int) *recent {
	return &recent{ttl: ttl, max: max, at: map[string]time.Time{}}
}

// seen reports whether key was added less than ttl before now.
func (r *recent) seen(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[key]
	return ok && now.Sub(t) < r.ttl
}

// add remembers keys at now, and forgets what is expired or over the bound.
func (r *recent) add(now time.Time, keys ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if _, ok := r.at[k]; !ok {
			r.order = append(r.order, k)
		}
		r.at[k] = now
	}
	drop := 0
	for drop < len(r.order) {
		k := r.order[drop]
		if len(r.order)-drop <= r.max && now.Sub(r.at[k]) < r.ttl {
			break
		}
		delete(r.at, k)
		drop++
	}
	if drop > 0 {
		r.order = append(r.order[:0:0], r.order[drop:]...)
	}
}

// len is the number of keys remembered.
func (r *recent) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.at)
}
