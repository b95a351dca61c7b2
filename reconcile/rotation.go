package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/latchkey-dev/latchkey/resolver"
)

// vaultLocation is a Vault secret as the rotation check tracks it.
type vaultLocation = resolver.Location

// unpinnedVersions collects the KV v2 versions of the Vault secrets a build
// read without pinning a version: the ones a rotation concerns.
func unpinnedVersions(prov []resolver.Provenance) map[vaultLocation]int {
	out := map[vaultLocation]int{}
	for _, p := range prov {
		for _, ref := range p.Refs {
			if ref.Source != resolver.SourceVault || ref.Pinned || ref.Location.KVVersion != 2 {
				continue
			}
			out[ref.Location.Key()] = ref.Version
		}
	}
	return out
}

// rotation is the outcome of a rotation check.
type rotation struct {
	changed []string // "secret/app (KV v2) 3→4"
}

// checkRotation reads the current versions of the Sync's unpinned secrets
// when the rotation interval has passed, and drops the rotated ones from the
// cache so the build that follows reads the new versions.
func (r *Reconciler) checkRotation(ctx context.Context, st *syncState, interval time.Duration, secrets Secrets) (*rotation, error) {
	st.mu.Lock()
	due := len(st.versions) > 0 && time.Since(st.lastRotationCheck) >= interval
	var locs []vaultLocation
	known := map[vaultLocation]int{}
	if due {
		st.lastRotationCheck = time.Now()
		for l, v := range st.versions {
			locs = append(locs, l)
			known[l] = v
		}
	}
	st.mu.Unlock()
	if !due {
		return nil, nil
	}
	r.metrics.VaultVersionReads.Add(float64(len(locs)))
	current, err := secrets.CurrentVersions(ctx, locs)
	if err != nil {
		return nil, fmt.Errorf("checking the versions of %d Vault secret(s) for rotation: %w", len(locs), err)
	}
	var rot rotation
	var stale []vaultLocation
	for _, l := range locs {
		now, ok := current[l]
		if !ok || now == 0 || now == known[l] {
			continue
		}
		stale = append(stale, l)
		rot.changed = append(rot.changed, fmt.Sprintf("%s version %d→%d", l, known[l], now))
	}
	if len(stale) == 0 {
		return nil, nil
	}
	sort.Strings(rot.changed)
	secrets.Invalidate(stale...)
	return &rot, nil
}

func (r *rotation) String() string { return strings.Join(r.changed, ", ") }
