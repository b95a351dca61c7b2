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
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// KubeFaults runs the Kubernetes faults, c.Trials trials each, on one
// World, and returns one row per fault: kube-apiserver and etcd restarted
// under load, another field manager forcing a field Latchkey applies, a
// target namespace stuck terminating, a CRD removed while its objects are
// in the inventory, and an admission policy refusing one object of the set.
func KubeFaults(tb testing.TB, c Campaign) []Row {
	tb.Helper()
	w := StartWorld(tb, WorldOptions{ControllerArgs: kubeControllerArgs})
	return []Row{
		ControlPlaneRestart(tb, c, w, APIServer),
		ControlPlaneRestart(tb, c, w, Etcd),
		FieldManagerConflict(tb, c, w),
		NamespaceTerminating(tb, c, w),
		CRDRemoved(tb, c, w),
		AdmissionRejects(tb, c, w),
	}
}

// kubeControllerArgs make the World's controller a replica as the chart runs
// it (leader election on), polling Git every second.
var kubeControllerArgs = []string{"--leader-elect=true", "--min-interval=1s"}

// kubeWait bounds every wait of these faults for the controller to act or
// recover; past it the trial fails (the recovery is not measured).
const kubeWait = 120 * time.Second

// configMaps renders ConfigMaps named names whose key "gen" is gen, in no
// namespace (the Sync's target), as one multi-document file.
func configMaps(names []string, gen string) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  gen: %q\n", n, gen)
	}
	return b.String()
}

// kinded turns ConfigMap names into Owned's "ConfigMap/name", sorted.
func kinded(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, "ConfigMap/"+n)
	}
	slices.Sort(out)
	return out
}

// newSync creates namespace ns (if missing) and Sync ns/app following path,
// polling every second and pruning; change adjusts the spec first.
func (w *World) newSync(tb testing.TB, ns, path string, change func(*v1alpha1.SyncSpec)) {
	tb.Helper()
	w.Kube.CreateNamespace(tb, ns)
	s := &v1alpha1.Sync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: v1alpha1.SyncSpec{
			Source: v1alpha1.GitSource{URL: w.Repo.URL, Path: path, Interval: metav1.Duration{Duration: time.Second}},
		},
	}
	if change != nil {
		change(&s.Spec)
	}
	if err := w.Client.Create(context.Background(), s); err != nil {
		tb.Fatalf("creating Sync %s/app: %v", ns, err)
	}
}

// uids reads the UID of every ConfigMap in namespaces labelled as a Sync's,
// by "namespace/name": a ConfigMap deleted and created again has another.
func (w *World) uids(ctx context.Context, namespaces ...string) (map[string]types.UID, error) {
	out := map[string]types.UID{}
	for _, ns := range namespaces {
		var cms corev1.ConfigMapList
		if err := w.Client.List(ctx, &cms, client.InNamespace(ns), client.HasLabels{reconcile.LabelSync}); err != nil {
			return nil, err
		}
		for _, cm := range cms.Items {
			out[ns+"/"+cm.Name] = cm.UID
		}
	}
	return out, nil
}

// checkKept reads the UIDs of the ConfigMaps of namespaces again and fails
// the trial for each one kept says Git still has whose UID changed or that
// is gone since before: pruned, or deleted and re-created.
func (w *World) checkKept(ctx context.Context, tb testing.TB, row *Row, trial int, before map[string]types.UID, kept func(key string) bool, namespaces ...string) {
	tb.Helper()
	after, err := w.uids(ctx, namespaces...)
	if err != nil {
		tb.Fatal(err)
	}
	if lost := wrongPrunes(before, after, kept); len(lost) > 0 {
		row.WrongPrunes += len(lost)
		row.Fail(trial, "deleted while Git kept them: %v", lost)
	}
}

// keepsAll is the kept of checkKept for a trial whose Git keeps every
// ConfigMap it had.
func keepsAll(string) bool { return true }

// wrongPrunes names the ConfigMaps of before that Git still has (kept says
// so) and that are gone or were deleted and created again in after.
func wrongPrunes(before, after map[string]types.UID, kept func(key string) bool) []string {
	var out []string
	for key, uid := range before {
		if kept(key) && after[key] != uid {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// checkOwnedIn compares what Sync syncNS/app owns in objNS (ConfigMaps by
// label and by inventory) with want ("ConfigMap/name"), records orphans
// in row and fails the trial on any difference.
func (w *World) checkOwnedIn(ctx context.Context, row *Row, trial int, syncNS, objNS string, want []string) {
	o, err := w.OwnedIn(ctx, syncNS, objNS)
	if err != nil {
		row.Fail(trial, "%s: reading what the Sync owns: %v", syncNS, err)
		return
	}
	row.Orphans += len(o.Orphans)
	if d := Diff(want, o.Labelled); d != "" {
		row.Fail(trial, "%s: labelled ConfigMaps differ from Git: %s", syncNS, d)
	}
	if d := Diff(want, o.Inventory); d != "" {
		row.Fail(trial, "%s: inventory differs from Git: %s", syncNS, d)
	}
	if len(o.Orphans) > 0 {
		row.Fail(trial, "%s: orphans %v", syncNS, o.Orphans)
	}
}

// waitSync polls Sync ns/app until ok accepts it, and returns it; after
// timeout it returns the last one read and an error quoting its condition.
func (w *World) waitSync(ctx context.Context, ns string, timeout time.Duration, ok func(*v1alpha1.Sync) bool) (*v1alpha1.Sync, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, err := w.Sync(ctx, ns, "app")
		if err == nil && ok(s) {
			return s, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, err
			}
			return s, fmt.Errorf("%s: after %s: %s", ns, timeout, Condition(s))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// failedNaming accepts a Sync whose Ready condition is False with a message
// containing every one of words, in any case.
func failedNaming(words ...string) func(*v1alpha1.Sync) bool {
	return func(s *v1alpha1.Sync) bool {
		c := apimeta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionReady)
		if c == nil || c.Status != metav1.ConditionFalse {
			return false
		}
		for _, word := range words {
			if !strings.Contains(strings.ToLower(c.Message), strings.ToLower(word)) {
				return false
			}
		}
		return true
	}
}

// configMapData reads key gen of ConfigMaps ns/names ("" for a missing one).
func (w *World) configMapGens(ctx context.Context, ns string, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		var cm corev1.ConfigMap
		err := w.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: n}, &cm)
		if client.IgnoreNotFound(err) != nil {
			return nil, err
		}
		out[n] = cm.Data["gen"]
	}
	return out, nil
}

// controllerAlive fails the trial if the controller exited on its own, and
// starts it again as Kubernetes would (the Deployment restarts it): the
// exit is a finding, the rest of the trial still runs.
func (w *World) controllerAlive(tb testing.TB, row *Row, trial int) {
	tb.Helper()
	if why := w.Controller.Exited(); why != "" {
		row.Fail(trial, "the controller exited (Kubernetes would restart it; restarted): %s", firstLine(why))
		if err := w.Controller.Start(); err != nil {
			tb.Fatalf("restarting the controller: %v", err)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
