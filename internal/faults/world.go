package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
	"github.com/latchkey-dev/latchkey/reconcile/inventory"
)

// ControllerNamespace is where the controller holds its leader lease.
const ControllerNamespace = "latchkey-system"

// WorldOptions says what StartWorld starts besides the control plane and the
// Git server.
type WorldOptions struct {
	// Vault starts a dev-mode Vault and gives the controller its root token
	// (VAULT_ADDR, VAULT_TOKEN), unless VaultAddr points it elsewhere.
	Vault bool
	// VaultFile makes that Vault durable (file storage, a fixed address, the
	// unseal key kept by the harness), so it can be restarted and sealed.
	VaultFile bool
	// VaultAddr, when set, is the Vault address the controller is given
	// instead of the server's (a Proxy in front of it).
	VaultAddr string
	// VaultToken, when set, is the token the controller is given instead of
	// the root token (a limited one a campaign can revoke).
	VaultToken string
	// ControllerEnv is added to the controller's environment (e.g.
	// VAULT_CLIENT_TIMEOUT, VAULT_MAX_RETRIES).
	ControllerEnv []string
	// ControllerArgs are added to `latchkey controller --kubeconfig ...`.
	ControllerArgs []string
	// NoController leaves the controller to the caller (StartController).
	NoController bool
}

// World is the real stack one fault campaign runs on: kube-apiserver and
// etcd with the Sync CRD, a Git server with one repository, optionally
// Vault, and `latchkey controller` as its own process.
type World struct {
	Kube       *testenv.Kube
	Client     client.Client
	Git        *testenv.GitServer
	Repo       *testenv.GitRepo
	Vault      *testenv.Vault
	Controller *components.Controller

	opts       WorldOptions
	kubeconfig string
}

// StartWorld starts the stack; everything stops when the test ends.
func StartWorld(tb testing.TB, opts WorldOptions) *World {
	tb.Helper()
	w := &World{opts: opts, Kube: testenv.StartKube(tb, testenv.WithScheme(v1alpha1.AddToScheme))}
	w.Client = w.Kube.Client
	w.Kube.CreateNamespace(tb, ControllerNamespace)
	w.kubeconfig = w.Kube.WriteKubeconfig(tb)
	w.Git = testenv.StartGitServer(tb)
	w.Repo = w.Git.NewRepo(tb, "fleet")
	if opts.Vault {
		var vopts []testenv.VaultOption
		if opts.VaultFile {
			vopts = append(vopts, testenv.WithFileStorage())
		}
		w.Vault = testenv.StartVault(tb, vopts...)
	}
	if !opts.NoController {
		w.Controller = w.StartController(tb, "controller")
	}
	return w
}

// StartController starts one more `latchkey controller` process (a replica,
// a shard) named name, with extra arguments after the World's; the World's
// Controller is the first one.
func (w *World) StartController(tb testing.TB, name string, extra ...string) *components.Controller {
	tb.Helper()
	args := append([]string{"controller", "--kubeconfig", w.kubeconfig, "--namespace", ControllerNamespace,
		"--metrics-addr", "0", "--health-addr", "0", "--webhook-addr=", "--concurrency", "4"},
		w.opts.ControllerArgs...)
	args = append(args, extra...)
	env := slices.Clone(w.opts.ControllerEnv)
	if w.Vault != nil {
		addr := w.Vault.Addr
		if w.opts.VaultAddr != "" {
			addr = w.opts.VaultAddr
		}
		token := w.Vault.RootToken
		if w.opts.VaultToken != "" {
			token = w.opts.VaultToken
		}
		env = append(env, "VAULT_ADDR="+addr, "VAULT_TOKEN="+token)
	}
	return testenv.StartController(tb, name, args, env)
}

// Tenant creates namespace ns with a Sync named "app" following path of the
// World's repository, polling it every interval and pruning.
func (w *World) Tenant(tb testing.TB, ns, path string, interval time.Duration) {
	tb.Helper()
	w.TenantAt(tb, ns, w.Repo.URL, path, interval)
}

// TenantAt is Tenant with the Sync following repoURL (the World's
// repository through a Proxy, or over SSH), changed by each of mods before
// it is created (a secretRef, a ref).
func (w *World) TenantAt(tb testing.TB, ns, repoURL, path string, interval time.Duration, mods ...func(*v1alpha1.Sync)) {
	tb.Helper()
	w.Kube.CreateNamespace(tb, ns)
	s := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: v1alpha1.SyncSpec{
			Source: v1alpha1.GitSource{URL: repoURL, Path: path, Interval: metav1.Duration{Duration: interval}},
		},
	}
	for _, m := range mods {
		m(s)
	}
	if err := w.Client.Create(context.Background(), s); err != nil {
		tb.Fatalf("creating Sync %s/app: %v", ns, err)
	}
}

