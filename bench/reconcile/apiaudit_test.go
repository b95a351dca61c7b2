package reconcile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// apiAudit is the kube-apiserver's audit log, restricted to the users the
// controllers under test authenticate as: the bench's own client (a cluster
// admin creating namespaces and polling readiness) is not audited, so every
// line is a request a controller made, impersonated ones included (the audit
// event's user is the one who authenticated; impersonatedUser is whom it acted
// as).
type apiAudit struct{ path string }

// withAPIAudit starts the kube-apiserver with an audit log of users' requests.
// Blocking mode writes each event before the response goes out, so the log is
// complete whenever the benchmark reads it.
func withAPIAudit(b *testing.B, users []string) (*apiAudit, testenv.KubeOption) {
	dir := b.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	quoted := make([]string, len(users))
	for i, u := range users {
		quoted[i] = fmt.Sprintf("%q", u)
	}
	rules := fmt.Sprintf(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: [%s]
  - level: None
`, strings.Join(quoted, ", "))
	if err := os.WriteFile(policy, []byte(rules), 0o600); err != nil {
		b.Fatal(err)
	}
	a := &apiAudit{path: filepath.Join(dir, "audit.log")}
	return a, func(e *envtest.Environment) {
		args := e.ControlPlane.GetAPIServer().Configure()
		args.Set("audit-policy-file", policy)
		args.Set("audit-log-path", a.path)
		args.Set("audit-log-mode", "blocking")
		args.Set("audit-log-maxsize", "0") // never rotate: the count reads one file
	}
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
	f, err := os.Open(a.path)
	if err != nil {
		b.Fatalf("reading the kube-apiserver audit log: %v", err)
	}
	defer f.Close()
	want := map[string]bool{}
	for _, u := range users {
		want[u] = true
	}
	seen := map[string]bool{}
	out := apiRequests{ByVerb: map[string]int{}, ByUser: map[string]int{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			AuditID string `json:"auditID"`
			Verb    string `json:"verb"`
			User    struct {
				Username string `json:"username"`
			} `json:"user"`
			ImpersonatedUser *struct {
				Username string `json:"username"`
			} `json:"impersonatedUser"`
			ObjectRef *struct {
				Resource    string `json:"resource"`
				Subresource string `json:"subresource"`
			} `json:"objectRef"`
			ResponseStatus *struct {
				Code int `json:"code"`
			} `json:"responseStatus"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			b.Fatalf("kube-apiserver audit log line: %v", err)
		}
		if !want[ev.User.Username] || seen[ev.AuditID] {
			continue
		}
		seen[ev.AuditID] = true
		out.Total++
		out.ByUser[ev.User.Username]++
		if ev.ImpersonatedUser != nil {
			out.Impersonated++
		}
		if ev.ResponseStatus != nil && ev.ResponseStatus.Code == 403 {
			out.Forbidden++
		}
		what := "(non-resource)"
		if ev.ObjectRef != nil {
			what = ev.ObjectRef.Resource
			if ev.ObjectRef.Subresource != "" {
				what += "/" + ev.ObjectRef.Subresource
			}
		}
		out.ByVerb[ev.Verb+" "+what]++
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("reading the kube-apiserver audit log: %v", err)
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
