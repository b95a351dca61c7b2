package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/inventory"
	"github.com/latchkey-dev/latchkey/resolver"
)

// Helm's hook annotations, as Helm 3 reads them.
const (
	annotationHook             = "helm.sh/hook"
	annotationHookWeight       = "helm.sh/hook-weight"
	annotationHookDeletePolicy = "helm.sh/hook-delete-policy"

	policyBeforeCreation = "before-hook-creation"
	policySucceeded      = "hook-succeeded"
	policyFailed         = "hook-failed"
)

// hookPollInterval is how often a hook group's health is read while the
// reconciliation waits for it.
var hookPollInterval = 500 * time.Millisecond

// hookPhase is when a hook runs relative to the main set.
type hookPhase int

const (
	phasePre hookPhase = iota
	phasePost
)

func (p hookPhase) String() string {
	if p == phasePre {
		return "pre"
	}
	return "post"
}

// hook is one rendered object that carries helm.sh/hook.
type hook struct {
	obj    *unstructured.Unstructured
	prov   resolver.Provenance
	events []string
	weight int
	policy map[string]bool
	digest string // keyed HMAC of the resolved object
}

func (h *hook) has(events ...string) bool {
	for _, e := range h.events {
		for _, want := range events {
			if e == want {
				return true
			}
		}
	}
	return false
}

// isHook says whether obj is a Helm hook. Any object may carry the
// annotation; Helm itself treats every such object as a hook, whatever
// renders it.
func isHook(obj *unstructured.Unstructured) bool {
	_, ok := obj.GetAnnotations()[annotationHook]
	return ok
}

// splitHooks moves the hooks out of d.objects: they are no part of the set
// the Sync owns (not in the inventory, never pruned, not drift-corrected,
// not health-checked with the workloads) but run in their phase around it.
func (d *desired) splitHooks(key []byte) error {
	var objs []*unstructured.Unstructured
	var prov []resolver.Provenance
	for i, o := range d.objects {
		if !isHook(o) {
			objs = append(objs, o)
			if i < len(d.prov) {
				prov = append(prov, d.prov[i])
			}
			continue
		}
		h, err := newHook(o, key)
		if err != nil {
			return err
		}
		if i < len(d.prov) {
			h.prov = d.prov[i]
		}
		d.hooks = append(d.hooks, h)
	}
	if len(d.hooks) == 0 {
		return nil
	}
	d.objects, d.prov = objs, prov
	d.byID = make(map[string]int, len(objs))
	for i, o := range objs {
		d.byID[inventory.ID(o)] = i
	}
	return nil
}

func newHook(o *unstructured.Unstructured, key []byte) (*hook, error) {
	a := o.GetAnnotations()
	h := &hook{obj: o, policy: map[string]bool{}}
	for _, e := range strings.Split(a[annotationHook], ",") {
		if e = strings.TrimSpace(e); e != "" {
			h.events = append(h.events, e)
		}
	}
	// As Helm: a weight that is no integer counts as 0.
	h.weight, _ = strconv.Atoi(strings.TrimSpace(a[annotationHookWeight]))
	for _, p := range strings.Split(a[annotationHookDeletePolicy], ",") {
		if p = strings.TrimSpace(p); p != "" {
			h.policy[p] = true
		}
	}
	if len(h.policy) == 0 {
		// Helm 3's default: what lets a changed Job (an immutable
		// template) run again.
		h.policy[policyBeforeCreation] = true
	}
	// The revision annotation changes at every commit: a hook is
	// unchanged when all else is.
	c := o.DeepCopy()
	ann := c.GetAnnotations()
	delete(ann, AnnotationRevision)
	c.SetAnnotations(ann)
	raw, err := json.Marshal(c.Object)
	if err != nil {
		return nil, fmt.Errorf("hook %s: %w", inventory.Describe(o), err)
	}
	// Keyed: a resolved hook may hold values.
	h.digest = macHex(key, raw)
	return h, nil
}

// hookPlan is what the hooks of one full apply do: the hooks due in each
// phase, in weight groups.
type hookPlan struct {
	install bool // the Sync's first apply: *-install hooks, else *-upgrade
	pre     [][]*hook
	post    [][]*hook
	// ran are the successful runs to keep in status.hooks: those of
	// this apply and the earlier ones of hooks still rendered.
	ran []v1alpha1.HookRun
}

