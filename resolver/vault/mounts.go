package vault

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// mountInfo is what the resolver needs to know about a secrets engine.
type mountInfo struct {
	path      string // "secret/"
	typ       string // "kv", "generic" (KV v1 in old Vaults), "database"...
	kvVersion int
}

// mountTable caches the mounts the token can see, as listed by
// sys/internal/ui/mounts (the endpoint the Vault CLI uses to tell KV v1 from
// v2); it is refreshed after ttl. Mounts the listing does not show (a token
// may see a path without seeing its mount in the list) are looked up one by
// one with sys/internal/ui/mounts/PATH and added.
type mountTable struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	mounts   map[string]mountInfo
	loadedAt time.Time
	listErr  error // the listing failed; retried after ttl
}

func (t *mountTable) fresh() bool {
	return !t.loadedAt.IsZero() && t.now().Sub(t.loadedAt) < t.ttl
}

// lookup finds the mount path is on, by longest prefix.
func (t *mountTable) lookup(path string) (mountInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var best mountInfo
	for p, m := range t.mounts {
		if strings.HasPrefix(path+"/", p) && len(p) > len(best.path) {
			best = m
		}
	}
	return best, best.path != ""
}

func (t *mountTable) add(m mountInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mounts == nil {
		t.mounts = map[string]mountInfo{}
	}
	t.mounts[m.path] = m
}

func (t *mountTable) replace(mounts map[string]mountInfo, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.loadedAt = t.now()
	t.listErr = err
	if err == nil {
		t.mounts = mounts
	}
}

// parseMount reads one mount entry of the ui/mounts responses.
func parseMount(path string, raw any) (mountInfo, bool) {
	m, ok := raw.(map[string]any)
	if !ok {
		return mountInfo{}, false
	}
	info := mountInfo{path: path}
	info.typ, _ = m["type"].(string)
	if info.typ == "kv" || info.typ == "generic" {
		info.kvVersion = 1
		if opts, ok := m["options"].(map[string]any); ok {
			if v, _ := opts["version"].(string); v == "2" {
				info.kvVersion = 2
			}
		}
	}
	return info, true
}

// listMounts reads the secrets engines the token can see.
func listMounts(ctx context.Context, c *api.Client) (map[string]mountInfo, error) {
	sec, err := c.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts")
	if err != nil {
		return nil, classify("listing Vault mounts (sys/internal/ui/mounts)", err)
	}
	if sec == nil {
		return nil, fmt.Errorf("listing Vault mounts: empty response")
	}
	raw, _ := sec.Data["secret"].(map[string]any)
	out := make(map[string]mountInfo, len(raw))
	for p, v := range raw {
		if info, ok := parseMount(p, v); ok {
			out[p] = info
		}
	}
	return out, nil
}

// preflight asks Vault which mount path is on.
func preflight(ctx context.Context, c *api.Client, path string) (mountInfo, error) {
	sec, err := c.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+path)
	if err != nil {
		return mountInfo{}, classify("looking up the mount of "+path, err)
	}
	if sec == nil {
		return mountInfo{}, fmt.Errorf("looking up the mount of %s: no mount", path)
	}
	mp, _ := sec.Data["path"].(string)
	info, ok := parseMount(mp, sec.Data)
	if !ok || mp == "" {
		return mountInfo{}, fmt.Errorf("looking up the mount of %s: unexpected response", path)
	}
	return info, nil
}

func (t *mountTable) describe() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var kv []string
	for p, m := range t.mounts {
		if m.kvVersion > 0 {
			kv = append(kv, fmt.Sprintf("%s (KV v%d)", p, m.kvVersion))
		}
	}
	sort.Strings(kv)
	if len(kv) == 0 {
		return "no KV mounts are visible to this token"
	}
	return "KV mounts visible to this token: " + strings.Join(kv, ", ")
}
