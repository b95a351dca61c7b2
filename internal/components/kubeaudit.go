package components

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// KubeAudit is the kube-apiserver's audit log, at Metadata level: the
// server's own record of who made each request, as whom, and what it
// answered, for proofs of what a client did or was refused.
type KubeAudit struct {
	// Path is the log file; its policy is written next to it.
	Path string
	// Users whose requests are logged; everyone's when empty.
	Users []string
}

// Configure writes the audit policy and sets the API server's flags. Blocking
// mode writes each event before the response goes out, so the log is
// complete whenever it is read; it is never rotated.
func (a *KubeAudit) Configure(e *envtest.Environment) error {
	rules := "  - level: Metadata\n"
	if len(a.Users) > 0 {
		quoted := make([]string, len(a.Users))
		for i, u := range a.Users {
			quoted[i] = fmt.Sprintf("%q", u)
		}
		rules = fmt.Sprintf("  - level: Metadata\n    users: [%s]\n  - level: None\n", strings.Join(quoted, ", "))
	}
	doc := "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n" + rules
	policy := a.Path + ".policy.yaml"
	if err := os.MkdirAll(filepath.Dir(a.Path), 0o700); err != nil {
		return fmt.Errorf("kube-apiserver audit log directory: %w", err)
	}
	if err := os.WriteFile(policy, []byte(doc), 0o600); err != nil {
		return fmt.Errorf("kube-apiserver audit policy: %w", err)
	}
	args := e.ControlPlane.GetAPIServer().Configure()
	args.Set("audit-policy-file", policy)
	args.Set("audit-log-path", a.Path)
	args.Set("audit-log-mode", "blocking")
	args.Set("audit-log-maxsize", "0")
	return nil
}

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
func (a *KubeAudit) Events() ([]KubeAuditEvent, error) {
	f, err := os.Open(a.Path)
	if err != nil {
		return nil, fmt.Errorf("reading the kube-apiserver audit log: %w", err)
	}
	defer f.Close()
	var out []KubeAuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		e, err := parseKubeAuditEvent(sc.Bytes())
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the kube-apiserver audit log: %w", err)
	}
	return out, nil
}

func parseKubeAuditEvent(line []byte) (KubeAuditEvent, error) {
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
	if err := json.Unmarshal(line, &ev); err != nil {
		return KubeAuditEvent{}, fmt.Errorf("kube-apiserver audit log line: %w", err)
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
	return e, nil
}
