package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// tenants is a cluster shared by two teams, as the chart installs it: one
// controller process with tenancy on, each team's Syncs acting as the
// ServiceAccount "deployer" of its namespace (a Role over ConfigMaps and
// Secrets there), each team logging in to Vault with a role bound to that
// ServiceAccount. The controller's own Vault token serves nobody.
type tenants struct {
	kube    *testenv.Kube
	c       client.Client
	vault   *testenv.Vault
	repoA   *testenv.GitRepo
	repoB   *testenv.GitRepo
	canary  [2]string // team-a's and team-b's database passwords
	ctl     *components.Controller
	hook    string // the webhook receiver's URL
	secret  string // its GitLab token
	metrics string // the metrics endpoint
}

const tenantSA = "deployer"

// tenantApp is what team-a's Sync "app" renders when all is well.
func tenantApp() map[string]string {
	return map[string]string{
		"app/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n",
		"app/prunable.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prunable\ndata:\n  kept: until-git-drops-it\n",
		"app/db.yaml":       "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: <path:secret/data/team-a/db#password>\n",
	}
}

func startTenants(t *testing.T) *tenants {
	t.Helper()
	if testing.Short() {
		t.Skip("starts kube-apiserver, etcd, Vault, Git and the controller")
	}
	ctx := context.Background()
	tn := &tenants{kube: testenv.StartKube(t, testenv.WithScheme(v1alpha1.AddToScheme))}
	tn.c = tn.kube.Client
	for _, ns := range []string{"latchkey-system", "team-a", "team-b"} {
		tn.kube.CreateNamespace(t, ns)
	}
	for _, ns := range []string{"team-a", "team-b"} {
		all := []string{"get", "list", "watch", "create", "patch", "delete"}
		for _, o := range []client.Object{
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantSA}},
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantSA}, Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: all},
			}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantSA},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: tenantSA},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: tenantSA}}},
		} {
			if err := tn.c.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}

	tn.vault = testenv.StartVault(t)
	tn.kube.BindClusterRole(t, "system:auth-delegator", "latchkey-system", "vault-reviewer")
	reviewer := tn.kube.ServiceAccountToken(t, "latchkey-system", "vault-reviewer")
	for i, team := range []string{"team-a", "team-b"} {
		tn.canary[i] = "canary-" + strings.ToLower(rand.Text())
		tn.vault.PutKV2(t, "secret", team+"/db", map[string]any{"password": tn.canary[i]})
		tn.vault.WritePolicy(t, team, fmt.Sprintf(`path "secret/data/%[1]s/*" { capabilities = ["read"] }
path "secret/metadata/%[1]s/*" { capabilities = ["read"] }
path "sys/mounts" { capabilities = ["read"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }`, team))
		tn.vault.EnableKubernetesAuth(t, tn.kube.Host(), tn.kube.CACert(), reviewer, team, tenantSA, team, []string{team})
		// The controller asks for tokens with the audience "vault": the
		// role must expect it.
		if _, err := tn.vault.Client().Logical().Write("auth/kubernetes/role/"+team, map[string]any{
			"bound_service_account_names": tenantSA, "bound_service_account_namespaces": team,
			"token_policies": team, "audience": "vault",
		}); err != nil {
			t.Fatal(err)
		}
	}

	git := testenv.StartGitServer(t)
	tn.repoA, tn.repoB = git.NewRepo(t, "team-a"), git.NewRepo(t, "team-b")
	tn.repoA.Commit(t, "app", tenantApp())
	tn.repoA.Commit(t, "other", map[string]string{
		"other/claimed.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: claimed\ndata:\n  owner: other\n",
	})
	tn.repoB.Commit(t, "app", map[string]string{
		"app/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: green\n",
		"app/db.yaml":       "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: <path:secret/data/team-b/db#password>\n",
	})
	tn.startController(t)
	return tn
}

