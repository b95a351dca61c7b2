package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/inventory"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// AccessDenied is the refusal of a set before anything of it is written:
// the objects the policy refuses, those the ServiceAccount may not apply or
// prune (SubjectAccessReview), and those another Sync owns. The Sync's
// Ready condition gets reason Forbidden.
type AccessDenied struct {
	Revision string
	Refusals []string // one per object and verb, sorted
	Fix      string
}

func (e *AccessDenied) Error() string {
	msg := fmt.Sprintf("revision %s refused before anything was applied or pruned: %s", short(e.Revision), strings.Join(e.Refusals, "; "))
	if e.Fix != "" {
		msg += ". " + e.Fix
	}
	return msg
}

// admit checks the spec against the tenancy policy before anything is
// fetched (the source URL, spec.targetNamespace) and returns the identity
// the Sync acts as. A refusal is a *tenancy.Denied: reason Forbidden, as
// every refusal of the policy, retried at the interval (an admin may change
// the flags; the tenant the spec).
func (r *Reconciler) admit(s *v1alpha1.Sync) (*identity, error) {
	p := &r.opts.Tenancy
	if err := p.CheckSource(s.Spec.Source.URL); err != nil {
		return nil, fmt.Errorf("refused by the tenancy policy: %w", err)
	}
	if err := p.CheckTargetNamespace(s.Namespace, s.Spec.TargetNamespace); err != nil {
		return nil, fmt.Errorf("refused by the tenancy policy: %w", err)
	}
	id, err := r.ids.forSync(p, s)
	if err != nil {
		return nil, fmt.Errorf("refused by the tenancy policy: %w", err)
	}
	return id, nil
}

// allowedFor is how long an allowed SubjectAccessReview decision is reused:
// a revoked grant is noticed within it (the apply itself, impersonated,
// still fails at once). Refusals are never cached: a granted Role takes
// effect at the next attempt.
const allowedFor = time.Minute

// accessKey is one SubjectAccessReview question.
type accessKey struct {
	user, verb, group, resource, namespace, name string
}

// accessCache remembers allowed decisions for allowedFor.
type accessCache struct {
	mu      sync.Mutex
	allowed map[accessKey]time.Time // until
}

func (c *accessCache) get(k accessKey, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.allowed[k]
	if ok && now.After(until) {
		delete(c.allowed, k)
		return false
	}
	return ok
}

func (c *accessCache) put(k accessKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.allowed == nil {
		c.allowed = map[accessKey]time.Time{}
	}
	if len(c.allowed) > 100_000 { // bounded: forget everything rather than grow
		clear(c.allowed)
	}
	c.allowed[k] = now.Add(allowedFor)
}

// mapped is the REST resource of an object.
type mapped struct {
	resource   schema.GroupResource
	namespaced bool
}

// resourceOf maps an object to its resource: by the REST mapper, or, for a
// kind whose CustomResourceDefinition is in the same set and not served
// yet, by that definition (so the whole set is checked before its first
// stage is applied).
func (r *Reconciler) resourceOf(o *unstructured.Unstructured, crds map[schema.GroupKind]mapped) (mapped, error) {
	gvk := o.GroupVersionKind()
	if m, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil {
		return mapped{resource: m.Resource.GroupResource(), namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace}, nil
	} else if !meta.IsNoMatchError(err) {
		return mapped{}, fmt.Errorf("mapping %s to its API resource: %w", inventory.Describe(o), err)
	}
	if m, ok := crds[gvk.GroupKind()]; ok {
		return m, nil
	}
	return mapped{}, fmt.Errorf("%s: the API server serves no kind %s and no CustomResourceDefinition of this revision defines it", inventory.Describe(o), gvk.GroupVersion().WithKind(gvk.Kind))
}

// crdsOf returns the resources the CustomResourceDefinitions of objs define.
func crdsOf(objs []*unstructured.Unstructured) map[schema.GroupKind]mapped {
	out := map[schema.GroupKind]mapped{}
	for _, o := range objs {
		if o.GroupVersionKind().GroupKind() != (schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}) {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		plural, _, _ := unstructured.NestedString(o.Object, "spec", "names", "plural")
		scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
		if kind == "" || plural == "" {
			continue
		}
		out[schema.GroupKind{Group: group, Kind: kind}] = mapped{
			resource: schema.GroupResource{Group: group, Resource: plural}, namespaced: scope != "Cluster",
		}
	}
	return out
}

// verbsToApply are what a server-side apply needs: the read before the
// dry-run, create for an object that does not exist, patch for the apply.
var verbsToApply = []string{"get", "create", "patch"}

