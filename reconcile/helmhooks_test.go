package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/reconcile/tenancy"
)

// hooksChart is a chart with a Deployment and three hooks: "schema"
// (pre-install/upgrade, weight -1, not depending on the image), "migrate"
// (pre-install/upgrade, weight 1: after schema although its name sorts
// first) and "notify" (post-install/upgrade, deleted once it succeeds).
// migrate is labelled outcome, and failed by the test's Job controller
// when outcome is "fail".
func hooksChart(image, outcome string) map[string]string {
	job := func(name, hook, weight, policy, image, outcome string) string {
		return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  labels: {outcome: %s}
  annotations:
    helm.sh/hook: %s
    helm.sh/hook-weight: %q
%s
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: %q}]
`, name, outcome, hook, weight, policy, image)
	}
	return map[string]string{
		"app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"app/templates/web.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: %q}]}
`, image),
		"app/templates/schema.yaml":  job("schema", "pre-install,pre-upgrade", "-1", "", "schema:1", "ok"),
		"app/templates/migrate.yaml": job("migrate", "pre-install,pre-upgrade", "1", "", image, outcome),
		"app/templates/notify.yaml":  job("notify", "post-install,post-upgrade", "0", "    helm.sh/hook-delete-policy: hook-succeeded", image, "ok"),
	}
}

// jobRun is a Job the test's Job controller saw, with the Deployment's
// image when it finished it.
type jobRun struct {
	name     string
	uid      types.UID
	webImage string // "" while the Deployment does not exist
}

// jobController plays the Job controller envtest lacks: every Job without
// an outcome is completed (or failed, when labelled outcome=fail; left
// running when outcome=hang), in the order the Jobs appear.
type jobController struct {
	mu   sync.Mutex
	runs []jobRun
}

func (jc *jobController) seen() []jobRun {
	jc.mu.Lock()
	defer jc.mu.Unlock()
	return append([]jobRun(nil), jc.runs...)
}

