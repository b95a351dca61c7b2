package resolver

import (
	"sync"
	"time"
)

// Cache keeps secrets read from the backend across renders, so a controller
// that re-renders every few minutes does not re-read every secret each time.
// Entries expire after a TTL; the controller invalidates a location when it
// sees (through CurrentVersions) that the secret rotated. Values stay in
// process memory only. A Cache is safe for concurrent use.
type Cache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
}

type cacheKey struct {
	loc     Location // with Detected cleared
	version string   // "" for latest
}

type cacheEntry struct {
	secret  *Secret
	expires time.Time
}

// NewCache returns a cache whose entries live for ttl.
func NewCache(ttl time.Duration) *Cache {
	return &Cache{ttl: ttl, now: time.Now, entries: map[cacheKey]cacheEntry{}}
}

func (c *Cache) get(loc Location, version string) (*Secret, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey{loc.Key(), version}
	e, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, k)
		return nil, false
	}
	return e.secret, true
}

func (c *Cache) put(loc Location, version string, s *Secret) {
	if c == nil || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[cacheKey{loc.Key(), version}] = cacheEntry{secret: s, expires: c.now().Add(c.ttl)}
}

// Invalidate drops every cached version of the secret at loc.
func (c *Cache) Invalidate(loc Location) {
	c.mu.Lock()
	defer c.mu.Unlock()
	loc = loc.Key()
	for k := range c.entries {
		if k.loc == loc {
			delete(c.entries, k)
		}
	}
}

// Purge drops everything.
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// Len is the number of cached secret versions.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