// planHooks picks the hooks due: those of this action (install on the
// Sync's first apply, upgrade after) whose digest differs from the one they
// last succeeded at. A periodic full check re-renders the same hooks and
// runs none. Delete and rollback hooks never run (a Sync has no uninstall
// or rollback step of Helm's).
func planHooks(s *v1alpha1.Sync, hooks []*hook) *hookPlan {
	p := &hookPlan{install: s.Status.LastAppliedRevision == "" && s.Status.Inventory == nil}
	last := map[string]v1alpha1.HookRun{}
	for _, r := range s.Status.Hooks {
		last[r.ID] = r
	}
	preEvent, postEvent := "pre-upgrade", "post-upgrade"
	if p.install {
		preEvent, postEvent = "pre-install", "post-install"
	}
	var pre, post []*hook
	for _, h := range hooks {
		id := inventory.ID(h.obj)
		if r, ok := last[id]; ok && r.Digest == h.digest {
			p.ran = append(p.ran, r)
			continue
		}
		if h.has(preEvent) {
			pre = append(pre, h)
		}
		if h.has(postEvent) {
			post = append(post, h)
		}
	}
	p.pre, p.post = byWeight(pre), byWeight(post)
	return p
}

// byWeight groups hooks by helm.sh/hook-weight, lowest first; within a
// group, in the kind order of an apply (a ConfigMap before the Job that
// mounts it), then by namespace and name. Helm runs hooks one by one, by
// weight then name; a group here is applied whole, then waited for.
func byWeight(hooks []*hook) [][]*hook {
	sort.SliceStable(hooks, func(i, j int) bool {
		if hooks[i].weight != hooks[j].weight {
			return hooks[i].weight < hooks[j].weight
		}
		return ssa.SortableUnstructureds{hooks[i].obj, hooks[j].obj}.Less(0, 1)
	})
	var groups [][]*hook
	for i, h := range hooks {
		if i == 0 || h.weight != hooks[i-1].weight {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], h)
	}
	return groups
}

// hookObjects are the objects of hooks, for the access check.
func hookObjects(hooks []*hook) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, h.obj)
	}
	return out
}

// hookError is a hook that failed or timed out.
type hookError struct {
	hook  string // "Kind ns/name"
	event string
	err   error
}

func (e *hookError) Error() string {
	return fmt.Sprintf("%s hook %s: %v", e.event, e.hook, e.err)
}

func (e *hookError) Unwrap() error { return e.err }

// runHooks runs the groups of one phase in order, as the Sync's identity:
// each hook is deleted first under before-hook-creation, applied, and the
// group waited for until every hook of it is healthy (a Job complete),
// failed, or spec.wait.timeout passes. Each group that succeeds is
// recorded in status.hooks at once, so a later failure does not run it
// again.
func (r *Reconciler) runHooks(ctx context.Context, s *v1alpha1.Sync, id *identity, revision string, plan *hookPlan, phase hookPhase) error {
	groups, event := plan.pre, "pre-upgrade"
	if phase == phasePost {
		groups, event = plan.post, "post-upgrade"
	}
	if plan.install {
		event = strings.Replace(event, "upgrade", "install", 1)
	}
	rm, guard := id.resources(s, r.opts.ApplyConcurrency)
	for _, group := range groups {
		for _, h := range group {
			if err := r.startHook(ctx, id, rm, guard, h); err != nil {
				return &hookError{hook: inventory.Describe(h.obj), event: event, err: err}
			}
		}
		if err := r.awaitHooks(ctx, s, id, rm, group, event); err != nil {
			return err
		}
		now := metav1.Now()
		var done []string
		for _, h := range group {
			done = append(done, inventory.Describe(h.obj))
			plan.ran = append(plan.ran, v1alpha1.HookRun{
				Object: inventory.Describe(h.obj), ID: inventory.ID(h.obj), Events: h.events,
				Digest: h.digest, Revision: revision, CompletedAt: now,
			})
		}
		r.events.Eventf(s, nil, corev1.EventTypeNormal, "HookSucceeded", "Hook", "%s hook(s) succeeded: %s", event, strings.Join(done, ", "))
		ran := append([]v1alpha1.HookRun(nil), plan.ran...)
		if err := r.patchStatus(ctx, s, func(st *v1alpha1.SyncStatus) { st.Hooks = mergeHookRuns(st.Hooks, ran) }); err != nil {
			return fmt.Errorf("recording the %s hooks that ran: %w", event, err)
		}
	}
	return nil
}

