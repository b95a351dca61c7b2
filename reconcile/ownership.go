package reconcile

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/reconcile/inventory"
)

// OwnershipConflict is an object of the set whose live copy is labelled as
// another Sync's: it is never applied over, and never pruned. Adoption of an
// unlabelled object stays allowed (migrations need it).
type OwnershipConflict struct {
	Object string               // "Kind ns/name"
	Owner  types.NamespacedName // the other Sync
}

func (e *OwnershipConflict) Error() string {
	return fmt.Sprintf("%s belongs to Sync %s/%s (labels %s, %s): refusing to apply over it; remove it from this Sync's source, or from Sync %s/%s first",
		e.Object, e.Owner.Namespace, e.Owner.Name, LabelSync, LabelSyncNamespace, e.Owner.Namespace, e.Owner.Name)
}

// ownerOf returns the Sync that labels name as its own, if another than sync.
func ownerOf(labels map[string]string, sync types.NamespacedName) (types.NamespacedName, bool) {
	owner := types.NamespacedName{Namespace: labels[LabelSyncNamespace], Name: labels[LabelSync]}
	if owner.Name == "" || owner == sync {
		return owner, false
	}
	return owner, true
}

// checkOwners looks up each object in the cache of managed objects (the
// metadata of every labelled object of a watched kind: no request) and
// returns the conflicts. Kinds not watched yet, namespaces outside the
// cache and a cache still syncing are skipped: ownerGuard catches those at
// apply time from the read the apply does anyway.
func (r *Reconciler) checkOwners(ctx context.Context, sync types.NamespacedName, objs []*unstructured.Unstructured) []error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var conflicts []error
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		r.watchMu.Lock()
		watched := r.watched[gvk.String()]
		r.watchMu.Unlock()
		if !watched {
			continue
		}
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(gvk)
		if err := r.managed.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
			continue // not labelled by anyone (NotFound), or not known to the cache
		}
		if owner, other := ownerOf(live.GetLabels(), sync); other {
			conflicts = append(conflicts, &OwnershipConflict{Object: inventory.Describe(o), Owner: owner})
		}
	}
	return conflicts
}

// ownerGuard is the client of one Sync's apply: server-side apply reads
// every object before its dry-run, and when that read shows another Sync's
// labels the guard fails the dry-run and the apply of that object, so no
// stage applies over it even when the cache had not seen the label yet.
type ownerGuard struct {
	client.Client
	sync types.NamespacedName

	mu        sync.Mutex
	conflicts map[string]*OwnershipConflict // by inventory ID
}

func (g *ownerGuard) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := g.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	if owner, other := ownerOf(u.GetLabels(), g.sync); other {
		g.mu.Lock()
		if g.conflicts == nil {
			g.conflicts = map[string]*OwnershipConflict{}
		}
		g.conflicts[inventory.ID(u)] = &OwnershipConflict{Object: inventory.Describe(u), Owner: owner}
		g.mu.Unlock()
	}
	return nil
}

func (g *ownerGuard) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		g.mu.Lock()
		c := g.conflicts[inventory.ID(u)]
		g.mu.Unlock()
		if c != nil {
			return c
		}
	}
	return g.Client.Patch(ctx, obj, patch, opts...)
}

// conflict returns a conflict the guard saw, if any.
func (g *ownerGuard) conflict() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conflicts {
		return c
	}
	return nil
}
