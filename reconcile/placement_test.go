package reconcile_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// A value may land in a Secret's data. In metadata it is refused (names,
// labels and annotations are copied into status.inventory, status.history,
// events and logs); elsewhere it is refused unless the Sync opts in, and then
// a Warning event lists where it went. Refused revisions apply nothing, and
// the value reaches no status, event or log. The controller runs with a 2s
// --min-interval, which raises the Sync's 1s interval and says so.
func TestValuesLandOnlyInSecretsData(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "placement", withVault())
	canaryName := "canary-name-" + strings.ToLower(rand.Text())
	canaryValue := "canary-value-" + rand.Text()
	sc.vault.PutKV2(t, "secret", "app", map[string]any{"name": canaryName, "password": canaryValue})
	secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: '<path:secret/data/app#password>'}\n"
	first := sc.repo.Commit(t, "a Secret and a ConfigMap", map[string]string{
		"secret.yaml": secret,
		"cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {v: '1'}\n",
	})
	startShardController(t, sc.kube, sc.vaultConfig(), "", func(o *reconcile.Options) { o.MinInterval = 2 * time.Second })
	ns := sc.kube.CreateNamespace(t, "placement")
	sc.create(t, sc.gitSync(ns, "app", "", time.Second))
	sc.waitApplied(t, "the first revision applied", ns, "app", first)
	inventory := func() string {
		b, _ := json.Marshal(getSync(t, sc.c, ns, "app").Status.Inventory)
		return string(b)
	}
	goodInventory := inventory()

	waitRefused := func(t *testing.T, rev string, want ...string) {
		t.Helper()
		eventually(t, 30*time.Second, "the revision refused", func() error {
			s := getSync(t, sc.c, ns, "app")
			c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
			if s.Status.LastAttemptedRevision != rev || c == nil || c.Reason != v1alpha1.ReasonValueMisplaced {
				return fmt.Errorf("attempted %s, Ready %s", s.Status.LastAttemptedRevision, condition(s, v1alpha1.ConditionReady))
			}
			for _, w := range want {
				if !strings.Contains(c.Message, w) {
					return fmt.Errorf("the message lacks %q: %s", w, c.Message)
				}
			}
			return nil
		})
		s := getSync(t, sc.c, ns, "app")
		if s.Status.LastAppliedRevision != first || inventory() != goodInventory {
			t.Errorf("a refused revision changed what is applied: applied %s, inventory %s", s.Status.LastAppliedRevision, inventory())
		}
		var cm corev1.ConfigMap
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cfg"}, &cm); err != nil || cm.Data["v"] != "1" {
			t.Errorf("ConfigMap cfg = %v, %v: a refused revision was applied", cm.Data, err)
		}
	}

	t.Run("a reference in metadata.name and a label is refused, naming the fields", func(t *testing.T) {
		rev := sc.repo.Commit(t, "a value in metadata", map[string]string{
			"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {v: '2'}\n",
			"named.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: <path:secret/data/app#name>\n  labels: {owner: '<path:secret/data/app#name>'}\n" +
				"stringData: {password: '<path:secret/data/app#password>'}\n",
		})
		waitRefused(t, rev, "field metadata.name: secret/data/app#name resolves in metadata", "field metadata.labels.owner", "named.yaml:1")
		var list corev1.SecretList
		if err := sc.c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, s := range list.Items {
			if s.Name == canaryName {
				t.Errorf("a Secret named by the value was created")
			}
		}
	})

	t.Run("a value in a ConfigMap is refused without the opt-in", func(t *testing.T) {
		rev := sc.repo.Commit(t, "a value in a ConfigMap", map[string]string{
			"named.yaml": "",
			"cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {v: '2', password: '<path:secret/data/app#password>'}\n",
		})
		waitRefused(t, rev, "ConfigMap placement/cfg (cm.yaml:1) field data.password: secret/data/app#password resolves outside a Secret", "allowValuesOutsideSecrets")
	})

	t.Run("with the opt-in it is applied, with a Warning event naming the object and field", func(t *testing.T) {
		s := getSync(t, sc.c, ns, "app")
		s.Spec.Render.AllowValuesOutsideSecrets = true
		if err := sc.c.Update(ctx, s); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "the ConfigMap applied", func() error {
			var cm corev1.ConfigMap
			if err := sc.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cfg"}, &cm); err != nil || cm.Data["password"] != canaryValue {
				return fmt.Errorf("cfg has not the value yet (%v); Ready %s", err, condition(getSync(t, sc.c, ns, "app"), v1alpha1.ConditionReady))
			}
			return nil
		})
		eventually(t, 10*time.Second, "the Warning event", func() error {
			evs, err := sc.kube.Clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, e := range evs.Items {
				if e.Reason == v1alpha1.ReasonValuesOutsideSecrets && e.Type == corev1.EventTypeWarning && strings.Contains(e.Note, "ConfigMap "+ns+"/cfg (cm.yaml:1) field data.password") {
					return nil
				}
			}
			return fmt.Errorf("no %s event naming ConfigMap cfg field data.password among %d", v1alpha1.ReasonValuesOutsideSecrets, len(evs.Items))
		})
	})

	t.Run("the interval floor is applied and said", func(t *testing.T) {
		evs, err := sc.kube.Clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range evs.Items {
			found = found || (e.Reason == v1alpha1.ReasonIntervalRaised && strings.Contains(e.Note, "spec.source.interval 1s raised to the controller's minimum interval 2s"))
		}
		if !found {
			t.Errorf("no %s event", v1alpha1.ReasonIntervalRaised)
		}
		if got := getSync(t, sc.c, ns, "app").Spec.Source.Interval.Duration; got != time.Second {
			t.Errorf("the floor was written into the spec: %s", got)
		}
	})

	t.Run("canary: the values reached no status, event or log", func(t *testing.T) {
		evs, err := sc.kube.Clientset.EventsV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		coreEvs, err := sc.kube.Clientset.CoreV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e1, _ := json.Marshal(evs)
		e2, _ := json.Marshal(coreEvs)
		st, _ := json.Marshal(getSync(t, sc.c, ns, "app"))
		channels := map[string]string{"events": string(e1), "core events": string(e2), "Sync": string(st), "logs": logs.String()}
		if !strings.Contains(channels["events"], v1alpha1.ReasonValueMisplaced) || !strings.Contains(channels["Sync"], "history") {
			t.Fatal("the refusals left no event or the Sync no history: the search would prove nothing")
		}
		for name, text := range channels {
			for _, canary := range []string{canaryName, canaryValue, base64.StdEncoding.EncodeToString([]byte(canaryValue))} {
				if strings.Contains(text, canary) {
					t.Errorf("%s hold a resolved value (%q)", name, canary[:12])
				}
			}
		}
	})
}