// startController runs `latchkey controller` as the chart runs it, with the
// controller's own Vault token in its environment.
func (tn *tenants) startController(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	tn.secret = "hook-" + rand.Text()
	secretFile := filepath.Join(dir, "webhook-secret")
	if err := os.WriteFile(secretFile, []byte(tn.secret), 0o600); err != nil {
		t.Fatal(err)
	}
	hookAddr, metricsAddr := testenv.FreeLoopbackAddr(t), testenv.FreeLoopbackAddr(t)
	tn.hook, tn.metrics = "http://"+hookAddr+"/hook", "http://"+metricsAddr+"/metrics"
	tn.ctl = testenv.StartController(t, "controller", []string{"controller", "--kubeconfig", tn.kube.WriteKubeconfig(t),
		"--namespace", "latchkey-system", "--metrics-addr", metricsAddr, "--health-addr", "0",
		"--webhook-addr", hookAddr, "--webhook-secret-file", secretFile,
		"--tenancy", "--default-service-account", tenantSA, "--concurrency", "4"},
		[]string{"VAULT_ADDR=" + tn.vault.Addr, "VAULT_TOKEN=" + tn.vault.RootToken, EnvMemoryLimit + "=" + strconv.Itoa(1<<30)})
}

// alive fails the test if the controller process ended.
func (tn *tenants) alive(t *testing.T) {
	t.Helper()
	if why := tn.ctl.Exited(); why != "" {
		t.Fatal(why)
	}
}

// peakRSS is the controller's high-water resident set, in bytes.
func (tn *tenants) peakRSS(t *testing.T) int64 {
	t.Helper()
	return testenv.PeakRSS(t, tn.ctl.Pid())
}

