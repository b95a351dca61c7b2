package reconcile

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// storedInventory reads the Sync's inventory as stored, not as cached: the
// cache may not show the inventory the last reconciliation wrote yet, and
// pruning from an older one would miss what that one recorded. It makes s
// hold the stored inventory, so the status patches that follow are computed
// against what the API server has.
func (r *Reconciler) storedInventory(ctx context.Context, s *v1alpha1.Sync) ([]v1alpha1.InventoryEntry, error) {
	var fresh v1alpha1.Sync
	if err := r.reader.Get(ctx, client.ObjectKeyFromObject(s), &fresh); err != nil {
		return nil, fmt.Errorf("reading the inventory of Sync %s/%s: %w", s.Namespace, s.Name, err)
	}
	s.Status.Inventory = fresh.Status.Inventory
	if fresh.Status.Inventory == nil {
		return nil, nil
	}
	return fresh.Status.Inventory.Entries, nil
}

// recordPending writes the union of the stored inventory and the set about
// to be applied into status.inventory before anything of it is applied: a
// crash, a failed stage or a failed prune never leaves an applied object
// outside the inventory. An entry of an object that was never applied is
// harmless: pruning one that does not exist deletes nothing. Nothing is
// written when the set adds no entry (the steady state).
func (r *Reconciler) recordPending(ctx context.Context, s *v1alpha1.Sync, stored, next []v1alpha1.InventoryEntry) error {
	union := unionInventory(stored, next)
	if len(union) == len(stored) {
		return nil
	}
	return r.patchStatus(ctx, s, func(st *v1alpha1.SyncStatus) {
		st.Inventory = &v1alpha1.Inventory{Entries: union}
	})
}

// unionInventory merges two inventories by ID, sorted; next's API version
// wins for an object in both.
func unionInventory(stored, next []v1alpha1.InventoryEntry) []v1alpha1.InventoryEntry {
	byID := make(map[string]v1alpha1.InventoryEntry, len(stored)+len(next))
	for _, e := range stored {
		byID[e.ID] = e
	}
	for _, e := range next {
		byID[e.ID] = e
	}
	out := make([]v1alpha1.InventoryEntry, 0, len(byID))
	for _, e := range byID {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return slices.Clip(out)
}

// finalPrune deletes everything the stored inventory lists, as the Sync's
// identity, before its finalizer goes.
func (r *Reconciler) finalPrune(ctx context.Context, s *v1alpha1.Sync) error {
	stored, err := r.storedInventory(ctx, s)
	if err != nil || len(stored) == 0 {
		return err
	}
	id, err := r.ids.forSync(&r.opts.Tenancy, s)
	if err != nil {
		return fmt.Errorf("pruning what the deleted Sync owns: %w", err)
	}
	_, err = r.prune(ctx, s, id, stored, nil)
	return err
}
