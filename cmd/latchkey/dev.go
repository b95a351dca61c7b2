package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/reconcile"
)

func newDevCommand() *cobra.Command {
	var exit bool
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the local demo: control plane, Vault, Git over HTTP and the controller, narrated",
		Long: `Start a throw-away environment on loopback and walk through what Latchkey does:
a local kube-apiserver and etcd (built by 'make tools'), a Vault dev server, a Git repository served
over HTTP holding a reference-only app (a Deployment consuming a Vault-backed Secret and a SealedSecret),
and the controller with tenancy on (the Sync acts as its own ServiceAccount). It then shows a secret
resolved at apply time, a manual edit reverted, a Vault rotation rolling the Deployment, a bad
reference failing closed, a commit that reaches into kube-system refused whole, and promotion: dev
publishing a verified commit that staging then takes, and a commit whose staging secret is missing held
back, with the key named, until the key is written.

Secret values are never printed: only their length and keyed HMAC. Ctrl-C stops every process and
removes every file the demo created.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			return runDev(ctx, cmd.OutOrStdout(), exit)
		},
	}
	cmd.Flags().BoolVar(&exit, "exit", false, "stop and clean up after the walkthrough instead of waiting for Ctrl-C")
	return cmd
}

// narrator prints the demo's story.
type narrator struct{ w io.Writer }

func (n narrator) step(format string, args ...any) { fmt.Fprintf(n.w, "\n==> "+format+"\n", args...) }
func (n narrator) say(format string, args ...any) {
	fmt.Fprintln(n.w, "    "+strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", "\n    "))
}

func runDev(ctx context.Context, out io.Writer, exitAfter bool) error {
	dir, err := os.MkdirTemp("", "latchkey-dev-")
	if err != nil {
		return err
	}
	demo := &devDemo{dir: dir, devDriver: devDriver{ctx: ctx, n: narrator{out}}}
	defer demo.cleanUp()
	scenes := []func() error{
		demo.startStack, demo.startController, demo.firstApply, demo.driftReverted, demo.rotationRolls,
		demo.badReferenceAppliesNothing, demo.escapeRefused,
		func() error { return runPromotionDemo(ctx, demo.devDriver, demo.vault, demo.git) },
	}
	for _, scene := range scenes {
		if err := scene(); err != nil {
			return err
		}
	}
	n := demo.n
	n.step("Demo complete")
	n.say("controller log: %s (no secret value in it)", demo.logFile.Name())
	if exitAfter {
		return nil
	}
	n.say("everything keeps running: try  KUBECONFIG=%s kubectl get syncs -A", filepath.Join(dir, "kubeconfig"))
	n.say("press Ctrl-C to stop everything and remove every file")
	select {
	case <-ctx.Done():
	case err := <-demo.controller:
		if err != nil {
			return fmt.Errorf("the controller stopped: %w", err)
		}
	}
	return nil
}

// devDemo is the walkthrough: the processes it started (stopped in reverse
// order by cleanUp), the app it committed, and a driver acting as a person
// with kubectl would.
type devDemo struct {
	devDriver
	dir      string
	cleanups []func()
	logFile  *os.File
	kube     *components.Kube
	vault    *components.Vault
	git      *components.GitRepo
	app      map[string]string
	rev      string // the app's first commit
}

func (demo *devDemo) cleanUp() {
	n := demo.n
	n.step("Cleaning up")
	for i := len(demo.cleanups) - 1; i >= 0; i-- {
		demo.cleanups[i]()
	}
	if err := os.RemoveAll(demo.dir); err != nil {
		n.say("could not remove %s: %v", demo.dir, err)
		return
	}
	n.say("stopped every process and removed %s", demo.dir)
}

// startStack starts the control plane, Vault (with the app's database
// credentials), sealing keys and the Git repository holding the app.
func (demo *devDemo) startStack() error {
	ctx, n := demo.ctx, demo.n
	logFile, err := os.Create(filepath.Join(demo.dir, "controller.log"))
	if err != nil {
		return err
	}
	demo.logFile = logFile
	demo.cleanups = append(demo.cleanups, func() { logFile.Close() })
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile)))

	n.step("Starting a local control plane (kube-apiserver %s + etcd %s)", components.KubeAPIServerVersion, components.EtcdVersion)
	kube, err := devKube(demo.dir)
	if err != nil {
		return err
	}
	demo.kube, demo.c = kube, kube.Client
	demo.cleanups = append(demo.cleanups, func() { _ = kube.Stop() })
	n.say("API server at %s; kubeconfig: %s", kube.Host(), filepath.Join(demo.dir, "kubeconfig"))

	n.step("Starting a Vault dev server and storing the app's database credentials")
	vault, stopVault, err := devVault(ctx, demo.dir)
	if err != nil {
		return err
	}
	demo.vault = vault
	demo.cleanups = append(demo.cleanups, stopVault)
	if _, err := vault.PutKV2(ctx, "secret", "demo/db", map[string]any{"username": "shop_app", "password": "demo-" + rand.Text()}); err != nil {
		return err
	}
	n.say("Vault at %s; secret/demo/db holds username and password (version 1)", vault.Addr)

	n.step("Creating sealing keys, as the sealed-secrets controller does, and sealing an API token")
	sealed, err := devSealedSecret(ctx, demo.c, "demo", "api-token", "token", "demo-token-"+rand.Text())
	if err != nil {
		return err
	}
	n.say("the SealedSecret holds only ciphertext; the private key stays in kube-system")

	n.step("Serving a Git repository over HTTP with a reference-only app")
	git, stopGit, err := devGit(demo.dir)
	if err != nil {
		return err
	}
	demo.git = git
	demo.cleanups = append(demo.cleanups, stopGit)
	demo.app = devApp(sealed)
	if demo.rev, err = git.Commit("shop app", demo.app); err != nil {
		return err
	}
	n.say("%s at %s; apps/shop/db.yaml reads:", git.URL, demo.rev[:8])
	for _, l := range strings.Split(strings.TrimSpace(demo.app["apps/shop/db.yaml"]), "\n") {
		n.say("  | %s", l)
	}
	return nil
}

// startController runs the controller in this process, with tenancy on as
// the chart installs it, and creates the app's ServiceAccount and Sync.
func (demo *devDemo) startController() error {
	ctx, n, c := demo.ctx, demo.n, demo.c
	n.step("Starting the Latchkey controller and creating a Sync")
	cfg, _ := config.ControllerDefaults(config.MapEnv(nil))
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cfg.Namespace}}); err != nil {
		return err
	}
	ctlCtx, stopCtl := context.WithCancel(ctx)
	ctlDone := make(chan error, 1)
	cfg.MetricsAddr, cfg.HealthAddr, cfg.WebhookAddr = "0", "0", ""
	cfg.MinInterval = time.Second // the demo's Sync polls every 2s: one user, one cluster
	// Tenancy on, as the chart installs it: the Sync acts as its own
	// ServiceAccount; the demo namespace may use the dev Vault's token.
	cfg.Tenancy.Enabled, cfg.Tenancy.VaultDefaultNamespaces = true, append([]string{"demo"}, devPromotionNamespaces...)
	go func() { ctlDone <- runController(ctlCtx, cfg, demo.kube.Config, devVaultConfig(demo.vault)) }()
	demo.controller = ctlDone
	demo.cleanups = append(demo.cleanups, func() {
		stopCtl()
		select {
		case <-ctlDone:
		case <-time.After(30 * time.Second):
		}
	})
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "demo"}}); err != nil {
		return err
	}
	if err := devServiceAccount(ctx, c, "demo", "shop-deployer"); err != nil {
		return err
	}
	n.say("tenancy is on: the Sync acts as ServiceAccount demo/shop-deployer, whose Role covers the app's kinds in demo only")
	return c.Create(ctx, &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "shop"},
		Spec: v1alpha1.SyncSpec{
			ServiceAccountName: "shop-deployer",
			Source:             v1alpha1.GitSource{URL: demo.git.URL, Path: "apps/shop", Interval: metav1.Duration{Duration: 2 * time.Second}},
			Mode:               v1alpha1.ModeEnforce,
			Rotation:           v1alpha1.Rotation{Interval: &metav1.Duration{Duration: 2 * time.Second}},
		},
	})
}

// firstApply waits for the Sync to apply the app and shows where each
// secret came from, never what it is.
func (demo *devDemo) firstApply() error {
	n := demo.n
	s, err := demo.waitSync(60*time.Second, "the first apply", func(s *v1alpha1.Sync) bool {
		return s.Status.LastAppliedRevision == demo.rev && ready(s)
	})
	if err != nil {
		return err
	}
	n.say("Ready: %s", readyMessage(s))
	for _, sv := range s.Status.History[0].Secrets {
		n.say("%s %s ← %s %s (version %d, HMAC %s…)", sv.Object, sv.Field, sv.Source, sv.Reference, sv.Version, sv.HMAC[:12])
	}
	if err := demo.describeSecret("db", "password"); err != nil {
		return err
	}
	return demo.describeSecret("api-token", "token")
}

func (demo *devDemo) driftReverted() error {
	demo.n.step("A person scales the Deployment by hand (kubectl edit): enforce mode reverts it")
	start := time.Now()
	if err := demo.scale(5); err != nil {
		return err
	}
	if err := demo.waitReplicas(1, 30*time.Second); err != nil {
		return err
	}
	demo.n.say("replicas 5 → back to 1 in %s (event DriftHealed)", time.Since(start).Round(time.Millisecond))
	return nil
}

func (demo *devDemo) rotationRolls() error {
	n := demo.n
	n.step("The database password rotates in Vault")
	before, err := demo.podTemplateHMAC()
	if err != nil {
		return err
	}
	version, err := demo.vault.PutKV2(demo.ctx, "secret", "demo/db", map[string]any{"username": "shop_app", "password": "demo-" + rand.Text()})
	if err != nil {
		return err
	}
	n.say("secret/demo/db is now at version %d; the controller polls KV metadata every 2s", version)
	start := time.Now()
	after, err := demo.waitTemplateChange(before, 30*time.Second)
	if err != nil {
		return err
	}
	n.say("Secret demo/db updated and Deployment demo/web rolled in %s:", time.Since(start).Round(time.Millisecond))
	n.say("pod template %s: %s… → %s…", reconcile.AnnotationSecretsHMAC, before[:12], after[:12])
	return nil
}

func (demo *devDemo) badReferenceAppliesNothing() error {
	n, app := demo.n, demo.app
	n.step("A commit references a secret that does not exist: nothing is applied")
	bad := map[string]string{"apps/shop/db.yaml": strings.Replace(app["apps/shop/db.yaml"],
		"<path:secret/data/demo/db#password>", "<path:secret/data/demo/db-typo#password>", 1),
		"apps/shop/settings.yaml": strings.Replace(app["apps/shop/settings.yaml"], "blue", "red", 1)}
	if err := demo.refused("typo in a reference", bad, "the failure"); err != nil {
		return err
	}

	n.step("Reverting the bad commit, as `git revert` would")
	fixRev, err := demo.git.Commit("Revert \"typo in a reference\"", app)
	if err != nil {
		return err
	}
	s, err := demo.waitSync(30*time.Second, "the revert to apply", func(s *v1alpha1.Sync) bool {
		return s.Status.LastAppliedRevision == fixRev && ready(s)
	})
	if err != nil {
		return err
	}
	n.say("Ready again at %s: %s", fixRev[:8], readyMessage(s))
	return nil
}

func (demo *devDemo) escapeRefused() error {
	n := demo.n
	n.step("A commit tries to write into kube-system: tenancy refuses the whole revision")
	escape := map[string]string{"apps/shop/escape.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: escape\n  namespace: kube-system\ndata:\n  owned: \"yes\"\n"}
	for k, v := range demo.app {
		escape[k] = strings.Replace(v, "blue", "green", 1)
	}
	if err := demo.refused("a ConfigMap in kube-system", escape, "the refusal"); err != nil {
		return err
	}
	fixRev, err := demo.git.Revert("HEAD")
	if err != nil {
		return err
	}
	if _, err := demo.waitSync(30*time.Second, "the revert to apply", func(s *v1alpha1.Sync) bool {
		return s.Status.LastAppliedRevision == fixRev && ready(s)
	}); err != nil {
		return err
	}
	n.say("reverted: Ready again at %s", fixRev[:8])
	return nil
}

// refused commits files and shows the Sync failing that revision while
// nothing of it reaches the cluster: the last applied revision stays, and
// the app's ConfigMap keeps its color.
func (demo *devDemo) refused(message string, files map[string]string, what string) error {
	rev, err := demo.git.Commit(message, files)
	if err != nil {
		return err
	}
	s, err := demo.waitSync(30*time.Second, what+" to be reported", func(s *v1alpha1.Sync) bool {
		return s.Status.LastAttemptedRevision == rev && !ready(s)
	})
	if err != nil {
		return err
	}
	demo.n.say("Ready=False: %s", readyMessage(s))
	var cm corev1.ConfigMap
	if err := demo.c.Get(demo.ctx, client.ObjectKey{Namespace: "demo", Name: "settings"}, &cm); err != nil {
		return err
	}
	demo.n.say("nothing of it applied: the last applied revision is still %s; ConfigMap settings still says color=%s",
		s.Status.LastAppliedRevision[:8], cm.Data["color"])
	return nil
}

func ready(s *v1alpha1.Sync) bool {
	return apimeta.IsStatusConditionTrue(s.Status.Conditions, v1alpha1.ConditionReady) && s.Status.ObservedGeneration == s.Generation
}

func readyMessage(s *v1alpha1.Sync) string {
	if c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		return c.Message
	}
	return "(no Ready condition yet)"
}

// devDriver acts on the demo cluster as a person with kubectl would.
type devDriver struct {
	ctx        context.Context
	c          client.Client
	n          narrator
	controller <-chan error // the controller's exit
}

func (d devDriver) waitSync(timeout time.Duration, what string, done func(*v1alpha1.Sync) bool) (*v1alpha1.Sync, error) {
	var s v1alpha1.Sync
	err := d.poll(timeout, what, func() (bool, error) {
		if err := d.c.Get(d.ctx, client.ObjectKey{Namespace: "demo", Name: "shop"}, &s); err != nil {
			return false, err
		}
		return done(&s), nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w; Ready: %s", err, readyMessage(&s))
	}
	return &s, nil
}

func (d devDriver) poll(timeout time.Duration, what string, check func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := check()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: timed out after %s (last error: %v)", what, timeout, err)
		}
		select {
		case <-d.ctx.Done():
			return d.ctx.Err()
		case err := <-d.controller:
			return fmt.Errorf("the controller stopped: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// describeSecret says what the cluster's Secret holds without showing it.
func (d devDriver) describeSecret(name, field string) error {
	var s corev1.Secret
	if err := d.c.Get(d.ctx, client.ObjectKey{Namespace: "demo", Name: name}, &s); err != nil {
		return err
	}
	d.n.say("Secret demo/%s has %s: %d bytes in the cluster (value not shown), nothing in Git", name, field, len(s.Data[field]))
	return nil
}

func (d devDriver) deployment() (*appsv1.Deployment, error) {
	var dep appsv1.Deployment
	err := d.c.Get(d.ctx, client.ObjectKey{Namespace: "demo", Name: "web"}, &dep)
	return &dep, err
}

func (d devDriver) scale(replicas int32) error {
	dep, err := d.deployment()
	if err != nil {
		return err
	}
	dep.Spec.Replicas = ptr.To(replicas)
	return d.c.Update(d.ctx, dep, client.FieldOwner("kubectl-edit"))
}

func (d devDriver) waitReplicas(want int32, timeout time.Duration) error {
	return d.poll(timeout, fmt.Sprintf("replicas back to %d", want), func() (bool, error) {
		dep, err := d.deployment()
		if err != nil {
			return false, err
		}
		return dep.Spec.Replicas != nil && *dep.Spec.Replicas == want, nil
	})
}

func (d devDriver) podTemplateHMAC() (string, error) {
	dep, err := d.deployment()
	if err != nil {
		return "", err
	}
	a := dep.Spec.Template.Annotations[reconcile.AnnotationSecretsHMAC]
	if len(a) < 12 {
		return "", errors.New("the Deployment has no secrets HMAC annotation")
	}
	return a, nil
}

func (d devDriver) waitTemplateChange(before string, timeout time.Duration) (string, error) {
	var after string
	err := d.poll(timeout, "the Deployment to roll", func() (bool, error) {
		a, err := d.podTemplateHMAC()
		after = a
		return err == nil && a != before, err
	})
	return after, err
}
