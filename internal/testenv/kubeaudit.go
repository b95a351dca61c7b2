package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// KubeAudit is the kube-apiserver's audit log, at Metadata level: the
// server's own record of who made each request, as whom, and what it
// answered, for tests that prove what a client did or was refused.
type KubeAudit struct{ path string }

// WithKubeAudit starts the API server with an audit log of the requests of
// users (of everyone when none are named). Blocking mode writes each event
// before the response goes out, so the log is complete whenever it is read;
// it is never rotated.
func WithKubeAudit(t testing.TB, users ...string) (*KubeAudit, KubeOption) {
	t.Helper()
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	rules := "  - level: Metadata\n"
	if len(users) > 0 {
		quoted := make([]string, len(users))
		for i, u := range users {
			quoted[i] = fmt.Sprintf("%q", u)
		}
		rules = fmt.Sprintf("  - level: Metadata\n    users: [%s]\n  - level: None\n", strings.Join(quoted, ", "))
	}
	doc := "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n" + rules
	if err := os.WriteFile(policy, []byte(doc), 0o600); err != nil {
		t.Fatalf("testenv: audit policy: %v", err)
	}
	a := KubeAuditAt(filepath.Join(dir, "audit.log"))
	return a, func(e *envtest.Environment) {
		args := e.ControlPlane.GetAPIServer().Configure()
		args.Set("audit-policy-file", policy)
		args.Set("audit-log-path", a.path)
		args.Set("audit-log-mode", "blocking")
		args.Set("audit-log-maxsize", "0")
	}
}

// KubeAuditAt reads an audit log written elsewhere (tests of the readers).
func KubeAuditAt(path string) *KubeAudit { return &KubeAudit{path: path} }

// KubeAuditEvent is one audit event of a request.
type KubeAuditEvent struct {
	AuditID, Stage, Verb string
	// User authenticated; As is whom the request impersonated, if anyone
	// (the server authorized it as As).
	User, As string
	// Resource carries its subresource ("syncs/status"); it is empty for a
	// non-resource request (discovery).
	Group, Resource, Namespace, Name string
	Code                             int
	Message                          string // of the response status
}

// Events reads every event of the log, in order. A request is logged once
// per stage (a watch when its response starts and again when it ends).
func (a *KubeAudit) Events(t testing.TB) []KubeAuditEvent {
	t.Helper()
	f, err := os.Open(a.path)
	if err != nil {
		t.Fatalf("testenv: reading the kube-apiserver audit log: %v", err)
	}
	defer f.Close()
	var out []KubeAuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			AuditID string `json:"auditID"`
			Stage   string `json:"stage"`
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
			t.Fatalf("testenv: kube-apiserver audit log line: %v", err)
		}
		e := KubeAuditEvent{AuditID: ev.AuditID, Stage: ev.Stage, Verb: ev.Verb, User: ev.User.Username}
		if ev.ImpersonatedUser != nil {
			e.As = ev.ImpersonatedUser.Username
		}
		if r := ev.ObjectRef; r != nil {
			e.Group, e.Resource, e.Namespace, e.Name = r.APIGroup, r.Resource, r.Namespace, r.Name
			if r.Subresource != "" {
				e.Resource += "/" + r.Subresource
			}
		}
		if ev.ResponseStatus != nil {
			e.Code, e.Message = ev.ResponseStatus.Code, ev.ResponseStatus.Message
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("testenv: reading the kube-apiserver audit log: %v", err)
	}
	return out
}
