package reconcile_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// overlay is one environment's manifests: a Secret from the environment's
// own Vault path, and (in dev) a Deployment whose health gates publishing.
func overlay(env, image string, keys ...string) map[string]string {
	data := ""
	for _, k := range append([]string{"password"}, keys...) {
		data += fmt.Sprintf("  %s: <path:secret/data/%s/shop#%s>\n", k, env, k)
	}
	return map[string]string{
		"overlays/" + env + "/db.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n" + data,
		"overlays/" + env + "/web.yaml": `apiVersion: apps/v1
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
        image: ` + image + `
        env:
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
`,
	}
}

// TestPromotion takes revisions from dev to staging on the real API
// server, Vault and Git over HTTP: dev publishes what it verified (Ready,
// its Deployment available, no drift, for 2s) to verified/dev; staging
// follows that branch under its gates (approval, its own Vault's keys).
func TestPromotion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Vault and Git")
	}
	t.Parallel() // its components are its own, as a scenario's
	ctx := context.Background()
	kube := testenv.StartKube(t, testenv.WithScheme(v1alpha1.AddToScheme))
	c := kube.Client
	vault := testenv.StartVault(t)
	gitSrv := testenv.StartGitServer(t, testenv.WithBasicAuth(gitUser, "git-password"))
	repo := gitSrv.NewRepo(t, "shop")

	canaryDev, canaryStaging, canaryKey := "canary-dev-"+rand.Text(), "canary-staging-"+rand.Text(), "canary-key-"+rand.Text()
	canaries := []string{canaryDev, canaryStaging, canaryKey}
	vault.PutKV2(t, "secret", "dev/shop", map[string]any{"password": canaryDev, "apiKey": "dev-" + canaryKey})
	vault.PutKV2(t, "secret", "staging/shop", map[string]any{"password": canaryStaging})

	files := map[string]string{}
	for k, v := range overlay("dev", "web:1") {
		files[k] = v
	}
	for k, v := range overlay("staging", "web:1") {
		files[k] = v
	}
	r1 := repo.Commit(t, "R1", files)

	ctl := startController(t, kube, &config.Vault{
		Address: vault.Addr, Timeout: 5 * time.Second, Concurrency: 8,
		Auth: config.VaultAuth{Method: config.VaultAuthToken, Token: config.Sensitive(vault.RootToken)},
	})
	kube.CreateNamespace(t, syncNS)
	kube.CreateNamespace(t, "dev")
	kube.CreateNamespace(t, "staging")
	if err := c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: syncNS, Name: "git"},
		Data:       map[string][]byte{"username": []byte(gitUser), "password": []byte("git-password")},
	}); err != nil {
		t.Fatal(err)
	}
	source := func(branch, path string) v1alpha1.GitSource {
		return v1alpha1.GitSource{
			URL: repo.URL, Path: path, Interval: metav1.Duration{Duration: time.Second},
			Ref: &v1alpha1.GitRef{Branch: branch}, SecretRef: &v1alpha1.LocalObjectReference{Name: "git"},
		}
	}
	soak := 2 * time.Second
	dev := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: syncNS, Name: "dev"},
		Spec: v1alpha1.SyncSpec{
			Source: source("main", "overlays/dev"), TargetNamespace: "dev",
			Wait:    &v1alpha1.Wait{Timeout: &metav1.Duration{Duration: time.Minute}},
			Publish: &v1alpha1.Publish{Ref: "verified/dev", After: &metav1.Duration{Duration: soak}},
		},
	}
	staging := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: syncNS, Name: "staging"},
		Spec: v1alpha1.SyncSpec{
			Source: source("verified/dev", "overlays/staging"), TargetNamespace: "staging",
			Promotion: &v1alpha1.Promotion{},
		},
	}
	for _, s := range []*v1alpha1.Sync{dev, staging} {
		if err := c.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	// envtest runs no controllers: the test plays the Deployment controller
	// and the kubelet. While rollouts succeed, every generation of dev's web
	// is observed and available at once (a new revision changes the
	// Deployment's annotations, which bumps its generation); while they do
	// not, it never becomes available.
	var rollouts atomic.Bool
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			var d appsv1.Deployment
			if !rollouts.Load() || c.Get(ctx, client.ObjectKey{Namespace: "dev", Name: "web"}, &d) != nil || d.Status.ObservedGeneration == d.Generation {
				continue
			}
			d.Status = appsv1.DeploymentStatus{
				ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
				Conditions: []appsv1.DeploymentCondition{
					{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
					{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
				},
			}
			_ = c.Status().Update(ctx, &d) // a conflict is retried at the next tick
		}
	}()
	markAvailable := func() { rollouts.Store(true) }
	cond := func(name, typ string) string { return condition(getSync(t, c, syncNS, name), typ) }
	waitFor := func(what string, check func() error) { t.Helper(); eventually(t, 60*time.Second, what, check) }
	appliedBy := func(name, rev string) func() error {
		return func() error {
			s := getSync(t, c, syncNS, name)
			if s.Status.LastAppliedRevision != rev || !strings.HasPrefix(condition(s, v1alpha1.ConditionReady), "True") {
				return fmt.Errorf("applied %.8s, Ready %s", s.Status.LastAppliedRevision, condition(s, v1alpha1.ConditionReady))
			}
			return nil
		}
	}
	refIs := func(rev string) func() error {
		return func() error {
			if got := repo.Ref(t, "verified/dev"); got != rev {
				return fmt.Errorf("verified/dev = %.8s, want %.8s; dev Ready %s; PublishBlocked %s", got, rev, cond("dev", v1alpha1.ConditionReady), cond("dev", v1alpha1.ConditionPublishBlocked))
			}
			return nil
		}
	}
	pending := func(name, reason string, words ...string) func() error {
		return func() error {
			got := cond(name, v1alpha1.ConditionPromotionPending)
			if !strings.HasPrefix(got, "True/"+reason) {
				return fmt.Errorf("PromotionPending %s", got)
			}
			for _, w := range words {
				if !strings.Contains(got, w) {
					return fmt.Errorf("PromotionPending %s does not name %s", got, w)
				}
			}
			return nil
		}
	}

	t.Run("applied but not healthy is not verified: Ready names the Deployment, nothing is published", func(t *testing.T) {
		waitFor("dev waiting for its Deployment", func() error {
			got := cond("dev", v1alpha1.ConditionReady)
			if !strings.HasPrefix(got, "False/"+v1alpha1.ReasonHealthCheckPending) || !strings.Contains(got, "Deployment dev/web") {
				return fmt.Errorf("Ready %s", got)
			}
			return nil
		})
		never(t, soak+2*time.Second, "verified/dev was published while dev's Deployment was not available",
			func() bool { return repo.Ref(t, "verified/dev") != "" })
		waitFor("staging waits for a first published revision", pending("staging", v1alpha1.ReasonNothingPublished, "branch verified/dev"))
		if got := cond("staging", v1alpha1.ConditionReady); strings.HasPrefix(got, "False/") {
			t.Errorf("staging Ready %s: waiting for a first revision is no failure", got)
		}
	})

	t.Run("R1 verified in dev is published to verified/dev and staging applies its own overlay of it", func(t *testing.T) {
		markAvailable()
		healthy := time.Now()
		waitFor("dev Ready on R1", appliedBy("dev", r1))
		waitFor("verified/dev = R1", refIs(r1))
		moved := time.Now()
		waitFor("staging applied R1", appliedBy("staging", r1))
		ready := time.Now()
		s := getSync(t, c, syncNS, "dev")
		if p := s.Status.Published; p == nil || p.Revision != r1 || p.Ref != "verified/dev" {
			t.Fatalf("dev status.published = %+v", p)
		}
		t.Logf("FIGURE soak end → verified/dev moved (controller, latchkey_publish_latency_seconds): %.3fs; rollout allowed → moved %s (soak %s, health polled every 1s); moved → staging Ready: %s",
			ctl.histogramSum(t, "latchkey_publish_latency_seconds"), moved.Sub(healthy), soak, ready.Sub(moved))
		if p := s.Status.Published; p.PublishedAt.Before(&p.VerifiedAt) {
			t.Errorf("published at %s, before its soak ended at %s", p.PublishedAt, p.VerifiedAt)
		}
		var sec corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: "staging", Name: "db"}, &sec); err != nil || string(sec.Data["password"]) != canaryStaging {
			t.Errorf("staging's Secret db does not hold staging's Vault value (err %v)", err)
		}
		st := getSync(t, c, syncNS, "staging")
		if len(st.Status.Promotions) != 1 || st.Status.Promotions[0].Revision != r1 || st.Status.Promotions[0].From != "branch verified/dev" {
			t.Fatalf("staging status.promotions = %+v", st.Status.Promotions)
		}
		if got := st.Status.Promotions[0].Secrets; len(got) == 0 || !strings.Contains(got[0].Reference, "staging/shop") || got[0].Version != 1 {
			t.Errorf("promotion's verified secrets = %+v, want staging/shop at version 1", got)
		}
		if got := condition(st, v1alpha1.ConditionPromotionPending); !strings.HasPrefix(got, "False/") {
			t.Errorf("staging PromotionPending %s", got)
		}
	})

	approve := func(rev, by string) {
		t.Helper()
		s := getSync(t, c, syncNS, "staging")
		patch := client.MergeFrom(s.DeepCopy())
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[reconcile.AnnotationApprove] = rev
		s.Annotations[reconcile.AnnotationApprovedBy] = by
		if err := c.Patch(ctx, s, patch); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("approval turned on in staging", func(t *testing.T) {
		s := getSync(t, c, syncNS, "staging")
		patch := client.MergeFrom(s.DeepCopy())
		s.Spec.Promotion.Approval = true
		if err := c.Patch(ctx, s, patch); err != nil {
			t.Fatal(err)
		}
		waitFor("staging still on R1 with approval on", appliedBy("staging", r1))
	})

	var r2 string
	t.Run("R2 whose Deployment never becomes available is never published", func(t *testing.T) {
		rollouts.Store(false)
		r2 = repo.Commit(t, "R2", overlay("dev", "web:2"))
		waitFor("dev applied R2", func() error {
			s := getSync(t, c, syncNS, "dev")
			if s.Status.LastAppliedRevision != r2 {
				return fmt.Errorf("applied %.8s", s.Status.LastAppliedRevision)
			}
			return nil
		})
		never(t, soak+2*time.Second, "R2 was published with its Deployment not rolled out",
			func() bool { return repo.Ref(t, "verified/dev") != r1 })
		if got := cond("dev", v1alpha1.ConditionReady); !strings.HasPrefix(got, "False/"+v1alpha1.ReasonHealthCheckPending) {
			t.Errorf("dev Ready %s, want HealthCheckPending", got)
		}
	})

	t.Run("a hand-made push to verified/dev blocks publishing and is never overwritten", func(t *testing.T) {
		manual := repo.PushCommit(t, r1, "verified/dev", "hotfix by hand")
		waitFor("staging holds the unapproved hand-made revision", pending("staging", v1alpha1.ReasonAwaitingApproval, manual))
		markAvailable() // R2 verified now
		waitFor("PublishBlocked", func() error {
			got := cond("dev", v1alpha1.ConditionPublishBlocked)
			if !strings.HasPrefix(got, "True/"+v1alpha1.ReasonRefMoved) || !strings.Contains(got, manual[:12]) {
				return fmt.Errorf("PublishBlocked %s", got)
			}
			return nil
		})
		never(t, 3*time.Second, "verified/dev was overwritten", func() bool { return repo.Ref(t, "verified/dev") != manual })
		if err := appliedBy("staging", r1)(); err != nil {
			t.Errorf("staging moved without approval: %v", err)
		}
		repo.ForcePush(t, r1, "verified/dev") // the person puts it back
		waitFor("verified/dev = R2 once put back", refIs(r2))
		waitFor("PublishBlocked cleared once published", func() error {
			if got := cond("dev", v1alpha1.ConditionPublishBlocked); !strings.HasPrefix(got, "False/") {
				return fmt.Errorf("PublishBlocked %s", got)
			}
			return nil
		})
	})

	t.Run("with approval on, nothing moves until the annotation names the revision", func(t *testing.T) {
		waitFor("staging waits for R2's approval", pending("staging", v1alpha1.ReasonAwaitingApproval, r2))
		never(t, 3*time.Second, "staging moved without approval", func() bool { return appliedBy("staging", r1)() != nil })
		approve(r2, "alice@example.com")
		waitFor("staging applied R2", appliedBy("staging", r2))
		p := getSync(t, c, syncNS, "staging").Status.Promotions[0]
		if p.Revision != r2 || p.ApprovedBy != "alice@example.com" || strings.Join(p.WaitedFor, ",") != "approval" || p.HeldSince == nil {
			t.Errorf("promotion = %+v, want R2 approved by alice, waited for approval", p)
		}
	})

	var r3 string
	t.Run("a key missing in staging's Vault holds R3, named, and staging keeps R2", func(t *testing.T) {
		r3 = repo.Commit(t, "R3", overlay("staging", "web:1", "apiKey"))
		waitFor("verified/dev = R3", refIs(r3))
		approve(r3, "bob@example.com")
		waitFor("staging names the missing key", pending("staging", v1alpha1.ReasonSecretsMissing, "db.yaml:", "secret/data/staging/shop#apiKey"))
		never(t, 3*time.Second, "staging left R2 with a key missing", func() bool { return appliedBy("staging", r2)() != nil })
		if got := cond("staging", v1alpha1.ConditionReady); !strings.HasPrefix(got, "True/") {
			t.Errorf("staging Ready %s while held: a hold is not a failure", got)
		}
		vault.PutKV2(t, "secret", "staging/shop", map[string]any{"password": canaryStaging, "apiKey": canaryKey})
		written := time.Now()
		waitFor("staging applied R3 once the key exists", func() error {
			// Never a failure on the way: the key verified is the key resolved.
			if got := cond("staging", v1alpha1.ConditionReady); !strings.HasPrefix(got, "True/") {
				t.Fatalf("staging Ready %s after the key was written", got)
			}
			return appliedBy("staging", r3)()
		})
		t.Logf("FIGURE key written → staging Ready on R3: %s (interval 1s)", time.Since(written))
		p := getSync(t, c, syncNS, "staging").Status.Promotions[0]
		if p.Revision != r3 || !strings.Contains(strings.Join(p.WaitedFor, ","), "secret/data/staging/shop#apiKey") || p.ApprovedBy != "bob@example.com" {
			t.Errorf("promotion = %+v", p)
		}
	})

	t.Run("an approval of R3 does not promote R4", func(t *testing.T) {
		r4 := repo.Commit(t, "R4", map[string]string{"overlays/staging/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: b\n"})
		waitFor("verified/dev = R4", refIs(r4))
		waitFor("staging waits for R4's own approval", pending("staging", v1alpha1.ReasonAwaitingApproval, r4))
		never(t, 3*time.Second, "R3's approval promoted R4", func() bool { return appliedBy("staging", r3)() != nil })
	})

	t.Run("events and metrics of publish, block, pending and promotion", func(t *testing.T) {
		for _, m := range []string{"latchkey_publishes_total", "latchkey_promotions_total", "latchkey_promotion_holds_total"} {
			if ctl.counter(t, m) == 0 {
				t.Errorf("metric %s is zero", m)
			}
		}
		evs, err := kube.Clientset.EventsV1().Events(syncNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]bool{}
		for _, e := range evs.Items {
			reasons[e.Reason] = true
		}
		for _, want := range []string{v1alpha1.ReasonPublished, v1alpha1.ConditionPublishBlocked, v1alpha1.ConditionPromotionPending, v1alpha1.ReasonPromoted} {
			if !reasons[want] {
				t.Errorf("no %s event (have %v)", want, reasons)
			}
		}
	})

	t.Run("canary: no secret value in events, status, logs or metrics", func(t *testing.T) {
		channels := map[string]string{"logs": logs.String(), "metrics": ctl.metricsText(t)}
		evs, err := kube.Clientset.EventsV1().Events("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(evs)
		channels["events"] = string(b)
		for _, name := range []string{"dev", "staging"} {
			b, _ := json.Marshal(getSync(t, c, syncNS, name))
			channels["Sync "+name] = string(b)
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
}

// TestWaitNamesUnhealthyWorkloads: spec.wait alone makes Ready wait for the
// workloads (HealthCheckPending), then fail after its timeout
// (HealthCheckFailed), naming the Deployment, without re-applying; once
// the Deployment is available, Ready turns True.
func TestWaitNamesUnhealthyWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd and Git")
	}
	t.Parallel() // its components are its own, as a scenario's
	ctx := context.Background()
	kube := testenv.StartKube(t, testenv.WithScheme(v1alpha1.AddToScheme))
	c := kube.Client
	repo := testenv.StartGitServer(t).NewRepo(t, "wait")
	rev := repo.Commit(t, "web", map[string]string{"app/web.yaml": overlay("dev", "web:1")["overlays/dev/web.yaml"]})
	ctl := startController(t, kube, nil)
	kube.CreateNamespace(t, syncNS)
	kube.CreateNamespace(t, "web")
	if err := c.Create(ctx, &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: syncNS, Name: "web"},
		Spec: v1alpha1.SyncSpec{
			Source:          v1alpha1.GitSource{URL: repo.URL, Path: "app", Interval: metav1.Duration{Duration: time.Second}},
			TargetNamespace: "web",
			Wait:            &v1alpha1.Wait{Timeout: &metav1.Duration{Duration: 3 * time.Second}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	ready := func(want string) func() error {
		return func() error {
			s := getSync(t, c, syncNS, "web")
			if got := condition(s, v1alpha1.ConditionReady); !strings.HasPrefix(got, want) || !strings.Contains(got, "Deployment web/web") && !strings.HasPrefix(want, "True") {
				return fmt.Errorf("Ready %s (applied %.8s)", got, s.Status.LastAppliedRevision)
			}
			return nil
		}
	}
	eventually(t, 60*time.Second, "Ready waits for the Deployment", ready("False/"+v1alpha1.ReasonHealthCheckPending))
	applies := ctl.counter(t, "latchkey_applied_objects_total")
	eventually(t, 60*time.Second, "Ready fails after spec.wait.timeout", ready("False/"+v1alpha1.ReasonHealthCheckFailed))
	if got := ctl.counter(t, "latchkey_applied_objects_total"); got != applies {
		t.Errorf("waiting for health re-applied objects (%v → %v)", applies, got)
	}

	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: "web", Name: "web"}, &d); err != nil {
		t.Fatal(err)
	}
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
		},
	}
	if err := c.Status().Update(ctx, &d); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "Ready once the Deployment is available", ready("True/"))
	if s := getSync(t, c, syncNS, "web"); s.Status.LastAppliedRevision != rev {
		t.Errorf("applied %.8s, want %.8s", s.Status.LastAppliedRevision, rev)
	}
}
