package reconcile

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/latchkey-dev/latchkey/reconcile/drift"
	"github.com/latchkey-dev/latchkey/reconcile/inventory"
)

// managedSelector selects the objects any Sync applied.
func managedSelector() (labels.Selector, error) {
	req, err := labels.NewRequirement(LabelSync, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	return labels.NewSelector().Add(*req), nil
}

// ShardSelector selects the Syncs a replica started with --shard shard
// reconciles: those labelled latchkey.dev/shard=shard, or, without a shard,
// those with no shard label.
func ShardSelector(shard string) (labels.Selector, error) {
	var req *labels.Requirement
	var err error
	if shard == "" {
		req, err = labels.NewRequirement(LabelShard, selection.DoesNotExist, nil)
	} else {
		req, err = labels.NewRequirement(LabelShard, selection.Equals, []string{shard})
	}
	if err != nil {
		return nil, err
	}
	return labels.NewSelector().Add(*req), nil
}

// ensureWatches starts a metadata-only watch on each kind of objs not
// watched yet: changes to managed objects mark them for a drift check.
func (r *Reconciler) ensureWatches(ctx context.Context, objs []*unstructured.Unstructured) {
	r.watchMu.Lock()
	defer r.watchMu.Unlock()
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if r.watched[gvk.String()] {
			continue
		}
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(gvk)
		src := source.Kind(r.managed, meta, handler.TypedEventHandler[*metav1.PartialObjectMetadata, ctrlreconcile.Request](&managedHandler{r: r, gvk: gvk}))
		if err := r.controller.Watch(src); err != nil {
			logger(ctx).Error(err, "watching managed objects for drift", "kind", gvk.String())
			continue
		}
		r.watched[gvk.String()] = true
	}
}

// managedHandler turns changes of managed objects made by anyone but the
// controller into drift checks of their Sync.
type managedHandler struct {
	r   *Reconciler
	gvk schema.GroupVersionKind
}

type queue = workqueue.TypedRateLimitingInterface[ctrlreconcile.Request]

// Create sees the watch's initial list and the controller's own creations:
// an object whose last change is someone else's was edited before the
// watch started (or while the controller was down).
func (h *managedHandler) Create(_ context.Context, e event.TypedCreateEvent[*metav1.PartialObjectMetadata], q queue) {
	if e.Object == nil || drift.OwnChange(e.Object, FieldManager) {
		return
	}
	h.mark(e.Object, q)
}

func (h *managedHandler) Update(_ context.Context, e event.TypedUpdateEvent[*metav1.PartialObjectMetadata], q queue) {
	if e.ObjectNew == nil || drift.OwnChange(e.ObjectNew, FieldManager) {
		return
	}
	if e.ObjectOld != nil && e.ObjectOld.GetResourceVersion() == e.ObjectNew.GetResourceVersion() {
		return // a resync
	}
	h.mark(e.ObjectNew, q)
}

func (h *managedHandler) Delete(_ context.Context, e event.TypedDeleteEvent[*metav1.PartialObjectMetadata], q queue) {
	if e.Object != nil {
		h.mark(e.Object, q)
	}
}

func (h *managedHandler) Generic(context.Context, event.TypedGenericEvent[*metav1.PartialObjectMetadata], queue) {
}

func (h *managedHandler) mark(o *metav1.PartialObjectMetadata, q queue) {
	l := o.GetLabels()
	name, ns := l[LabelSync], l[LabelSyncNamespace]
	if name == "" || ns == "" {
		return
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(h.gvk)
	u.SetNamespace(o.GetNamespace())
	u.SetName(o.GetName())
	key := types.NamespacedName{Namespace: ns, Name: name}
	h.r.tracker.Mark(key, inventory.ID(u), time.Now())
	q.Add(ctrlreconcile.Request{NamespacedName: key})
}
