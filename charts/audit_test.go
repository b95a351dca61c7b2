package charts

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// auditLog makes the API server write an audit event (metadata level) for
// every request, so a test can see which API calls a ServiceAccount made
// and which were denied: the server's own record, not the client's.
type auditLog struct{ path string }

func withAuditLog(t *testing.T) (*auditLog, testenv.KubeOption) {
	t.Helper()
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	const rules = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
`
	if err := os.WriteFile(policy, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &auditLog{path: filepath.Join(dir, "audit.log")}
	return a, func(e *envtest.Environment) {
		args := e.ControlPlane.GetAPIServer().Configure()
		args.Set("audit-policy-file", policy)
		args.Set("audit-log-path", a.path)
		args.Set("audit-log-mode", "blocking")
	}
}

// apiCall is one audited request, when its response started (watches) or
// completed.
type apiCall struct {
	User string
	// As is the user the request impersonated, when it did (the API
	// server authorized it as that user).
	As        string
	Verb      string
	Group     string
	Resource  string // with its subresource: "syncs/status"
	Namespace string
	Name      string
	Code      int
	Message   string // of the response status, for a refusal
}

func (c apiCall) String() string {
	where := c.Namespace
	if where == "" {
		where = "(cluster)"
	}
	return c.Verb + " " + c.Resource + "." + c.Group + " in " + where + " " + c.Name
}

// calls returns the completed resource requests authorized as user: made by
// user without impersonation, or by anyone impersonating user.
func (a *auditLog) calls(t *testing.T, user string) []apiCall {
	t.Helper()
	var out []apiCall
	for _, c := range a.all(t) {
		if (c.As == "" && c.User == user) || c.As == user {
			out = append(out, c)
		}
	}
	return out
}

// impersonating returns the requests user made as someone else.
func (a *auditLog) impersonating(t *testing.T, user string) []apiCall {
	t.Helper()
	var out []apiCall
	for _, c := range a.all(t) {
		if c.User == user && c.As != "" {
			out = append(out, c)
		}
	}
	return out
}

// all returns every completed resource request.
func (a *auditLog) all(t *testing.T) []apiCall {
	t.Helper()
	f, err := os.Open(a.path)
	if err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	defer f.Close()
	var out []apiCall
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Stage string `json:"stage"`
			Verb  string `json:"verb"`
			User  struct {
				Username string `json:"username"`
			} `json:"user"`
			ImpersonatedUser *struct {
				Username string `json:"username"`
			} `json:"impersonatedUser"`
			ObjectRef *struct {
				Resource    string `json:"resource"`
				Subresource string `json:"subresource"`
				Namespace   string `json:"namespace"`
				Name        string `json:"name"`
				APIGroup    string `json:"apiGroup"`
			} `json:"objectRef"`
			ResponseStatus *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"responseStatus"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit log line: %v", err)
		}
		// A watch is audited when its response starts (and again when it
		// ends, which may be after the test looks).
		if ev.ObjectRef == nil || (ev.Stage != "ResponseComplete" && ev.Stage != "ResponseStarted") {
			continue
		}
		c := apiCall{User: ev.User.Username, Verb: ev.Verb, Group: ev.ObjectRef.APIGroup, Resource: ev.ObjectRef.Resource,
			Namespace: ev.ObjectRef.Namespace, Name: ev.ObjectRef.Name}
		if ev.ImpersonatedUser != nil {
			c.As = ev.ImpersonatedUser.Username
		}
		if ev.ObjectRef.Subresource != "" {
			c.Resource += "/" + ev.ObjectRef.Subresource
		}
		if ev.ResponseStatus != nil {
			c.Code, c.Message = ev.ResponseStatus.Code, ev.ResponseStatus.Message
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	return out
}

func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// denied returns the calls answered 403 Forbidden.
func denied(calls []apiCall) []string {
	var out []string
	for _, c := range calls {
		if c.Code == 403 {
			out = append(out, c.String())
		}
	}
	return out
}

// auditVerb is the RBAC verb of an audited request: the audit log says
// "watch" for watches and "list" for lists, as RBAC does.
func auditVerb(c apiCall) string { return strings.ToLower(c.Verb) }