// checkAccess checks the whole set before anything of it is written: each
// object against the tenancy policy and against other Syncs' ownership, and
// every verb, resource and namespace the apply (get, create, patch) and the
// prune of stale (get, delete) need, as the identity, by (Local)SubjectAccessReview.
// It returns an *AccessDenied naming every refused object, verb and the
// ServiceAccount.
func (r *Reconciler) checkAccess(ctx context.Context, s *v1alpha1.Sync, id *identity, revision string, objs, stale []*unstructured.Unstructured) error {
	policy := &r.opts.Tenancy
	crds := crdsOf(objs)
	// The objects each question is asked for: refusals name them.
	questions := map[accessKey][]*unstructured.Unstructured{}
	var refusals []string
	var served []*unstructured.Unstructured // kinds the API server serves now
	ask := func(o *unstructured.Unstructured, m mapped, verbs ...string) {
		ns := ""
		if m.namespaced {
			ns = o.GetNamespace()
		}
		for _, v := range verbs {
			k := accessKey{verb: v, group: m.resource.Group, resource: m.resource.Resource, namespace: ns}
			questions[k] = append(questions[k], o)
		}
	}
	for _, o := range objs {
		m, err := r.resourceOf(o, crds)
		if err != nil {
			return err
		}
		ns := ""
		if m.namespaced {
			ns = o.GetNamespace()
		}
		if _, defined := crds[o.GroupVersionKind().GroupKind()]; !defined {
			served = append(served, o)
		}
		if err := policy.CheckObject(s.Namespace, o.GroupVersionKind().GroupKind(), ns); err != nil {
			refusals = append(refusals, fmt.Sprintf("%s: %s may not apply it: %v", inventory.Describe(o), id.user(), err))
			continue
		}
		ask(o, m, verbsToApply...)
	}
	for _, o := range stale {
		m, err := r.resourceOf(o, nil)
		if err != nil {
			continue // a kind no longer served: its objects are gone with it
		}
		ask(o, m, "get", "delete")
	}
	var fix string
	if id.account.Name != "" {
		denied, err := r.reviewAll(ctx, id.account, questions)
		if err != nil {
			return err
		}
		if len(denied) > 0 {
			fix = fmt.Sprintf("Grant the verbs to ServiceAccount %s/%s (it must exist) with a Role, or an admin with a ClusterRole, or remove the objects from the source", id.account.Namespace, id.account.Name)
		}
		refusals = append(refusals, denied...)
	}
	if len(refusals) == 0 {
		// The watches of managed objects hold every Sync's labels: started
		// before the first apply of a kind (only once the set may be
		// applied: a refused set starts no watch), they answer the
		// ownership question without a request per object.
		r.ensureWatches(ctx, served)
		key := types.NamespacedName{Namespace: s.Namespace, Name: s.Name}
		for _, c := range r.checkOwners(ctx, key, served) {
			refusals = append(refusals, c.Error())
		}
	}
	if len(refusals) == 0 {
		return nil
	}
	sort.Strings(refusals)
	return &AccessDenied{Revision: revision, Refusals: refusals, Fix: fix}
}

// reviewAll asks each question as the ServiceAccount; a question refused
// without a name is asked again per object (a Role may grant by
// resourceNames), except create, which RBAC never restricts by name.
func (r *Reconciler) reviewAll(ctx context.Context, account types.NamespacedName, questions map[accessKey][]*unstructured.Unstructured) ([]string, error) {
	keys := make([]accessKey, 0, len(questions))
	for k := range questions {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	// The questions are independent: asked at once, as many as the
	// objects' dry-runs would be.
	allowed := make([]bool, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.ApplyConcurrency)
	for i, k := range keys {
		g.Go(func() error {
			ok, err := r.review(gctx, account, k)
			allowed[i] = ok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var refusals []string
	for i, k := range keys {
		if allowed[i] {
			continue
		}
		for _, o := range questions[k] {
			if k.verb != "create" {
				named := k
				named.name = o.GetName()
				ok, err := r.review(ctx, account, named)
				if err != nil {
					return nil, err
				}
				if ok {
					continue
				}
			}
			where := "cluster-wide"
			if k.namespace != "" {
				where = "in namespace " + k.namespace
			}
			refusals = append(refusals, fmt.Sprintf("%s: ServiceAccount %s/%s may not %s %s %s",
				inventory.Describe(o), account.Namespace, account.Name, k.verb, groupResource(k), where))
		}
	}
	return refusals, nil
}

// review asks one question as the ServiceAccount, through the cache of
// allowed decisions.
func (r *Reconciler) review(ctx context.Context, account types.NamespacedName, k accessKey) (bool, error) {
	k.user = tenancy.Username(account.Namespace, account.Name)
	now := time.Now()
	if r.access.get(k, now) {
		return true, nil
	}
	spec := authorizationv1.SubjectAccessReviewSpec{
		User:   k.user,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + account.Namespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: k.verb, Group: k.group, Resource: k.resource, Namespace: k.namespace, Name: k.name,
		},
	}
	// A namespaced question is a LocalSubjectAccessReview in that namespace:
	// a Role may grant it, so a namespaced install needs no cluster-wide
	// grant; only the cluster-scoped kinds an admin allows need the
	// cluster-wide SubjectAccessReview.
	var allowed bool
	if k.namespace != "" {
		review := &authorizationv1.LocalSubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Namespace: k.namespace}, Spec: spec}
		if err := r.client.Create(ctx, review); err != nil {
			return false, fmt.Errorf("asking the API server whether ServiceAccount %s may %s %s (LocalSubjectAccessReview; the controller needs create on localsubjectaccessreviews.authorization.k8s.io in namespace %s): %w",
				account, k.verb, groupResource(k), k.namespace, err)
		}
		allowed = review.Status.Allowed
	} else {
		review := &authorizationv1.SubjectAccessReview{Spec: spec}
		if err := r.client.Create(ctx, review); err != nil {
			return false, fmt.Errorf("asking the API server whether ServiceAccount %s may %s %s (SubjectAccessReview; the controller needs create on subjectaccessreviews.authorization.k8s.io): %w",
				account, k.verb, groupResource(k), err)
		}
		allowed = review.Status.Allowed
	}
	r.metrics.AccessReviews.Inc()
	if allowed {
		r.access.put(k, now)
	}
	return allowed, nil
}

func groupResource(k accessKey) string {
	if k.group == "" {
		return k.resource
	}
	return k.resource + "." + k.group
}