func (jc *jobController) start(t *testing.T, c client.Client, ns string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			var jobs batchv1.JobList
			if c.List(ctx, &jobs, client.InNamespace(ns)) != nil {
				continue
			}
			for i := range jobs.Items {
				j := &jobs.Items[i]
				if len(j.Status.Conditions) > 0 || j.DeletionTimestamp != nil || j.Labels["outcome"] == "hang" {
					continue
				}
				var web appsv1.Deployment
				image := ""
				if c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &web) == nil {
					image = web.Spec.Template.Spec.Containers[0].Image
				}
				now := metav1.Now()
				j.Status.StartTime = &now
				if j.Labels["outcome"] == "fail" {
					j.Status.Failed = 1
					j.Status.Conditions = []batchv1.JobCondition{
						{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
						{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
					}
				} else {
					j.Status.Succeeded = 1
					j.Status.CompletionTime = &now
					j.Status.Conditions = []batchv1.JobCondition{
						{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
						{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
					}
				}
				if err := c.Status().Update(ctx, j); err != nil {
					if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && ctx.Err() == nil {
						t.Logf("job controller: %s: %v", j.Name, err)
					}
					continue
				}
				jc.mu.Lock()
				jc.runs = append(jc.runs, jobRun{name: j.Name, uid: j.UID, webImage: image})
				jc.mu.Unlock()
			}
		}
	}()
}

// names lists the runs as "name@image".
func names(runs []jobRun) string {
	var out []string
	for _, r := range runs {
		out = append(out, r.name+"@"+r.webImage)
	}
	return strings.Join(out, " ")
}

// Helm hooks run as helm install/upgrade runs them: pre hooks by weight,
// each waited for, before the Deployment is created or updated; post hooks
// after it; a changed Job hook recreated (before-hook-creation, the
// default); a hook-succeeded hook deleted; an unchanged hook not run again
// by a full reconciliation; a failed hook fails the Sync, naming it, and
// the Deployment stays as it was.
func TestHelmHooks(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "hooks")
	r1 := sc.repo.Commit(t, "v1", hooksChart("web:1", "ok"))
	startController(t, sc.kube, nil)
	sc.kube.CreateNamespace(t, "app")
	jc := &jobController{}
	jc.start(t, sc.c, "app")
	s := sc.gitSync("app", "app", "app", time.Second)
	s.Spec.Render = v1alpha1.Render{Type: v1alpha1.RenderHelm, Helm: &v1alpha1.HelmRender{Values: &apiextensionsv1.JSON{Raw: []byte(`{}`)}}}
	sc.create(t, s)

	// Install: schema (weight -1), then migrate (weight 1), both before
	// the Deployment exists; notify after it.
	sc.waitApplied(t, "installed", "app", "app", r1)
	if got, want := names(jc.seen()), "schema@ migrate@ notify@web:1"; got != want {
		t.Fatalf("install ran %q, want %q", got, want)
	}
	eventually(t, 10*time.Second, "notify deleted once it succeeded (hook-succeeded)", func() error {
		var j batchv1.Job
		if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "app", Name: "notify"}, &j); !apierrors.IsNotFound(err) {
			return fmt.Errorf("notify: %v", err)
		}
		return nil
	})
	migrate1 := jc.seen()[1].uid
	st := getSync(t, sc.c, "app", "app").Status
	if len(st.Hooks) != 3 {
		t.Errorf("status.hooks = %+v, want the 3 hooks", st.Hooks)
	}
	for _, e := range st.Inventory.Entries {
		if strings.Contains(e.ID, "_Job") {
			t.Errorf("hook %s is in the inventory: it would be pruned as an ordinary object", e.ID)
		}
	}

	// Upgrade: migrate changed (it runs the new image) and is recreated
	// before the Deployment is updated; schema did not change and does
	// not run again.
	r2 := sc.repo.Commit(t, "v2", hooksChart("web:2", "ok"))
	sc.waitApplied(t, "upgraded", "app", "app", r2)
	runs := jc.seen()
	if got, want := names(runs[3:]), "migrate@web:1 notify@web:2"; got != want {
		t.Fatalf("upgrade ran %q, want %q", got, want)
	}
	if runs[3].uid == migrate1 {
		t.Errorf("the changed migrate Job was not recreated (uid %s)", migrate1)
	}
	var web appsv1.Deployment
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "app", Name: "web"}, &web); err != nil || web.Spec.Template.Spec.Containers[0].Image != "web:2" {
		t.Fatalf("Deployment not upgraded: %v", err)
	}

	// A full reconciliation of the same revision runs no hook.
	cur := getSync(t, sc.c, "app", "app")
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[reconcile.AnnotationReconcileRequest] = time.Now().Format(time.RFC3339Nano)
	if err := sc.c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the requested full reconciliation done", func() error {
		if got := condition(getSync(t, sc.c, "app", "app"), v1alpha1.ConditionReady); !strings.Contains(got, "unchanged") {
			return fmt.Errorf("Ready %s", got)
		}
		return nil
	})
	if got := names(jc.seen()[5:]); got != "" {
		t.Errorf("a full reconciliation of the same revision ran hooks again: %s", got)
	}

	// A failed pre-upgrade hook fails the Sync, naming it: the Deployment
	// is not updated.
	r3 := sc.repo.Commit(t, "v3", hooksChart("web:3", "fail"))
	eventually(t, 30*time.Second, "the Sync failed on its hook", func() error {
		s := getSync(t, sc.c, "app", "app")
		got := condition(s, v1alpha1.ConditionReady)
		if s.Status.LastAttemptedRevision != r3 || !strings.HasPrefix(got, "False/"+v1alpha1.ReasonHookFailed) || !strings.Contains(got, "Job app/migrate") {
			return fmt.Errorf("Ready %s", got)
		}
		return nil
	})
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "app", Name: "web"}, &web); err != nil || web.Spec.Template.Spec.Containers[0].Image != "web:2" {
		t.Errorf("the Deployment was updated after its pre-upgrade hook failed: %v %s", err, web.Spec.Template.Spec.Containers[0].Image)
	}
	if s := getSync(t, sc.c, "app", "app"); s.Status.LastAppliedRevision != r2 {
		t.Errorf("applied %.8s after a failed hook, want %.8s", s.Status.LastAppliedRevision, r2)
	}
	for _, r := range jc.seen() {
		if r.name == "notify" && r.webImage == "web:3" {
			t.Errorf("the post-upgrade hook ran after a failed pre-upgrade hook")
		}
	}
}

