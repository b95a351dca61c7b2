package resolver

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// memBackend is an in-memory KV store with Vault's mount semantics, for the
// pure tests of substitution; the Vault backend is tested against a real
// Vault in resolver/vault.
type memBackend struct {
	mounts map[string]int              // "secret/" -> KV version
	data   map[string][]map[string]any // mount+path -> versions (index 0 = version 1)
	fail   map[string]error            // mount+path -> error to return
	mu     sync.Mutex
	reads  map[string]int // mount+path@version -> reads
}

func newMem() *memBackend {
	return &memBackend{mounts: map[string]int{}, data: map[string][]map[string]any{}, fail: map[string]error{}, reads: map[string]int{}}
}

func (m *memBackend) put(mountPath string, data map[string]any) {
	m.data[mountPath] = append(m.data[mountPath], data)
}

func (m *memBackend) Locate(_ context.Context, path string, hint int) (Location, error) {
	best := ""
	for mount := range m.mounts {
		if strings.HasPrefix(path+"/", mount) && len(mount) > len(best) {
			best = mount
		}
	}
	if best == "" {
		return Location{}, fmt.Errorf("no mount for %s: %w", path, ErrNotFound)
	}
	kv := m.mounts[best]
	rest := strings.TrimPrefix(path, best)
	if kv == 2 {
		rest = strings.TrimPrefix(rest, "data/")
	}
	return Location{Mount: best, Path: rest, KVVersion: kv, Detected: true}, nil
}

func (m *memBackend) Read(_ context.Context, loc Location, version string) (*Secret, error) {
	m.mu.Lock()
	m.reads[loc.Mount+loc.Path+"@"+version]++
	m.mu.Unlock()
	if err := m.fail[loc.Mount+loc.Path]; err != nil {
		return nil, err
	}
	versions := m.data[loc.Mount+loc.Path]
	if len(versions) == 0 {
		return nil, fmt.Errorf("no secret at %s: %w", loc, ErrNotFound)
	}
	n := len(versions)
	if version != "" {
		n, _ = strconv.Atoi(version)
		if n < 1 || n > len(versions) {
			return nil, fmt.Errorf("no version %s of %s: %w", version, loc, ErrNotFound)
		}
	}
	s := &Secret{Location: loc, Data: versions[n-1]}
	if loc.KVVersion == 2 {
		s.Version = n
	}
	return s, nil
}

func (m *memBackend) totalReads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.reads {
		n += c
	}
	return n
}
