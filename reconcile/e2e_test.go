package reconcile_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
)

const (
	syncNS  = "latchkey"
	appNS   = "shop"
	gitUser = "gitops-bot"
)

func manifests(sealed string) map[string]string {
	return map[string]string{
		"app/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
		"app/settings.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n",
		"app/db.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  username: <path:secret/data/shop/db#username>
  password: <path:secret/data/shop/db#password>
`,
		"app/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
        env:
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        - name: API_TOKEN
          valueFrom: {secretKeyRef: {name: api-token, key: token}}
`,
		"app/api-token.yaml": sealed,
	}
}

// TestEndToEnd drives one Sync through a repository's life against real
// components: envtest's kube-apiserver, a Vault dev server, Git over smart
// HTTP with basic auth, and the upstream sealed-secrets keys and kubeseal.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Vault, Git and sealed-secrets")
	}
	t.Parallel() // its components are its own, as a scenario's
	ctx := context.Background()
	kube := testenv.StartKube(t, testenv.WithScheme(v1alpha1.AddToScheme))
	c := kube.Client
	vault := testenv.StartVault(t)
	ss := testenv.StartSealedSecrets(t, kube)
	gitSrv := testenv.StartGitServer(t, testenv.WithBasicAuth(gitUser, "git-password"))
	repo := gitSrv.NewRepo(t, "fleet")

	// Unique values planted in every secret source; none may ever leave the
	// target Secrets.
	canaryDB := "canary-db-" + rand.Text()
	canaryRotated := "canary-rotated-" + rand.Text()
	canarySealed := "canary-sealed-" + rand.Text()
	canaries := []string{canaryDB, canaryRotated, canarySealed}
	vault.PutKV2(t, "secret", "shop/db", map[string]any{"username": "shop", "password": canaryDB})

	sealed := ss.Seal(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: api-token, namespace: shop}\nstringData: {token: "+canarySealed+"}\n")
	files := manifests(sealed)
	first := repo.Commit(t, "shop app", files)

	ctl := startController(t, kube, &config.Vault{
		Address: vault.Addr, Timeout: 5 * time.Second, MaxRetries: 0, Concurrency: 8,
		Auth: config.VaultAuth{Method: config.VaultAuthToken, Token: config.Sensitive(vault.RootToken)},
	})
	kube.CreateNamespace(t, syncNS)
	if err := c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: syncNS, Name: "git"},
		Data:       map[string][]byte{"username": []byte(gitUser), "password": []byte("git-password")},
	}); err != nil {
		t.Fatal(err)
	}
	sync := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: syncNS, Name: "shop"},
		Spec: v1alpha1.SyncSpec{
			Source: v1alpha1.GitSource{
				URL: repo.URL, Path: "app", Interval: metav1.Duration{Duration: time.Second},
				SecretRef: &v1alpha1.LocalObjectReference{Name: "git"},
			},
			TargetNamespace: appNS,
			Mode:            v1alpha1.ModeEnforce,
			Rotation:        v1alpha1.Rotation{Interval: &metav1.Duration{Duration: time.Second}},
		},
	}
	if err := c.Create(ctx, sync); err != nil {
		t.Fatal(err)
	}

	key := func(name string) client.ObjectKey { return client.ObjectKey{Namespace: appNS, Name: name} }
	secretValue := func(name, field string) string {
		var s corev1.Secret
		if err := c.Get(ctx, key(name), &s); err != nil {
			return "<" + err.Error() + ">"
		}
		return string(s.Data[field])
	}
	deployment := func() *appsv1.Deployment {
		var d appsv1.Deployment
		if err := c.Get(ctx, key("web"), &d); err != nil {
			t.Fatalf("getting the Deployment: %v", err)
		}
		return &d
	}
	waitApplied := func(rev string) *v1alpha1.Sync {
		t.Helper()
		var s *v1alpha1.Sync
		eventually(t, 60*time.Second, "revision "+rev[:8]+" applied and Ready", func() error {
			s = getSync(t, c, syncNS, "shop")
			if s.Status.LastAppliedRevision != rev || !strings.HasPrefix(condition(s, v1alpha1.ConditionReady), "True") {
				return fmt.Errorf("applied %q, Ready %s", s.Status.LastAppliedRevision, condition(s, v1alpha1.ConditionReady))
			}
			return nil
		})
		return s
	}

	t.Run("a new Sync applies everything, values from Vault and from a SealedSecret", func(t *testing.T) {
		s := waitApplied(first)
		if got := secretValue("db", "password"); got != canaryDB {
			t.Errorf("Secret db password = %q, want the Vault value", got)
		}
		if got := secretValue("api-token", "token"); got != canarySealed {
			t.Errorf("Secret api-token token = %q, want the unsealed value", got)
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, key("settings"), &cm); err != nil || cm.Data["color"] != "blue" {
			t.Errorf("ConfigMap settings = %v, %v", cm.Data, err)
		}
		if cm.Labels[reconcile.LabelSync] != "shop" || cm.Annotations[reconcile.AnnotationRevision] != first ||
			!strings.HasSuffix(cm.Annotations[reconcile.AnnotationSource], "//app") {
			t.Errorf("ConfigMap metadata = labels %v annotations %v", cm.Labels, cm.Annotations)
		}
		if n := len(s.Status.Inventory.Entries); n != 5 {
			t.Errorf("inventory has %d entries, want 5: %v", n, s.Status.Inventory.Entries)
		}
		if len(s.Status.History) != 1 || len(s.Status.History[0].Secrets) != 3 {
			t.Fatalf("history = %+v, want one apply with 3 secret values", s.Status.History)
		}
		for _, sv := range s.Status.History[0].Secrets {
			if len(sv.HMAC) != 64 {
				t.Errorf("secret %s %s has HMAC %q", sv.Object, sv.Reference, sv.HMAC)
			}
			unkeyed := sha256.Sum256([]byte(canaryDB))
			if sv.HMAC == hex.EncodeToString(unkeyed[:]) {
				t.Errorf("the recorded hash of %s is an unkeyed SHA-256 of the value", sv.Reference)
			}
		}
		if a := deployment().Spec.Template.Annotations[reconcile.AnnotationSecretsHMAC]; len(a) != 64 {
			t.Errorf("the Deployment's pod template has no secrets HMAC annotation: %q", a)
		}
	})

	t.Run("a new commit is applied", func(t *testing.T) {
		files["app/settings.yaml"] = strings.Replace(files["app/settings.yaml"], "blue", "green", 1)
		rev := repo.Commit(t, "green", map[string]string{"app/settings.yaml": files["app/settings.yaml"]})
		waitApplied(rev)
		var cm corev1.ConfigMap
		if err := c.Get(ctx, key("settings"), &cm); err != nil || cm.Data["color"] != "green" {
			t.Errorf("ConfigMap settings = %v, %v; want color green", cm.Data, err)
		}
	})

	var removal string
	t.Run("a file removed from Git is pruned", func(t *testing.T) {
		removal = repo.Remove(t, "drop settings", "app/settings.yaml")
		s := waitApplied(removal)
		eventually(t, 10*time.Second, "ConfigMap settings deleted", func() error {
			if err := c.Get(ctx, key("settings"), &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("get: %v", err)
			}
			return nil
		})
		if n := len(s.Status.Inventory.Entries); n != 4 {
			t.Errorf("inventory has %d entries after the prune, want 4", n)
		}
	})

	t.Run("enforce: a manual edit and a deletion are reverted", func(t *testing.T) {
		d := deployment()
		d.Spec.Replicas = ptr.To[int32](5)
		if err := c.Update(ctx, d, client.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "replicas reverted to 1", func() error {
			if r := *deployment().Spec.Replicas; r != 1 {
				return fmt.Errorf("replicas %d", r)
			}
			return nil
		})
		if err := c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: "db"}}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "deleted Secret recreated with the Vault value", func() error {
			if v := secretValue("db", "password"); v != canaryDB {
				return errors.New("not yet")
			}
			return nil
		})
		if ctl.counter(t, "latchkey_drift_healed_total") < 2 {
			t.Errorf("latchkey_drift_healed_total = %v, want 2 or more", ctl.counter(t, "latchkey_drift_healed_total"))
		}
	})

	for _, mode := range []v1alpha1.Mode{v1alpha1.ModeSync, v1alpha1.ModeObserve} {
		t.Run(string(mode)+": a manual edit is reported, not reverted", func(t *testing.T) {
			setMode(t, c, mode)
			replicas := int32(7)
			if mode == v1alpha1.ModeObserve {
				replicas = 8
			}
			d := deployment()
			d.Spec.Replicas = &replicas
			if err := c.Update(ctx, d, client.FieldOwner("kubectl-edit")); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "Drifted condition", func() error {
				s := getSync(t, c, syncNS, "shop")
				cond := condition(s, v1alpha1.ConditionDrifted)
				if !strings.HasPrefix(cond, "True") || !strings.Contains(cond, "Deployment shop/web [spec.replicas]") {
					return fmt.Errorf("Drifted %s, drift %+v", cond, s.Status.Drift)
				}
				return nil
			})
			never(t, 3*time.Second, "the edit was reverted in mode "+string(mode), func() bool {
				return *deployment().Spec.Replicas != replicas
			})
		})
	}

	t.Run("back to enforce: the drift is reverted", func(t *testing.T) {
		setMode(t, c, v1alpha1.ModeEnforce)
		eventually(t, 15*time.Second, "replicas reverted and Drifted=False", func() error {
			s := getSync(t, c, syncNS, "shop")
			if r := *deployment().Spec.Replicas; r != 1 {
				return fmt.Errorf("replicas %d", r)
			}
			if !strings.HasPrefix(condition(s, v1alpha1.ConditionDrifted), "False") {
				return fmt.Errorf("Drifted %s", condition(s, v1alpha1.ConditionDrifted))
			}
			return nil
		})
	})

	t.Run("a Vault rotation updates the Secret and rolls the Deployment", func(t *testing.T) {
		before := deployment().Spec.Template.Annotations[reconcile.AnnotationSecretsHMAC]
		vault.PutKV2(t, "secret", "shop/db", map[string]any{"username": "shop", "password": canaryRotated})
		eventually(t, 20*time.Second, "Secret updated", func() error {
			if v := secretValue("db", "password"); v != canaryRotated {
				return errors.New("still the old value")
			}
			return nil
		})
		eventually(t, 5*time.Second, "pod template annotation changed", func() error {
			if a := deployment().Spec.Template.Annotations[reconcile.AnnotationSecretsHMAC]; a == before || len(a) != 64 {
				return fmt.Errorf("annotation %q (before %q)", a, before)
			}
			return nil
		})
		s := getSync(t, c, syncNS, "shop")
		if s.Status.History[0].Digest == s.Status.History[1].Digest {
			t.Error("the history digest did not change with the secret value")
		}
		if ctl.counter(t, "latchkey_rotation_pickups_total") < 1 {
			t.Error("no rotation pickup counted")
		}
	})

	t.Run("a revert commit brings the previous state back", func(t *testing.T) {
		rev := repo.Revert(t, removal)
		waitApplied(rev)
		var cm corev1.ConfigMap
		if err := c.Get(ctx, key("settings"), &cm); err != nil || cm.Data["color"] != "green" {
			t.Errorf("ConfigMap settings = %v, %v; want it back, green", cm.Data, err)
		}
	})

	t.Run("Vault unavailable: nothing applied, the reference named, objects intact", func(t *testing.T) {
		applied := getSync(t, c, syncNS, "shop").Status.LastAppliedRevision
		// The new reference exists in Vault: the only thing wrong is that
		// Vault cannot serve it (values already cached may still be used).
		vault.PutKV2(t, "secret", "shop/payments", map[string]any{"apikey": "never-read"})
		sealCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := vault.Client().Sys().SealWithContext(sealCtx); err != nil {
			t.Fatalf("sealing Vault: %v", err)
		}
		files["app/settings.yaml"] = strings.Replace(files["app/settings.yaml"], "blue", "red", 1)
		rev := repo.Commit(t, "red, and a new key", map[string]string{
			"app/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: red\n",
			"app/db.yaml":       strings.Replace(files["app/db.yaml"], "stringData:\n", "stringData:\n  apikey: <path:secret/data/shop/payments#apikey>\n", 1),
		})
		var s *v1alpha1.Sync
		eventually(t, 30*time.Second, "Ready=False naming the reference", func() error {
			s = getSync(t, c, syncNS, "shop")
			ready := condition(s, v1alpha1.ConditionReady)
			if !strings.HasPrefix(ready, "False/"+v1alpha1.ReasonResolveFailed) || !strings.Contains(ready, "secret/data/shop/payments#apikey") || !strings.Contains(ready, "unavailable") {
				return fmt.Errorf("Ready %s", ready)
			}
			return nil
		})
		t.Logf("Ready: %s", condition(s, v1alpha1.ConditionReady))
		if s.Status.LastAttemptedRevision != rev || s.Status.LastAppliedRevision != applied {
			t.Errorf("attempted %s applied %s; want attempted %s, applied still %s", s.Status.LastAttemptedRevision, s.Status.LastAppliedRevision, rev, applied)
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, key("settings"), &cm); err != nil || cm.Data["color"] != "green" {
			t.Errorf("ConfigMap settings = %v, %v; want it untouched (green)", cm.Data, err)
		}
		if v := secretValue("db", "password"); v != canaryRotated {
			t.Error("the Secret lost its last good value")
		}
	})

	t.Run("canary: no secret value in events, status, logs, metrics or errors", func(t *testing.T) {
		channels := map[string]string{
			"logs":    logs.String(),
			"metrics": ctl.metricsText(t),
		}
		evs, err := kube.Clientset.EventsV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(evs)
		channels["events"] = string(b)
		coreEvs, err := kube.Clientset.CoreV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ = json.Marshal(coreEvs)
		channels["core events"] = string(b)
		b, _ = json.Marshal(getSync(t, c, syncNS, "shop"))
		channels["Sync status and conditions (errors)"] = string(b)
		if !strings.Contains(channels["logs"], "reconciling") || !strings.Contains(channels["metrics"], "latchkey_drift_healed_total") {
			t.Error("the logs or the metrics are empty: the search would prove nothing")
		}
		if len(evs.Items)+len(coreEvs.Items) == 0 {
			t.Error("no events were recorded at all: the search would prove nothing")
		}
		for _, want := range []string{"DriftHealed", "RotationPickedUp", "Pruned", "ResolveFailed"} {
			if !strings.Contains(channels["events"], want) {
				t.Errorf("no %s event recorded", want)
			}
		}
		for name, text := range channels {
			for _, canary := range canaries {
				for _, form := range []string{canary, base64.StdEncoding.EncodeToString([]byte(canary))} {
					if strings.Contains(text, form) {
						t.Errorf("%s contain a secret value (%s...)", name, canary[:12])
					}
				}
			}
		}
	})

	t.Run("deleting the Sync prunes what it owns", func(t *testing.T) {
		if err := c.Delete(ctx, getSync(t, c, syncNS, "shop")); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "owned objects deleted", func() error {
			for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.Secret{}} {
				name := "web"
				if _, ok := o.(*corev1.Secret); ok {
					name = "db"
				}
				if err := c.Get(ctx, key(name), o); !apierrors.IsNotFound(err) {
					return fmt.Errorf("%T %s: %v", o, name, err)
				}
			}
			return nil
		})
	})
}

func setMode(t *testing.T, c client.Client, mode v1alpha1.Mode) {
	t.Helper()
	s := getSync(t, c, syncNS, "shop")
	patch := client.MergeFrom(s.DeepCopy())
	s.Spec.Mode = mode
	if err := c.Patch(context.Background(), s, patch); err != nil {
		t.Fatalf("setting mode %s: %v", mode, err)
	}
	// A spec change is a full reconciliation (in sync mode, a full apply):
	// wait for it, so the edits that follow are judged in the new mode.
	eventually(t, 20*time.Second, "mode "+string(mode)+" observed", func() error {
		got := getSync(t, c, syncNS, "shop")
		if got.Status.ObservedGeneration != got.Generation {
			return fmt.Errorf("observed generation %d of %d", got.Status.ObservedGeneration, got.Generation)
		}
		return nil
	})
}
