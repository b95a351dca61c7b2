package charts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// ruleRef names one rule of one rendered Role or ClusterRole, by what it
// is for rather than by release, so cases read the same in every run.
type ruleRef struct {
	kind, role string // role: the object's name without the release prefix
	index      int
	rule       rbacv1.PolicyRule
	// tenant: the rule is the Sync's ServiceAccount's (tenancy's default
	// Role), not the controller's.
	tenant bool
}

func (r ruleRef) String() string {
	return fmt.Sprintf("%s %s rule %d (%s %s: %s)", r.kind, r.role, r.index,
		strings.Join(r.rule.APIGroups, ","), strings.Join(r.rule.Resources, ","), strings.Join(r.rule.Verbs, ","))
}

// rulesOf lists every rule the install's Roles and ClusterRoles grant.
func (in *install) rulesOf(t *testing.T) []ruleRef {
	t.Helper()
	prefix := in.release + "-latchkey"
	var refs []ruleRef
	for _, o := range in.r.objects {
		if o.GetKind() != "Role" && o.GetKind() != "ClusterRole" {
			continue
		}
		role := strings.TrimPrefix(strings.TrimPrefix(o.GetName(), prefix), "-")
		if role == "" {
			role = "(main)"
		}
		for i, rule := range rbacRules(t, o) {
			refs = append(refs, ruleRef{kind: o.GetKind(), role: role, index: i, rule: rule,
				tenant: o.GetName() == tenantSA && o.GetNamespace() == in.appNS})
		}
	}
	return refs
}

// rbacWithout returns the install's RBAC objects with one rule removed, or
// only verb of it (nothing removed when drop is nil).
func (in *install) rbacWithout(t *testing.T, drop *ruleRef, verb string) []*unstructured.Unstructured {
	t.Helper()
	prefix := in.release + "-latchkey"
	var out []*unstructured.Unstructured
	for _, o := range in.r.objects {
		if !isRBAC(o) {
			continue
		}
		o = o.DeepCopy()
		role := strings.TrimPrefix(strings.TrimPrefix(o.GetName(), prefix), "-")
		if role == "" {
			role = "(main)"
		}
		if drop != nil && o.GetKind() == drop.kind && role == drop.role {
			rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
			if verb == "" {
				rules = slices.Delete(rules, drop.index, drop.index+1)
			} else {
				rule := rules[drop.index].(map[string]any)
				verbs := slices.DeleteFunc(slices.Clone(rule["verbs"].([]any)), func(v any) bool { return v == verb })
				rule["verbs"] = verbs
			}
			if err := unstructured.SetNestedSlice(o.Object, rules, "rules"); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, o)
	}
	return out
}

// run installs the chart with the given RBAC, starts the controller from
// the rendered Deployment as its ServiceAccount, and plays the scenario.
func (in *install) run(t *testing.T, rbac []*unstructured.Unstructured) error {
	t.Helper()
	in.applyChart(t, rbac)
	in.vaultLogin(t)
	repo, first := in.repository(t)
	d := deployment(t, in.r)
	d.Namespace = releaseNamespace
	p := runPod(t, in.w.kube, d, in.w.binary)
	if err := p.waitReady(d, 60*time.Second); err != nil {
		return err
	}
	return in.scenario(t, p, repo, first)
}

