package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/reconcile/inventory"
)

// healthChecked are the kinds whose health says whether a revision works:
// the workloads and what they wait on. Other kinds are healthy once
// applied; reading each of them at every check would cost requests and
// tell nothing.
var healthChecked = map[string]bool{
	"apps/Deployment": true, "apps/StatefulSet": true, "apps/DaemonSet": true, "apps/ReplicaSet": true,
	"batch/Job": true, "/Pod": true, "/PersistentVolumeClaim": true,
}

// health is what a health check found: objects not healthy yet (kstatus
// InProgress, or not found) and objects that failed, as "Kind ns/name:
// why".
type health struct {
	waiting []string
	failed  []string
}

func (h health) healthy() bool { return len(h.waiting) == 0 && len(h.failed) == 0 }

// String names the unhealthy objects (at most five of each).
func (h health) String() string {
	var parts []string
	if len(h.failed) > 0 {
		parts = append(parts, "failed: "+listSome(h.failed))
	}
	if len(h.waiting) > 0 {
		parts = append(parts, "not healthy yet: "+listSome(h.waiting))
	}
	return strings.Join(parts, "; ")
}

func listSome(items []string) string {
	if len(items) <= 5 {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:5], "; ") + fmt.Sprintf("; and %d more", len(items)-5)
}

// checkHealth reads the workloads of objs as the Sync's identity (c) and
// computes their status as kstatus does (the rules kubectl, Flux and
// cli-utils share): a Deployment is healthy once its current generation is
// rolled out and available, a Job once complete.
func checkHealth(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) (health, error) {
	var h health
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if !healthChecked[gvk.Group+"/"+gvk.Kind] {
			continue
		}
		name := inventory.Describe(o)
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(gvk)
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
			if apierrors.IsNotFound(err) {
				h.waiting = append(h.waiting, name+": not found")
				continue
			}
			return h, fmt.Errorf("reading %s for its health: %w", name, err)
		}
		res, err := status.Compute(live)
		if err != nil {
			return h, fmt.Errorf("computing the health of %s: %w", name, err)
		}
		switch res.Status {
		case status.CurrentStatus:
		case status.FailedStatus:
			h.failed = append(h.failed, name+": "+res.Message)
		default:
			h.waiting = append(h.waiting, name+": "+res.Message)
		}
	}
	sort.Strings(h.waiting)
	sort.Strings(h.failed)
	return h, nil
}