// mergeHookRuns updates prev with the runs of ran (by ID).
func mergeHookRuns(prev, ran []v1alpha1.HookRun) []v1alpha1.HookRun {
	byID := map[string]v1alpha1.HookRun{}
	for _, r := range prev {
		byID[r.ID] = r
	}
	for _, r := range ran {
		byID[r.ID] = r
	}
	out := make([]v1alpha1.HookRun, 0, len(byID))
	for _, r := range byID {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// startHook (re)creates one hook: under before-hook-creation the previous
// object goes first, and is waited for until gone.
func (r *Reconciler) startHook(ctx context.Context, id *identity, rm *ssa.ResourceManager, guard *ownerGuard, h *hook) error {
	if h.policy[policyBeforeCreation] {
		if err := deleteHook(ctx, id, rm, h); err != nil {
			return err
		}
	}
	if _, err := rm.Apply(ctx, h.obj.DeepCopy(), r.applyOptions()); err != nil {
		if c := guard.conflict(); c != nil {
			err = c
		}
		return fmt.Errorf("applying it as %s: %w", id.user(), err)
	}
	return nil
}

// deleteHook deletes the live hook object, if any, and waits until the API
// server no longer has it (a Job's pods go in the background).
func deleteHook(ctx context.Context, id *identity, rm *ssa.ResourceManager, h *hook) error {
	if _, err := rm.Delete(ctx, h.obj, ssa.DefaultDeleteOptions()); err != nil {
		return fmt.Errorf("deleting the previous one as %s: %w", id.user(), err)
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(h.obj.GroupVersionKind())
	for {
		err := id.client.Get(ctx, client.ObjectKeyFromObject(h.obj), live)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("waiting for the previous one to go: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the previous one to go (it has finalizers?): %w", ctx.Err())
		case <-time.After(hookPollInterval / 5):
		}
	}
}

// awaitHooks waits until every hook of group is healthy, then deletes
// those under hook-succeeded; on a failure or timeout it deletes those
// under hook-failed and returns the failure, naming the hook.
func (r *Reconciler) awaitHooks(ctx context.Context, s *v1alpha1.Sync, id *identity, rm *ssa.ResourceManager, group []*hook, event string) error {
	timeout := s.GetWaitTimeout()
	deadline := time.Now().Add(timeout)
	objs := hookObjects(group)
	for {
		h, err := checkHealth(ctx, id.client, objs)
		if err != nil {
			return &hookError{hook: inventory.Describe(objs[0]), event: event, err: err}
		}
		switch {
		case len(h.failed) > 0:
			r.cleanHooks(ctx, id, rm, group, policyFailed)
			return &hookError{hook: h.failed[0], event: event, err: errors.New("failed; nothing after it was applied")}
		case h.healthy():
			r.cleanHooks(ctx, id, rm, group, policySucceeded)
			return nil
		case time.Now().After(deadline):
			r.cleanHooks(ctx, id, rm, group, policyFailed)
			return &hookError{hook: h.waiting[0], event: event, err: fmt.Errorf("not complete within %s (spec.wait.timeout); nothing after it was applied", timeout)}
		}
		select {
		case <-ctx.Done():
			return &hookError{hook: h.waiting[0], event: event, err: ctx.Err()}
		case <-time.After(hookPollInterval):
		}
	}
}

// cleanHooks deletes the hooks of group whose delete policy has policy.
// A hook left behind is no failure of the Sync: it is logged.
func (r *Reconciler) cleanHooks(ctx context.Context, id *identity, rm *ssa.ResourceManager, group []*hook, policy string) {
	for _, h := range group {
		if !h.policy[policy] {
			continue
		}
		if _, err := rm.Delete(ctx, h.obj, ssa.DefaultDeleteOptions()); err != nil {
			logger(ctx).Info("deleting a hook after it ran", "hook", inventory.Describe(h.obj), "policy", policy, "error", err.Error())
		}
	}
}

// notHooks drops from stale the objects that are hooks now: an object an
// earlier Latchkey applied as an ordinary one, then a hook, is the hook's.
func notHooks(stale []*unstructured.Unstructured, hooks []*hook) []*unstructured.Unstructured {
	if len(hooks) == 0 {
		return stale
	}
	ids := map[string]bool{}
	for _, h := range hooks {
		ids[inventory.ID(h.obj)] = true
	}
	var out []*unstructured.Unstructured
	for _, o := range stale {
		if !ids[inventory.ID(o)] {
			out = append(out, o)
		}
	}
	return out
}
