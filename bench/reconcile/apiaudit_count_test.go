package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// The audit log logs a watch twice (response started, then complete) and
// every user the policy names; the count is per distinct request of the
// users asked for, and tells impersonated and refused requests apart.
func TestAuditCountsEachRequestOfTheControllerOnceWithItsImpersonatedOnes(t *testing.T) {
	lines := []string{
		`{"auditID":"1","stage":"ResponseStarted","verb":"watch","user":{"username":"ctl"},"objectRef":{"resource":"configmaps"}}`,
		`{"auditID":"1","stage":"ResponseComplete","verb":"watch","user":{"username":"ctl"},"objectRef":{"resource":"configmaps"},"responseStatus":{"code":200}}`,
		`{"auditID":"2","stage":"ResponseComplete","verb":"patch","user":{"username":"ctl"},"impersonatedUser":{"username":"system:serviceaccount:a:deployer"},"objectRef":{"resource":"configmaps"},"responseStatus":{"code":200}}`,
		`{"auditID":"3","stage":"ResponseComplete","verb":"patch","user":{"username":"ctl"},"impersonatedUser":{"username":"system:serviceaccount:a:deployer"},"objectRef":{"resource":"syncs","subresource":"status"},"responseStatus":{"code":403}}`,
		`{"auditID":"4","stage":"ResponseComplete","verb":"get","user":{"username":"other"},"objectRef":{"resource":"configmaps"},"responseStatus":{"code":200}}`,
		`{"auditID":"5","stage":"ResponseComplete","verb":"get","user":{"username":"ctl"},"responseStatus":{"code":200}}`,
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &apiAudit{testenv.KubeAuditAt(path)}
	got := a.count(t, []string{"ctl"})
	if got.Total != 4 || got.Impersonated != 2 || got.Forbidden != 1 || got.ByUser["ctl"] != 4 {
		t.Fatalf("counted %+v, want 4 requests of ctl, 2 impersonated, 1 forbidden", got)
	}
	want := map[string]int{"watch configmaps": 1, "patch configmaps": 1, "patch syncs/status": 1, "get (non-resource)": 1}
	for k, v := range want {
		if got.ByVerb[k] != v {
			t.Errorf("ByVerb[%q] = %d, want %d (all: %v)", k, got.ByVerb[k], v, got.ByVerb)
		}
	}
	if s := got.perSync(2, 1); !strings.HasPrefix(s, "0.5 ") || !strings.HasSuffix(s, "1.5 other") {
		t.Errorf("perSync(2, 1) = %q, want the top request per Sync then the rest", s)
	}
}
