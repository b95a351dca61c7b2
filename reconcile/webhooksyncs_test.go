package reconcile_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile/webhook"
)

// A Sync's own webhook secret (spec.source.webhookSecretRef) lets its
// tenant's hook trigger its Syncs, and only those: team-b's Sync of the same
// repository waits for its interval.
func TestPerSyncWebhookSecret(t *testing.T) {
	sc := newScenario(t, "shared")
	first := sc.repo.Commit(t, "v1", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {v: '1'}\n"})
	ctl := startController(t, sc.kube, nil)
	for _, team := range []string{"team-a", "team-b"} {
		sc.kube.CreateNamespace(t, team)
		s := sc.gitSync(team, "app", "", time.Hour)
		s.Spec.Source.WebhookSecretRef = &v1alpha1.LocalObjectReference{Name: "hook"}
		sc.create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "hook"}, Data: map[string][]byte{"token": []byte(team + "-hook-secret")}}, s)
		sc.waitApplied(t, team+" applied v1", team, "app", first)
	}
	srv := httptest.NewServer(&webhook.Receiver{Secret: []byte("controller-secret"), Trigger: ctl.reconciler.Trigger, Syncs: ctl.reconciler})
	defer srv.Close()
	push := func(t *testing.T, secret, id, rev string) int {
		t.Helper()
		body := `{"ref":"refs/heads/main","after":"` + rev + `","repository":{"clone_url":"` + sc.repo.URL + `"}}`
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(body))
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	second := sc.repo.Commit(t, "v2", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {v: '2'}\n"})
	if code := push(t, "another-tenants-guess", "d-1", second); code != http.StatusUnauthorized {
		t.Fatalf("a hook signed with an unknown secret: %d, want 401", code)
	}
	if code := push(t, "team-a-hook-secret", "d-2", second); code != http.StatusAccepted {
		t.Fatalf("team-a's hook: %d, want 202", code)
	}
	sc.waitApplied(t, "team-a's Sync applied the push at once (interval 1h)", "team-a", "app", second)
	never(t, 2*time.Second, "team-a's hook triggered team-b's Sync", func() bool {
		return getSync(t, sc.c, "team-b", "app").Status.LastAppliedRevision == second
	})
	if code := push(t, "team-b-hook-secret", "d-3", second); code != http.StatusAccepted {
		t.Fatalf("team-b's hook: %d, want 202", code)
	}
	sc.waitApplied(t, "team-b's Sync applied on its own hook", "team-b", "app", second)
}
