package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// apiAudit is the kube-apiserver's audit log, restricted to the users the
// controllers under test authenticate as: the bench's own client (a cluster
// admin creating namespaces and polling readiness) is not audited, so every
// line is a request a controller made, impersonated ones included (the audit
// event's user is the one who authenticated; impersonatedUser is whom it acted
// as).
type apiAudit struct{ *testenv.KubeAudit }

// withAPIAudit starts the kube-apiserver with an audit log of users' requests.
func withAPIAudit(b *testing.B, users []string) (*apiAudit, testenv.KubeOption) {
	a, opt := testenv.WithKubeAudit(b, users...)
	return &apiAudit{a}, opt
}

// apiRequests counts the requests of a set of users.
type apiRequests struct {
	Total        int
	Impersonated int            // made as another user (a Sync's ServiceAccount)
	Forbidden    int            // answered 403
	ByVerb       map[string]int // "patch configmaps", "create subjectaccessreviews"...
	ByUser       map[string]int
}

// count reads the audit log and counts the distinct requests (by audit ID: a
// watch is logged when its response starts and again when it ends) made by
// any of users.
func (a *apiAudit) count(b testing.TB, users []string) apiRequests {
	want := map[string]bool{}
	for _, u := range users {
		want[u] = true
	}
	seen := map[string]bool{}
	out := apiRequests{ByVerb: map[string]int{}, ByUser: map[string]int{}}
	for _, ev := range a.Events(b) {
		if !want[ev.User] || seen[ev.AuditID] {
			continue
		}
		seen[ev.AuditID] = true
		out.Total++
		out.ByUser[ev.User]++
		if ev.As != "" {
			out.Impersonated++
		}
		if ev.Code == 403 {
			out.Forbidden++
		}
		what := "(non-resource)"
		if ev.Resource != "" {
			what = ev.Resource
		}
		out.ByVerb[ev.Verb+" "+what]++
	}
	return out
}

// perSync lists the most frequent requests, per Sync, largest first.
func (r apiRequests) perSync(n, top int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range r.ByVerb {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].v != all[j].v {
			return all[i].v > all[j].v
		}
		return all[i].k < all[j].k
	})
	var parts []string
	rest := 0
	for i, e := range all {
		if i < top {
			parts = append(parts, fmt.Sprintf("%.1f %s", float64(e.v)/float64(n), e.k))
		} else {
			rest += e.v
		}
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("%.1f other", float64(rest)/float64(n)))
	}
	return strings.Join(parts, ", ")
}
