package charts

import (
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// auditLog is the API server's audit log of every request, so a test can
// see which API calls a ServiceAccount made and which were denied: the
// server's own record, not the client's.
type auditLog struct{ *testenv.KubeAudit }

func withAuditLog(t *testing.T) (*auditLog, testenv.KubeOption) {
	t.Helper()
	a, opt := testenv.WithKubeAudit(t)
	return &auditLog{a}, opt
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

// all returns every completed resource request (a watch is audited when
// its response starts, and again when it ends, which may be after the test
// looks).
func (a *auditLog) all(t *testing.T) []apiCall {
	t.Helper()
	var out []apiCall
	for _, e := range a.Events(t) {
		if e.Resource == "" || (e.Stage != "ResponseComplete" && e.Stage != "ResponseStarted") {
			continue
		}
		out = append(out, apiCall{User: e.User, As: e.As, Verb: e.Verb, Group: e.Group, Resource: e.Resource,
			Namespace: e.Namespace, Name: e.Name, Code: e.Code, Message: e.Message})
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