// Sync reads Sync ns/name.
func (w *World) Sync(ctx context.Context, ns, name string) (*v1alpha1.Sync, error) {
	var s v1alpha1.Sync
	if err := w.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// UpdateSync changes Sync ns/name as a person would, retrying on conflicts.
func (w *World) UpdateSync(ctx context.Context, ns, name string, change func(*v1alpha1.Sync)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := w.Sync(ctx, ns, name)
		if err != nil {
			return err
		}
		change(s)
		return w.Client.Update(ctx, s)
	})
}

// ReadyAt says whether the Sync is Ready for its generation at revision.
func ReadyAt(s *v1alpha1.Sync, revision string) bool {
	c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == s.Generation &&
		s.Status.LastAppliedRevision == revision
}

// Condition renders the Sync's Ready condition for a failure message.
func Condition(s *v1alpha1.Sync) string {
	c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
	if c == nil {
		return "Ready <none>"
	}
	return fmt.Sprintf("Ready %s/%s (generation %d of %d, revision %s): %s",
		c.Status, c.Reason, c.ObservedGeneration, s.Generation, s.Status.LastAppliedRevision, c.Message)
}

// WaitReady polls until every Sync named "app" in namespaces is Ready at
// revision, and returns how long that took; it fails (returns an error
// naming the laggards) after timeout or if the controller dies.
func (w *World) WaitReady(ctx context.Context, namespaces []string, revision string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	pending := slices.Clone(namespaces)
	for {
		var still []string
		var last string
		for _, ns := range pending {
			s, err := w.Sync(ctx, ns, "app")
			if err != nil {
				return 0, err
			}
			if !ReadyAt(s, revision) {
				still, last = append(still, ns), ns+": "+Condition(s)
			}
		}
		pending = still
		if len(pending) == 0 {
			return time.Since(start), nil
		}
		if w.Controller != nil && w.Controller.Exited() != "" {
			return 0, fmt.Errorf("%s", w.Controller.Exited())
		}
		if time.Since(start) > timeout {
			return 0, fmt.Errorf("%d Syncs not Ready at %.12s within %s, e.g. %s", len(pending), revision, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Ownership is what a Sync owns in its namespace, seen three ways.
type Ownership struct {
	// Labelled are the ConfigMaps and Secrets labelled as the Sync's.
	Labelled []string
	// Inventory is the Sync's status.inventory (ConfigMaps and Secrets).
	Inventory []string
	// Orphans are labelled but not in the inventory: nothing will ever
	// prune them.
	Orphans []string
}

// Owned reads what Sync ns/app owns in its own namespace: ConfigMaps and
// Secrets by label and by inventory, each as "Kind/name", sorted.
func (w *World) Owned(ctx context.Context, ns string) (Ownership, error) {
	return w.OwnedIn(ctx, ns, ns)
}

// OwnedIn is Owned for the objects Sync syncNS/app keeps in namespace objNS
// (its own, or spec.targetNamespace): those labelled as that Sync's there,
// and the entries of its inventory there.
func (w *World) OwnedIn(ctx context.Context, syncNS, objNS string) (Ownership, error) {
	var o Ownership
	sel := client.MatchingLabels{reconcile.LabelSync: "app", reconcile.LabelSyncNamespace: syncNS}
	var cms corev1.ConfigMapList
	if err := w.Client.List(ctx, &cms, client.InNamespace(objNS), sel); err != nil {
		return o, err
	}
	for _, cm := range cms.Items {
		o.Labelled = append(o.Labelled, "ConfigMap/"+cm.Name)
	}
	var secrets corev1.SecretList
	if err := w.Client.List(ctx, &secrets, client.InNamespace(objNS), sel); err != nil {
		return o, err
	}
	for _, s := range secrets.Items {
		o.Labelled = append(o.Labelled, "Secret/"+s.Name)
	}
	s, err := w.Sync(ctx, syncNS, "app")
	if err != nil {
		return o, err
	}
	if s.Status.Inventory != nil {
		for _, e := range s.Status.Inventory.Entries {
			obj, err := inventory.Object(e)
			if err != nil {
				return o, err
			}
			if k := obj.GetKind(); (k == "ConfigMap" || k == "Secret") && obj.GetNamespace() == objNS {
				o.Inventory = append(o.Inventory, k+"/"+obj.GetName())
			}
		}
	}
	slices.Sort(o.Labelled)
	slices.Sort(o.Inventory)
	for _, l := range o.Labelled {
		if !slices.Contains(o.Inventory, l) {
			o.Orphans = append(o.Orphans, l)
		}
	}
	return o, nil
}

// Diff names what differs between want and got (both sorted "Kind/name"
// lists): "missing X; extra Y", or "" when they are equal.
func Diff(want, got []string) string {
	var missing, extra []string
	for _, x := range want {
		if !slices.Contains(got, x) {
			missing = append(missing, x)
		}
	}
	for _, x := range got {
		if !slices.Contains(want, x) {
			extra = append(extra, x)
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, " "))
	}
	if len(extra) > 0 {
		parts = append(parts, "extra "+strings.Join(extra, " "))
	}
	return strings.Join(parts, "; ")
}
