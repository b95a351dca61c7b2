package testenv

import (
	"path/filepath"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// KubeAudit is the kube-apiserver's audit log, at Metadata level: the
// server's own record of who made each request, as whom, and what it
// answered, for tests that prove what a client did or was refused.
type KubeAudit struct{ log components.KubeAudit }

// KubeAuditEvent is one audit event of a request (components.KubeAuditEvent).
type KubeAuditEvent = components.KubeAuditEvent

// WithKubeAudit starts the API server with an audit log of the requests of
// users (of everyone when none are named). Blocking mode writes each event
// before the response goes out, so the log is complete whenever it is read;
// it is never rotated. The log needs a control plane of its own: use it with
// StartKube, not Shared.
func WithKubeAudit(t testing.TB, users ...string) (*KubeAudit, KubeOption) {
	t.Helper()
	a := &KubeAudit{components.KubeAudit{Path: filepath.Join(t.TempDir(), "audit.log"), Users: users}}
	return a, func(e *envtest.Environment) {
		if err := a.log.Configure(e); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
}

// KubeAuditAt reads an audit log written elsewhere (tests of the readers).
func KubeAuditAt(path string) *KubeAudit { return &KubeAudit{components.KubeAudit{Path: path}} }

// Events reads every event of the log, in order. A request is logged once
// per stage (a watch when its response starts and again when it ends).
func (a *KubeAudit) Events(t testing.TB) []KubeAuditEvent {
	t.Helper()
	events, err := a.log.Events()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return events
}
