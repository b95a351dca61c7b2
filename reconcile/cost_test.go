package reconcile_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// requestCounter counts the requests a controller sends, by method and
// resource (a watch counts once, when it starts).
type requestCounter struct {
	mu  sync.Mutex
	by  map[string]int
	all int
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		key := req.Method + " " + resourceOfPath(req.URL.Path)
		if req.URL.Query().Get("dryRun") != "" {
			key += " (dry-run)"
		}
		if req.Header.Get("Impersonate-User") != "" {
			key += " as ServiceAccount"
		}
		c.mu.Lock()
		c.by[key]++
		c.all++
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// resourceOfPath keeps the resource of an API path: /api/v1/namespaces/x/
// configmaps/a → configmaps; /apis/g/v/namespaces/x/syncs/a/status →
// syncs/status.
func resourceOfPath(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case parts[0] == "api" && len(parts) > 2:
		parts = parts[2:]
	case parts[0] == "apis" && len(parts) > 3:
		parts = parts[3:]
	default:
		return "discovery " + p
	}
	if len(parts) >= 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	switch {
	case len(parts) == 0:
		return "namespaces"
	case len(parts) >= 3:
		return parts[0] + "/" + parts[2]
	}
	return parts[0]
}

func (c *requestCounter) snapshot() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.by))
	for k, v := range c.by {
		m[k] = v
	}
	return c.all, m
}

func diffCounts(before, after map[string]int) string {
	var keys []string
	for k := range after {
		if after[k] != before[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %3d %s\n", after[k]-before[k], k)
	}
	return b.String()
}

// TestImpersonationCostsFewRequests measures the API requests one Sync of
// 12 ConfigMaps costs, acting as the controller (tenancy off) and as its
// ServiceAccount (tenancy on), for the first Sync a controller sees (cold:
// informers start), a second one (warm) and a full reconciliation of the
// same revision again (steady state). The pre-check's SubjectAccessReviews
// (3 per namespace and resource, cached for a minute) are the only extra
// requests; the ownership check reads the watch cache.
func TestImpersonationCostsFewRequests(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "cost")
	files := map[string]string{}
	for i := range 12 {
		files[fmt.Sprintf("cm%02d.yaml", i)] = cm(fmt.Sprintf("cm%02d", i), "v")
	}
	rev := sc.repo.Commit(t, "12 ConfigMaps", files)

	type result struct{ cold, warm, steady int }
	results := map[string]result{}
	for _, shard := range []string{"plain", "tenant"} {
		counter := &requestCounter{by: map[string]int{}}
		k := *sc.kube
		k.Config = rest.CopyConfig(sc.kube.Config)
		k.Config.Wrap(counter.wrap)
		ctl := startShardController(t, &k, nil, shard, func(o *reconcile.Options) {
			o.Tenancy = tenancy.Policy{Enabled: shard == "tenant"}
		})
		time.Sleep(2 * time.Second) // the manager's own start-up requests settle
		var res result
		for i, ns := range []string{shard + "-1", shard + "-2"} {
			serviceAccount(t, sc.kube, ns, "deployer")
			grantRole(t, sc.kube, ns, "deployer", ns, "deployer", configMapRules(true))
			before, byBefore := counter.snapshot()
			s := sc.gitSync(ns, "app", "", time.Hour)
			s.Labels = map[string]string{reconcile.LabelShard: shard}
			if shard == "tenant" {
				s.Spec.ServiceAccountName = "deployer"
			}
			sc.create(t, s)
			sc.waitApplied(t, "12 ConfigMaps applied", ns, "app", rev)
			settle(t, counter)
			after, byAfter := counter.snapshot()
			t.Logf("%s, Sync %d: %d requests\n%s", shard, i+1, after-before, diffCounts(byBefore, byAfter))
			if i == 0 {
				res.cold = after - before
			} else {
				res.warm = after - before
			}
		}
		// A full reconciliation of the same revision: nothing changes.
		before, byBefore := counter.snapshot()
		runs := ctl.counter(t, "latchkey_reconcile_duration_seconds")
		s := getSync(t, sc.c, shard+"-2", "app")
		patch := client.MergeFrom(s.DeepCopy())
		s.Annotations = map[string]string{reconcile.AnnotationReconcileRequest: time.Now().String()}
		if err := sc.c.Patch(ctx, s, patch); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the requested reconciliation ran", func() error {
			if ctl.counter(t, "latchkey_reconcile_duration_seconds") <= runs {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		settle(t, counter)
		after, byAfter := counter.snapshot()
		res.steady = after - before
		t.Logf("%s, full reconciliation of the same revision: %d requests\n%s", shard, res.steady, diffCounts(byBefore, byAfter))
		results[shard] = res
	}
	plain, tenant := results["plain"], results["tenant"]
	t.Logf("requests per Sync of 12 ConfigMaps: cold %d → %d, warm %d → %d, steady %d → %d (controller → ServiceAccount)",
		plain.cold, tenant.cold, plain.warm, tenant.warm, plain.steady, tenant.steady)
	if tenant.warm > plain.warm+3 {
		t.Errorf("a Sync acting as its ServiceAccount costs %d requests, as the controller %d: more than the 3 SubjectAccessReviews", tenant.warm, plain.warm)
	}
	if tenant.steady > plain.steady {
		t.Errorf("a steady full reconciliation as the ServiceAccount costs %d requests, as the controller %d: the access decisions were not cached", tenant.steady, plain.steady)
	}
	if s := getSync(t, sc.c, "tenant-2", "app"); !strings.HasPrefix(condition(s, v1alpha1.ConditionReady), "True/") {
		t.Errorf("tenant Sync: %s", condition(s, v1alpha1.ConditionReady))
	}
}

// settle waits until the counter has not moved for half a second (the
// status patch after Ready is read back, events are sent).
func settle(t *testing.T, c *requestCounter) {
	t.Helper()
	last, _ := c.snapshot()
	for stable := 0; stable < 5; {
		time.Sleep(100 * time.Millisecond)
		n, _ := c.snapshot()
		if n == last {
			stable++
		} else {
			stable, last = 0, n
		}
	}
}