// TestChartRBACIsSufficientAndMinimal is the proof the issue asks for, in
// both scopes: the real `latchkey controller`, started from the chart's own
// Deployment (args, env, volumes) and authenticated with its
// ServiceAccount's token, runs the end-to-end reconcile (Vault-backed and
// sealed Secrets, events, leader election, prune, drift heal) under the
// chart's RBAC without a single denied request, using every verb the RBAC
// grants; and with any one rule removed, the reconcile fails.
func TestChartRBACIsSufficientAndMinimal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, Vault, Git and the controller")
	}
	w := startWorld(t)
	var n atomic.Int64
	next := func() string { return fmt.Sprintf("p%d", n.Add(1)) }
	// Every run is a release of its own (prefix, shard, ServiceAccount,
	// application namespace, Vault roles), attributed in the audit log by
	// its own users, so the runs share the world and most of each is
	// waiting (the controller starting, the Sync's interval, the steps'
	// polling): they run concurrently, a few at a time.
	runs := make(slots, runsAtOnce)
	var scopes sync.WaitGroup
	for _, scope := range []string{"cluster", "namespaced"} {
		scopes.Go(func() {
			t.Run(scope, func(t *testing.T) {
				var rules []ruleRef
				runs.run(t, nil, "the chart's RBAC carries the whole scenario", func(t *testing.T) {
					in := newInstall(t, w, next(), scope)
					rules = in.rulesOf(t)
					if err := in.run(t, in.rbacWithout(t, nil, "")); err != nil {
						t.Fatalf("the scenario failed under the chart's RBAC: %v", err)
					}
					controller := serviceAccountUser(releaseNamespace, in.sa)
					calls := w.audit.calls(t, controller)
					if d := denied(calls); len(d) > 0 {
						t.Errorf("the API server denied the controller %d request(s): %s", len(d), strings.Join(d, "; "))
					}
					tenant := w.audit.calls(t, serviceAccountUser(in.appNS, tenantSA))
					if d := denied(tenant); len(d) > 0 {
						t.Errorf("the API server denied the Sync's ServiceAccount %d request(s): %s", len(d), strings.Join(d, "; "))
					}
					impersonated := len(w.audit.impersonating(t, controller)) > 0
					for _, r := range rules {
						for _, verb := range r.rule.Verbs {
							switch {
							case r.tenant && !used(tenant, r.rule, verb):
								t.Errorf("%s grants %q, which the Sync's ServiceAccount never used: remove it", r, verb)
							case !r.tenant && verb == "impersonate" && !impersonated:
								t.Errorf("%s grants impersonate, and the controller never impersonated: remove it", r)
							case !r.tenant && verb != "impersonate" && !used(calls, r.rule, verb):
								t.Errorf("%s grants %q, which the controller never used: remove it", r, verb)
							}
						}
					}
				})
				if len(rules) == 0 {
					t.Fatal("no rules to remove: the first run did not render the chart")
				}
				var without sync.WaitGroup
				for _, r := range rules {
					runs.run(t, &without, "without "+r.String(), func(t *testing.T) {
						in := newInstall(t, w, next(), scope)
						err := in.run(t, in.rbacWithout(t, &r, ""))
						if err == nil {
							t.Fatalf("the scenario passed without %s: the rule is there for nothing", r)
						}
						in.deniedBy(t, r, r.rule.Verbs)
						t.Logf("fails as it must: %v", err)
					})
					if len(r.rule.Verbs) < 2 {
						continue
					}
					for _, verb := range r.rule.Verbs {
						runs.run(t, &without, "without "+verb+" in "+r.String(), func(t *testing.T) {
							in := newInstall(t, w, next(), scope)
							err := in.run(t, in.rbacWithout(t, &r, verb))
							if err == nil {
								t.Fatalf("the scenario passed without %s in %s: the verb is there for nothing", verb, r)
							}
							in.deniedBy(t, r, []string{verb})
							t.Logf("fails as it must: %v", err)
						})
					}
				}
				without.Wait()
			})
		})
	}
	scopes.Wait()
}

// used reports whether calls hold an authorized request that rule grants
// with verb. A server-side apply that creates its object is audited as a
// patch answered 201, and the API server authorizes it as a create too.
func used(calls []apiCall, rule rbacv1.PolicyRule, verb string) bool {
	for _, c := range calls {
		if c.Code == 401 || c.Code == 403 {
			continue
		}
		v := auditVerb(c)
		if v != verb && !(verb == "create" && v == "patch" && c.Code == 201) {
			continue
		}
		if slices.Contains(rule.APIGroups, c.Group) && slices.Contains(rule.Resources, c.Resource) {
			return true
		}
	}
	return false
}

// deniedBy checks, in the API server's audit log, that the controller was
// denied a request the removed rule (or verbs of it) would have allowed:
// the scenario failed for want of that permission and nothing else.
func (in *install) deniedBy(t *testing.T, r ruleRef, verbs []string) {
	t.Helper()
	if r.tenant {
		in.refusedFor(t, r, verbs)
		return
	}
	calls := in.w.audit.calls(t, serviceAccountUser(releaseNamespace, in.sa))
	if slices.Contains(verbs, "impersonate") {
		// Impersonation is authorized before the request it wraps: the
		// refusal is audited on that request, and says why ("cannot
		// impersonate resource serviceaccounts", or, with constrained
		// impersonation, "cannot impersonate-on:serviceaccount:<verb>").
		for _, c := range calls {
			if c.Code == 403 && strings.Contains(c.Message, "cannot impersonate") {
				return
			}
		}
		t.Errorf("the API server refused no impersonation without %s; denied: %v", r, denied(calls))
		return
	}
	for _, c := range calls {
		if c.Code != 403 || !slices.Contains(r.rule.APIGroups, c.Group) || !slices.Contains(r.rule.Resources, c.Resource) {
			continue
		}
		v := auditVerb(c)
		// A server-side apply that would create its object is denied as a
		// patch when create is missing.
		if slices.Contains(verbs, v) || (v == "patch" && slices.Contains(verbs, "create")) {
			return
		}
	}
	t.Errorf("the API server denied nothing %s would allow (%v): the failure has another cause; denied: %v", r, verbs, denied(calls))
}

// refusedFor checks that the Sync was refused for want of a verb of the
// tenant's rule r: the controller asks before it writes (access reviews), so
// the ServiceAccount is never denied a request; the Sync's condition names
// the verb and the resource it may not use instead.
func (in *install) refusedFor(t *testing.T, r ruleRef, verbs []string) {
	t.Helper()
	var s v1alpha1.Sync
	if err := in.w.kube.Client.Get(context.Background(), client.ObjectKey{Namespace: in.appNS, Name: "app"}, &s); err != nil {
		t.Fatal(err)
	}
	ready := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
	if ready != nil && ready.Reason == v1alpha1.ReasonForbidden {
		for _, v := range verbs {
			for _, res := range r.rule.Resources {
				if strings.Contains(ready.Message, "may not "+v+" "+res) {
					return
				}
			}
		}
	}
	t.Errorf("the Sync was not refused for want of %v in %s: Ready %+v", verbs, r, ready)
}