// Hooks act as the Sync's ServiceAccount, as its set does: every write of
// the controller's own identity in the namespace is refused, so a ConfigMap
// hook that is created, waited for and deleted (hook-succeeded) proves
// impersonation; a Job hook the ServiceAccount may not create is refused
// by the access check, naming it, before anything is applied.
func TestHelmHooksActAsTheServiceAccount(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "hooks-tenant")
	ctlKube, controllerUser := controllerKube(t, sc.kube)
	serviceAccount(t, sc.kube, "team-h", "deployer")
	grantRole(t, sc.kube, "team-h", "deployer", "team-h", "deployer", configMapRules(true))
	forbidControllerWrites(t, sc.kube, "team-h", controllerUser)
	startShardController(t, ctlKube, nil, "", func(o *reconcile.Options) {
		o.Tenancy = tenancy.Policy{Enabled: true}
	})
	chart := map[string]string{
		"app/Chart.yaml":          "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"app/templates/main.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: main}\ndata: {v: {{ .Values.v | quote }}}\n",
		"app/templates/hook.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prepare\n  annotations: {helm.sh/hook: pre-install, helm.sh/hook-delete-policy: hook-succeeded}\ndata: {v: \"1\"}\n",
		"app/values.yaml":         "v: \"1\"\n",
	}
	r1 := sc.repo.Commit(t, "v1", chart)
	s := sc.gitSync("team-h", "app", "app", time.Second)
	s.Spec.ServiceAccountName = "deployer"
	s.Spec.Render = v1alpha1.Render{Type: v1alpha1.RenderHelm}
	sc.create(t, s)
	sc.waitApplied(t, "installed as the ServiceAccount", "team-h", "app", r1)
	if h := getSync(t, sc.c, "team-h", "app").Status.Hooks; len(h) != 1 || h[0].Object != "ConfigMap team-h/prepare" {
		t.Errorf("status.hooks = %+v, want the prepare hook", h)
	}
	var cm corev1.ConfigMap
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team-h", Name: "prepare"}, &cm); !apierrors.IsNotFound(err) {
		t.Errorf("the hook-succeeded hook is still there: %v", err)
	}

	chart["app/values.yaml"] = "v: \"2\"\n"
	chart["app/templates/job.yaml"] = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-upgrade}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: run, image: migrate}]\n"
	r2 := sc.repo.Commit(t, "v2", chart)
	eventually(t, 30*time.Second, "the Job hook refused", func() error {
		s := getSync(t, sc.c, "team-h", "app")
		got := condition(s, v1alpha1.ConditionReady)
		if s.Status.LastAttemptedRevision != r2 || !strings.HasPrefix(got, "False/"+v1alpha1.ReasonForbidden) || !strings.Contains(got, "Job team-h/migrate") {
			return fmt.Errorf("Ready %s", got)
		}
		return nil
	})
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "team-h", Name: "main"}, &cm); err != nil || cm.Data["v"] != "1" {
		t.Errorf("main applied although its hook was refused: %v %v", err, cm.Data)
	}
}

// A hook that does not complete within spec.wait.timeout fails the Sync,
// naming it and the timeout; under hook-failed it is deleted, and the set
// is not applied.
func TestHelmHookTimeout(t *testing.T) {
	ctx := context.Background()
	sc := newScenario(t, "hooks-timeout")
	startController(t, sc.kube, nil)
	sc.kube.CreateNamespace(t, "app")
	(&jobController{}).start(t, sc.c, "app")
	files := hooksChart("web:1", "hang")
	files["app/templates/migrate.yaml"] = strings.Replace(files["app/templates/migrate.yaml"], "helm.sh/hook-weight", "helm.sh/hook-delete-policy: hook-failed\n    helm.sh/hook-weight", 1)
	r1 := sc.repo.Commit(t, "v1", files)
	s := sc.gitSync("app", "app", "app", time.Hour)
	s.Spec.Render = v1alpha1.Render{Type: v1alpha1.RenderHelm}
	s.Spec.Wait = &v1alpha1.Wait{Timeout: &metav1.Duration{Duration: 2 * time.Second}}
	sc.create(t, s)
	var first batchv1.Job
	eventually(t, 30*time.Second, "migrate started", func() error {
		return sc.c.Get(ctx, client.ObjectKey{Namespace: "app", Name: "migrate"}, &first)
	})
	eventually(t, 30*time.Second, "the Sync failed on its hook's timeout", func() error {
		s := getSync(t, sc.c, "app", "app")
		got := condition(s, v1alpha1.ConditionReady)
		if s.Status.LastAttemptedRevision != r1 || !strings.HasPrefix(got, "False/"+v1alpha1.ReasonHookFailed) ||
			!strings.Contains(got, "pre-install hook Job app/migrate") || !strings.Contains(got, "within 2s") {
			return fmt.Errorf("Ready %s", got)
		}
		return nil
	})
	var web appsv1.Deployment
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "app", Name: "web"}, &web); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment was applied although its pre-install hook timed out: %v", err)
	}
	if h := getSync(t, sc.c, "app", "app").Status.Hooks; len(h) != 1 || h[0].Object != "Job app/schema" {
		t.Errorf("status.hooks = %+v, want only schema (migrate never succeeded)", h)
	}
	// The retries create it again: the first one must be gone.
	var j batchv1.Job
	if err := sc.c.Get(ctx, client.ObjectKey{Namespace: "app", Name: "migrate"}, &j); err == nil && j.UID == first.UID {
		t.Errorf("migrate %s is still there after it timed out (hook-failed)", first.UID)
	} else if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}
