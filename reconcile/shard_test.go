package reconcile_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/reconcile/webhook"
)

// TestShardWebhookAndSkippedWork checks three ways the controller avoids
// work: a replica only reconciles its shard, an unchanged revision and
// unchanged secret versions are not rendered or resolved again, and a push
// webhook replaces waiting for the interval.
func TestShardWebhookAndSkippedWork(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "team", withVault())
	sc.vault.PutKV2(t, "secret", "team/api", map[string]any{"token": "shard-test-token"})
	first := sc.repo.Commit(t, "init", map[string]string{
		"cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {v: '1'}\n",
		"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: api}\nstringData: {token: '<path:secret/data/team/api#token>'}\n",
	})

	ctl := startShardController(t, sc.kube, sc.vaultConfig(), "blue")
	for _, ns := range []string{"blue", "green"} {
		sc.kube.CreateNamespace(t, ns)
		s := sc.gitSync(ns, "team", "", time.Hour)
		if ns == "blue" {
			s.Labels = map[string]string{reconcile.LabelShard: "blue"}
		}
		sc.create(t, s)
	}

	sc.waitApplied(t, "the blue shard's Sync applied", "blue", "team", first)
	never(t, 2*time.Second, "the controller of shard blue reconciled an unsharded Sync", func() bool {
		return len(getSync(t, sc.c, "green", "team").Status.Conditions) > 0
	})

	t.Run("unchanged revision and secrets: no render, no resolve", func(t *testing.T) {
		resolved := ctl.counter(t, "latchkey_vault_reads_total") + ctl.counter(t, "latchkey_vault_cache_hits_total")
		runs := ctl.counter(t, "latchkey_reconcile_duration_seconds")
		// Ask for a reconciliation without changing the spec: a label edit.
		s := getSync(t, sc.c, "blue", "team")
		s.Annotations = map[string]string{"example.com/touched": "yes"}
		if err := sc.c.Update(ctx, s); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "a reconciliation ran", func() error {
			if ctl.counter(t, "latchkey_reconcile_duration_seconds") <= runs {
				return fmt.Errorf("no reconciliation yet")
			}
			return nil
		})
		if got := ctl.counter(t, "latchkey_vault_reads_total") + ctl.counter(t, "latchkey_vault_cache_hits_total"); got != resolved {
			t.Errorf("secrets were resolved again (%v → %v) although nothing changed", resolved, got)
		}
	})

	t.Run("a signed push webhook applies a new commit at once", func(t *testing.T) {
		rev := sc.repo.Commit(t, "v2", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {v: '2'}\n"})
		rc := &webhook.Receiver{Secret: []byte("hook-secret"), Trigger: ctl.reconciler.Trigger}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		body := `{"ref":"refs/heads/main","repository":{"clone_url":"` + sc.repo.URL + `"}}`
		m := hmac.New(sha256.New, []byte("hook-secret"))
		m.Write([]byte(body))
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", "shard-test-delivery-1")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("webhook status %d", resp.StatusCode)
		}
		eventually(t, 10*time.Second, "the pushed commit applied (interval is 1h)", func() error {
			var cm corev1.ConfigMap
			if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "blue", Name: "cfg"}, &cm); err != nil || cm.Data["v"] != "2" {
				return fmt.Errorf("cfg %v %v", cm.Data, err)
			}
			if s := getSync(t, sc.c, "blue", "team"); s.Status.LastAppliedRevision != rev {
				return fmt.Errorf("applied %s", s.Status.LastAppliedRevision)
			}
			return nil
		})
		if len(getSync(t, sc.c, "green", "team").Status.Conditions) > 0 {
			t.Error("the webhook made shard blue reconcile an unsharded Sync")
		}
	})
}