// push tells the controller, as GitLab would, that repo changed.
func (tn *tenants) push(t *testing.T, repo *testenv.GitRepo) {
	t.Helper()
	body := fmt.Sprintf(`{"ref":"refs/heads/main","project":{"git_http_url":%q}}`, repo.URL)
	req, err := http.NewRequest(http.MethodPost, tn.hook, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Gitlab-Event", "Push Hook")
	req.Header.Set("X-Gitlab-Token", tn.secret)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; ; i++ {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if i == 50 {
			t.Fatalf("the webhook receiver did not take the push: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
		req.Body = io.NopCloser(strings.NewReader(body))
	}
}

func (tn *tenants) sync(t *testing.T, ns, name string) *v1alpha1.Sync {
	t.Helper()
	var s v1alpha1.Sync
	if err := tn.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func (tn *tenants) createSync(t *testing.T, ns, name, path string, repo *testenv.GitRepo, role string) {
	t.Helper()
	s := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.SyncSpec{
			Source: v1alpha1.GitSource{URL: repo.URL, Path: path, Interval: metav1.Duration{Duration: time.Hour}},
		},
	}
	if role != "" {
		s.Spec.Vault = &v1alpha1.Vault{Auth: &v1alpha1.VaultAuth{Kubernetes: &v1alpha1.VaultKubernetesAuth{Role: role}}}
	}
	if err := tn.c.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// updateSync changes the Sync as a person would, retrying when the
// controller wrote it meanwhile; it returns the new generation.
func (tn *tenants) updateSync(t *testing.T, ns, name string, change func(*v1alpha1.Sync)) int64 {
	t.Helper()
	var gen int64
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s := tn.sync(t, ns, name)
		change(s)
		if err := tn.c.Update(context.Background(), s); err != nil {
			return err
		}
		gen = s.Generation
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return gen
}

// wait polls the Sync until done says so, the controller staying alive.
func (tn *tenants) wait(t *testing.T, ns, name, what string, done func(*v1alpha1.Sync) bool) *v1alpha1.Sync {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		tn.alive(t)
		s := tn.sync(t, ns, name)
		if done(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s: %s: not within 90s; Ready %s", ns, name, what, readyOf(s))
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func readyOf(s *v1alpha1.Sync) string {
	c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
	if c == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s/%s (generation %d): %s", c.Status, c.Reason, c.ObservedGeneration, c.Message)
}

func isReady(s *v1alpha1.Sync) bool {
	c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == s.Generation
}

// watchReady records every moment the Sync is seen not Ready, from now on.
func (tn *tenants) watchReady(t *testing.T, ns, name string) func() []string {
	var mu sync.Mutex
	var lapses []string
	stop := make(chan struct{})
	var stopped atomic.Bool
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			var s v1alpha1.Sync
			if err := tn.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
				continue
			}
			if !isReady(&s) {
				mu.Lock()
				lapses = append(lapses, time.Now().Format("15:04:05.000")+" "+readyOf(&s))
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		if stopped.CompareAndSwap(false, true) {
			close(stop)
		}
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), lapses...)
	}
}

// exists reports whether the ConfigMap ns/name exists, and its data.
func (tn *tenants) configMap(t *testing.T, ns, name string) (map[string]string, bool) {
	t.Helper()
	var cm corev1.ConfigMap
	err := tn.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cm)
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data, true
}

// attack is one thing team-a's repository or Sync tries.
type attack struct {
	name string
	// files change the app on top of tenantApp() (minus prunable.yaml, so a
	// prune would show); "" removes a file. A marker ConfigMap is added.
	files map[string]string
	// spec changes team-a's Sync instead of its repository.
	spec func(*v1alpha1.Sync)
	// big, when set, adds a file of that many zero bytes.
	big int64
	// reason and says are what Ready must read.
	reason string
	says   []string
}

// TestHostileTenant: team-a tries, one after another, every way issue 9
// lists to escape its namespace, read team-b's secrets, steal the
// controller's credentials or take the controller down. Each is refused
// with a named reason, nothing of that revision is applied or pruned, the
// controller process stays up within its memory limit, and team-b's Sync
// stays Ready throughout. No secret value appears in any output.
func TestHostileTenant(t *testing.T) {
	t.Parallel() // its components and controller process are its own
	tn := startTenants(t)
	tn.createSync(t, "team-b", "app", "app", tn.repoB, "team-b")
	tn.createSync(t, "team-a", "other", "other", tn.repoA, "")
	tn.createSync(t, "team-a", "app", "app", tn.repoA, "team-a")
	for _, s := range [][2]string{{"team-b", "app"}, {"team-a", "other"}, {"team-a", "app"}} {
		tn.wait(t, s[0], s[1], "first apply", isReady)
	}
	lapses := tn.watchReady(t, "team-b", "app")
	goodRev := tn.sync(t, "team-a", "app").Status.LastAppliedRevision

	// A listener posing as a Vault server: it must never be reached, or
	// never receive a credential.
	var trap trapListener
	trapAddr := trap.start(t)

	attacks := []attack{
		{name: "an object in kube-system", reason: v1alpha1.ReasonForbidden, says: []string{"kube-system"},
			files: map[string]string{"app/escape.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: escape\n  namespace: kube-system\ndata:\n  x: y\n"}},
		{name: "a ClusterRoleBinding to cluster-admin", reason: v1alpha1.ReasonForbidden, says: []string{"ClusterRoleBinding"},
			files: map[string]string{"app/crb.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: team-a-is-admin
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: deployer, namespace: team-a}]
`}},
		{name: "an object another Sync owns", reason: v1alpha1.ReasonForbidden, says: []string{"claimed", "other"},
			files: map[string]string{"app/claimed.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: claimed\ndata:\n  owner: app\n"}},
		{name: "a kind its ServiceAccount may not write", reason: v1alpha1.ReasonForbidden, says: []string{"deployer", "serviceaccounts"},
			files: map[string]string{"app/sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sneaky\n"}},
		{name: "team-b's Vault path", reason: v1alpha1.ReasonResolveFailed, says: []string{"secret/data/team-b/db#password"},
			files: map[string]string{"app/steal.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: steal\nstringData:\n  password: <path:secret/data/team-b/db#password>\n"}},
		{name: "team-b's Vault role", reason: v1alpha1.ReasonResolveFailed, says: []string{"team-b"},
			spec: func(s *v1alpha1.Sync) { s.Spec.Vault.Auth.Kubernetes.Role = "team-b" }},
		{name: "a Vault address of its choosing", reason: v1alpha1.ReasonConfigInvalid, says: []string{trapAddr},
			spec: func(s *v1alpha1.Sync) { s.Spec.Vault.Address = "http://" + trapAddr }},
		{name: "the controller's Vault credentials", reason: v1alpha1.ReasonResolveFailed, says: []string{"--vault-default-namespaces"},
			spec: func(s *v1alpha1.Sync) { s.Spec.Vault = nil }},
		{name: "another sealing keys namespace", reason: v1alpha1.ReasonConfigInvalid, says: []string{"kube-public"},
			spec: func(s *v1alpha1.Sync) { s.Spec.SealedSecrets = &v1alpha1.SealedSecrets{KeysNamespace: "kube-public"} }},
		{name: "a reference in a label", reason: v1alpha1.ReasonValueMisplaced, says: []string{"metadata"},
			files: map[string]string{"app/label.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: label\n  labels:\n    leak: <path:secret/data/team-a/db#password>\nstringData:\n  x: \"z\"\n"}},
		{name: "a value in a ConfigMap", reason: v1alpha1.ReasonValueMisplaced, says: []string{"allowValuesOutsideSecrets"},
			files: map[string]string{"app/cm-value.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-value\ndata:\n  password: <path:secret/data/team-a/db#password>\n"}},
		{name: "an indent bomb", reason: v1alpha1.ReasonResolveFailed, says: []string{"indent"},
			files: map[string]string{"app/db.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: <path:secret/data/team-a/db#password | indent 9000000000000>\n"}},
		{name: "a Helm repeat bomb", reason: v1alpha1.ReasonRenderLimitExceeded, says: []string{"memory limit"},
			files: helmBomb()},
		{name: "a 1 GB blob", reason: v1alpha1.ReasonFetchFailed, says: []string{"limit"},
			big: 1 << 30},
	}
	for i, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			marker := fmt.Sprintf("marker-%d", i)
			var rev string
			var gen int64
			if a.spec != nil {
				gen = tn.updateSync(t, "team-a", "app", a.spec)
			} else {
				markerFile := "app/" + marker + ".yaml"
				if _, chart := a.files["app/Chart.yaml"]; chart {
					markerFile = "app/templates/" + marker + ".yaml"
				}
				files := map[string]string{markerFile: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + marker + "\n"}
				for k, v := range a.files {
					files[k] = v
				}
				rev = tn.commitAttack(t, a.name, files, a.big)
				tn.push(t, tn.repoA)
			}
			s := tn.wait(t, "team-a", "app", "the refusal", func(s *v1alpha1.Sync) bool {
				c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
				if c == nil || c.Status != metav1.ConditionFalse {
					return false
				}
				if rev != "" {
					return s.Status.LastAttemptedRevision == rev
				}
				return c.ObservedGeneration >= gen
			})
			msg := readyOf(s)
			t.Logf("refused: %s", msg)
			c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
			if a.reason != "" && c.Reason != a.reason {
				t.Errorf("reason %s, want %s", c.Reason, a.reason)
			}
			for _, w := range a.says {
				if !strings.Contains(c.Message, w) {
					t.Errorf("the message does not name %q", w)
				}
			}
			if s.Status.LastAppliedRevision != goodRev {
				t.Errorf("last applied revision moved to %s", s.Status.LastAppliedRevision)
			}
			if _, ok := tn.configMap(t, "team-a", marker); ok {
				t.Errorf("ConfigMap %s of the refused revision was applied", marker)
			}
			if _, ok := tn.configMap(t, "team-a", "prunable"); !ok {
				t.Errorf("ConfigMap prunable was pruned by a refused revision")
			}
			if d, _ := tn.configMap(t, "team-a", "claimed"); d["owner"] != "other" {
				t.Errorf("the Sync other's ConfigMap claimed was taken over: %v", d)
			}
			if _, ok := tn.configMap(t, "kube-system", "escape"); ok {
				t.Errorf("ConfigMap escape reached kube-system")
			}
			tn.alive(t)
			// The chart's limit is 1Gi, of which the render workers may take
			// 2 × 256Mi: the controller's own share is 512Mi.
			if rss := tn.peakRSS(t); rss > 512<<20 {
				t.Errorf("controller peak RSS %d MiB, over its 512Mi share of the chart's limit", rss>>20)
			}
			if a.spec != nil {
				tn.updateSync(t, "team-a", "app", func(s *v1alpha1.Sync) {
					s.Spec.Vault = &v1alpha1.Vault{Auth: &v1alpha1.VaultAuth{Kubernetes: &v1alpha1.VaultKubernetesAuth{Role: "team-a"}}}
					s.Spec.SealedSecrets = nil
				})
			}
		})
	}

	t.Run("an interval of 1ms", func(t *testing.T) {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			s := tn.sync(t, "team-a", "app")
			s.Spec.Source.Interval = metav1.Duration{Duration: time.Millisecond}
			return tn.c.Update(context.Background(), s)
		})
		if err == nil || !strings.Contains(err.Error(), "interval") {
			t.Fatalf("the API server took interval 1ms: %v", err)
		}
	})

	t.Run("back to the good revision", func(t *testing.T) {
		// CommitZeros left the blob in the index only (skip-worktree).
		if out, err := exec.Command("git", "-C", tn.repoA.Work, "update-index", "--force-remove", "app/blob.bin").CombinedOutput(); err != nil {
			t.Fatalf("dropping the blob from the index: %v: %s", err, out)
		}
		files := tenantApp()
		rev := tn.commitAttack(t, "revert to the app", files, 0)
		tn.push(t, tn.repoA)
		tn.wait(t, "team-a", "app", "Ready again", func(s *v1alpha1.Sync) bool {
			return isReady(s) && s.Status.LastAppliedRevision == rev
		})
	})

	if l := lapses(); len(l) > 0 {
		t.Errorf("team-b's Sync was not Ready %d time(s) during the attacks, first: %s", len(l), l[0])
	}
	if got := trap.received(); got != "" {
		t.Errorf("the Vault address a Sync chose received: %q", got)
	}
	t.Logf("controller peak RSS over the whole run: %d MiB", tn.peakRSS(t)>>20)
	tn.noCanary(t)
}

// commitAttack makes team-a's app directory exactly tenantApp() without
// prunable.yaml, changed by files, plus a zero-filled file of big bytes.
func (tn *tenants) commitAttack(t *testing.T, msg string, files map[string]string, big int64) string {
	t.Helper()
	work := tn.repoA.Work
	if err := os.RemoveAll(filepath.Join(work, "app")); err != nil {
		t.Fatal(err)
	}
	app := tenantApp()
	if msg != "revert to the app" {
		delete(app, "app/prunable.yaml")
	}
	for k, v := range files {
		if v == "" {
			delete(app, k)
			continue
		}
		app[k] = v
	}
	rev := tn.repoA.Commit(t, msg, app)
	if big > 0 {
		// Hashed straight into the served repository: about 1 MB packed.
		rev = tn.repoA.CommitZeros(t, "app/blob.bin", big)
	}
	return rev
}

// helmBomb is a chart whose one template renders 300 MB.
func helmBomb() map[string]string {
	files := map[string]string{
		"app/settings.yaml": "", "app/db.yaml": "",
		"app/Chart.yaml":              "apiVersion: v2\nname: bomb\nversion: 0.1.0\n",
		"app/templates/settings.yaml": tenantApp()["app/settings.yaml"],
		"app/templates/bomb.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  x: {{ repeat 300000000 \"A\" | quote }}\n",
	}
	return files
}

// noCanary searches every output of the whole run for either team's
// secret value: the controller's log, its metrics, events and statuses.
func (tn *tenants) noCanary(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var outputs []struct{ name, text string }
	add := func(name, text string) { outputs = append(outputs, struct{ name, text string }{name, text}) }
	logText, err := os.ReadFile(tn.ctl.Log)
	if err != nil {
		t.Fatal(err)
	}
	add("controller log", string(logText))
	if resp, err := http.Get(tn.metrics); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		add("metrics", string(b))
	} else {
		t.Errorf("reading the metrics: %v", err)
	}
	var events corev1.EventList
	if err := tn.c.List(ctx, &events); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		add("event "+e.Name, e.Message)
	}
	var syncs v1alpha1.SyncList
	if err := tn.c.List(ctx, &syncs); err != nil {
		t.Fatal(err)
	}
	for _, s := range syncs.Items {
		add("status of "+s.Namespace+"/"+s.Name, fmt.Sprintf("%+v", s.Status))
	}
	for _, canary := range tn.canary {
		forms := []string{canary, base64.StdEncoding.EncodeToString([]byte(canary)), canary[7:19]}
		for _, o := range outputs {
			for _, f := range forms {
				if strings.Contains(o.text, f) {
					t.Errorf("%s holds a secret value (form %q)", o.name, f)
				}
			}
		}
	}
}

// trapListener accepts connections and records every byte sent to it.
type trapListener struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *trapListener) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				b, _ := io.ReadAll(io.LimitReader(conn, 1<<20))
				l.mu.Lock()
				fmt.Fprintf(&l.buf, "[connection] %s", b)
				l.mu.Unlock()
			}()
		}
	}()
	return ln.Addr().String()
}

func (l *trapListener) received() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
