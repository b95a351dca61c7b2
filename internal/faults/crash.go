package faults

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// The crash campaign's repository: one path every Sync follows, holding up
// to crashConfigMaps ConfigMaps and one Secret resolved from Vault.
const (
	crashPath       = "crash"
	crashConfigMaps = 20
	crashSecret     = "db"
	crashVaultPath  = "crash/db"
	// crashInterval is every Sync's poll interval: a commit is seen within
	// it, so a kill 0.1-2 s after the commit lands before, during or after
	// the reconciliations it starts.
	crashInterval = time.Second
)

// CrashFault is the row's name in the faults table.
const CrashFault = "controller SIGKILL 0.1-2 s after a commit"

// Crash runs c.Trials trials of the controller killed (SIGKILL) at a random
// moment of a reconciliation, on a World of syncs Syncs (in namespaces
// crash-0 ...) following one path of the repository. Each trial commits a
// seeded random change (up to 20 ConfigMaps added or removed, the others
// edited), kills the controller a seeded 0.1-2 s later, and while it is
// down reverts that commit and toggles a seeded subset of the ConfigMaps it
// left alone (Git moves on during a crash: what the killed reconciliation
// applied is gone from the head the restarted one sees, and only the
// inventory can still prune it), restarts it and waits for every Sync to be
// Ready at the head. It then checks that no ConfigMap Git rendered throughout the trial was
// deleted (a watch records every deletion), that each Sync's inventory and
// labelled objects are exactly what Git renders (no orphan), that the
// applied data is the head's, and that the Vault value (a canary) reached
// the Secret and never the controller log or a Sync's status. Recovery is
// restart → every Sync Ready at the head.
func Crash(tb testing.TB, c Campaign, syncs int) Row {
	tb.Helper()
	row := Row{Fault: CrashFault, Trials: c.Trials,
		Checked: "converged; no orphan; no wrong prune (deletions watched); inventory = Git; data = head; Vault canary only in the Secret"}
	cr := startCrash(tb, syncs)
	r := c.Rand(CrashFault)
	ctx := context.Background()
	toggle := func(names []int) {
		for _, i := range names {
			cr.present[i] = !cr.present[i]
		}
	}
	for trial := 1; trial <= c.Trials; trial++ {
		kept := slices.Clone(cr.present) // rendered by every revision of the trial
		perm := r.Perm(crashConfigMaps)
		first := perm[:1+r.IntN(crashConfigMaps)]
		toggle(first)
		for i, in := range cr.present {
			kept[i] = kept[i] && in
		}
		delay := 100*time.Millisecond + time.Duration(r.Int64N(int64(1900*time.Millisecond)))
		rev := cr.commit(tb)
		time.Sleep(delay)
		if err := cr.w.Controller.Kill(); err != nil {
			tb.Fatal(err)
		}
		progress := cr.progress(ctx, rev)
		// While the controller is down, the commit is reverted (what the
		// killed reconciliation added is gone from the head, so only the
		// inventory can still prune it) and other ConfigMaps change.
		rest := perm[len(first):]
		second := append(slices.Clone(first), rest[:r.IntN(len(rest)+1)]...)
		toggle(second)
		for i, in := range cr.present {
			kept[i] = kept[i] && in
		}
		head := cr.commit(tb)
		tb.Logf("crash trial %d: killed %s after commit %.8s (%d ConfigMaps toggled; %s); reverted with %d more toggled by %.8s while down",
			trial, delay.Round(time.Millisecond), rev, len(first), progress, len(second)-len(first), head)
		if err := cr.w.Controller.Start(); err != nil {
			tb.Fatalf("restarting the controller: %v", err)
		}
		var problems []string
		took, err := cr.w.WaitReady(ctx, cr.namespaces, head, 2*time.Minute+time.Duration(syncs)*3*time.Second)
		if err != nil {
			problems = append(problems, "not converged after restart: "+err.Error())
		} else {
			row.Recovery = append(row.Recovery, took)
		}
		problems = append(problems, cr.check(tb, ctx, &row, kept)...)
		if len(problems) > 0 {
			row.Fail(trial, "%s", strings.Join(problems, "; "))
		}
	}
	return row
}

// crash is the campaign's World and what Git renders now.
type crash struct {
	w          *World
	namespaces []string
	canary     string
	present    []bool // ConfigMap i is in the head revision
	commits    int    // the data every rendered ConfigMap carries
	secretUIDs map[string]types.UID
	deletions  *Deletions
}

func startCrash(tb testing.TB, syncs int) *crash {
	tb.Helper()
	ctx := context.Background()
	// The interval floor (10 s by default) would have the controller see
	// each commit long after the kill: lifted, a commit is seen within
	// crashInterval and the kill lands amid its reconciliations.
	w := StartWorld(tb, WorldOptions{Vault: true, ControllerArgs: []string{"--min-interval=0"}})
	cr := &crash{w: w, canary: "canary-crash-" + rand.Text(), present: make([]bool, crashConfigMaps),
		secretUIDs: map[string]types.UID{}}
	w.Vault.PutKV2(tb, "secret", crashVaultPath, map[string]any{"password": cr.canary})
	for i := range cr.present {
		cr.present[i] = i%2 == 0
	}
	rev := cr.commit(tb)
	for i := range syncs {
		ns := "crash-" + strconv.Itoa(i)
		cr.namespaces = append(cr.namespaces, ns)
		w.Tenant(tb, ns, crashPath, crashInterval)
	}
	if _, err := w.WaitReady(ctx, cr.namespaces, rev, 2*time.Minute+time.Duration(syncs)*3*time.Second); err != nil {
		tb.Fatalf("the crash campaign's World did not converge before any fault: %v", err)
	}
	for _, ns := range cr.namespaces {
		var s corev1.Secret
		if err := w.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: crashSecret}, &s); err != nil {
			tb.Fatalf("reading the resolved Secret: %v", err)
		}
		cr.secretUIDs[ns] = s.UID
	}
	d, err := WatchDeletions(ctx, w.Kube.Clientset)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(d.Stop)
	cr.deletions = d
	return cr
}

func configMapName(i int) string { return fmt.Sprintf("cm-%02d", i+1) }

// names are the ConfigMaps a commit may render, by index.
func (cr *crash) names() []string {
	out := make([]string, len(cr.present))
	for i := range out {
		out[i] = configMapName(i)
	}
	return out
}

// commit writes the ConfigMaps present (each carrying the commit's number)
// and the Secret, removes the others, and pushes one commit.
func (cr *crash) commit(tb testing.TB) string {
	tb.Helper()
	cr.commits++
	files := map[string]string{
		crashPath + "/" + crashSecret + ".yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + crashSecret +
			"\nstringData:\n  password: <path:secret/data/" + crashVaultPath + "#password>\n",
	}
	for i, in := range cr.present {
		name := configMapName(i)
		path := crashPath + "/" + name + ".yaml"
		if in {
			files[path] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  commit: %q\n", name, strconv.Itoa(cr.commits))
			continue
		}
		// Commit stages every change of the working clone, removals too.
		if err := os.Remove(filepath.Join(cr.w.Repo.Work, filepath.FromSlash(path))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			tb.Fatal(err)
		}
	}
	return cr.w.Repo.Commit(tb, fmt.Sprintf("crash commit %d", cr.commits), files)
}

// rendered is what Git renders now, as "Kind/name", sorted.
func (cr *crash) rendered() []string {
	want := []string{"Secret/" + crashSecret}
	for i, in := range cr.present {
		if in {
			want = append(want, "ConfigMap/"+configMapName(i))
		}
	}
	slices.Sort(want)
	return want
}

// progress says where the killed controller had got to: how many Syncs had
// applied the revision and how many were reconciling it.
func (cr *crash) progress(ctx context.Context, rev string) string {
	var list v1alpha1.SyncList
	if err := cr.w.Client.List(ctx, &list); err != nil {
		return err.Error()
	}
	var applied, reconciling int
	for i := range list.Items {
		s := &list.Items[i]
		switch {
		case s.Status.LastAppliedRevision == rev:
			applied++
		case apimeta.IsStatusConditionTrue(s.Status.Conditions, v1alpha1.ConditionReconciling):
			reconciling++
		}
	}
	return fmt.Sprintf("%d of %d Syncs had applied it, %d were reconciling", applied, len(list.Items), reconciling)
}

// check verifies the trial's promises once the Syncs converged (or did
// not); kept are the ConfigMaps every revision of the trial rendered.
func (cr *crash) check(tb testing.TB, ctx context.Context, row *Row, kept []bool) (problems []string) {
	tb.Helper()
	want := cr.rendered()
	if err := cr.deletions.Flush(ctx, 30*time.Second); err != nil {
		tb.Fatal(err)
	}
	tenants := map[string]bool{}
	for _, ns := range cr.namespaces {
		tenants[ns] = true
	}
	var wrong []string
	for _, d := range cr.deletions.Take() {
		ns, name, _ := strings.Cut(d, "/")
		if i := slices.Index(cr.names(), name); tenants[ns] && i >= 0 && kept[i] {
			wrong = append(wrong, d)
		}
	}
	if len(wrong) > 0 {
		row.WrongPrunes += len(wrong)
		problems = append(problems, fmt.Sprintf("deleted while every revision of the trial rendered them: %s", strings.Join(wrong, " ")))
	}
	for _, ns := range cr.namespaces {
		o, err := cr.w.Owned(ctx, ns)
		if err != nil {
			tb.Fatalf("reading what %s/app owns: %v", ns, err)
		}
		if len(o.Orphans) > 0 {
			row.Orphans += len(o.Orphans)
			problems = append(problems, fmt.Sprintf("%s: orphans (labelled, not in the inventory) %s", ns, strings.Join(o.Orphans, " ")))
		}
		if d := Diff(want, o.Inventory); d != "" {
			problems = append(problems, fmt.Sprintf("%s: inventory differs from Git: %s", ns, d))
		}
		if d := Diff(want, o.Labelled); d != "" {
			problems = append(problems, fmt.Sprintf("%s: labelled objects differ from Git: %s", ns, d))
		}
		problems = append(problems, cr.checkData(tb, ctx, row, ns)...)
	}
	return append(problems, cr.checkCanary(tb, ctx)...)
}

// checkData compares the applied ConfigMaps' data with the head's, and the
// Secret with the Vault value; a Secret with a new UID was deleted.
func (cr *crash) checkData(tb testing.TB, ctx context.Context, row *Row, ns string) (problems []string) {
	tb.Helper()
	var cms corev1.ConfigMapList
	if err := cr.w.Client.List(ctx, &cms, client.InNamespace(ns), client.HasLabels{reconcile.LabelSync}); err != nil {
		tb.Fatal(err)
	}
	var stale []string
	for _, cm := range cms.Items {
		if got := cm.Data["commit"]; got != strconv.Itoa(cr.commits) {
			stale = append(stale, fmt.Sprintf("%s (commit %s)", cm.Name, got))
		}
	}
	if len(stale) > 0 {
		problems = append(problems, fmt.Sprintf("%s: ConfigMaps not at the head's data (commit %d): %s", ns, cr.commits, strings.Join(stale, " ")))
	}
	var s corev1.Secret
	if err := cr.w.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: crashSecret}, &s); err != nil {
		problems = append(problems, fmt.Sprintf("%s: reading Secret %s: %v", ns, crashSecret, err))
		return problems
	}
	if string(s.Data["password"]) != cr.canary {
		problems = append(problems, fmt.Sprintf("%s: Secret %s does not hold the Vault value", ns, crashSecret))
	}
	if s.UID != cr.secretUIDs[ns] {
		row.WrongPrunes++
		problems = append(problems, fmt.Sprintf("%s: Secret %s was deleted and re-created while Git still renders it", ns, crashSecret))
		cr.secretUIDs[ns] = s.UID
	}
	return problems
}

// checkCanary looks for the Vault value in the controller's log (both
// processes': the log is appended across restarts) and every Sync's status.
func (cr *crash) checkCanary(tb testing.TB, ctx context.Context) (problems []string) {
	tb.Helper()
	log, err := os.ReadFile(cr.w.Controller.Log)
	if err != nil {
		tb.Fatal(err)
	}
	if strings.Contains(string(log), cr.canary) {
		problems = append(problems, fmt.Sprintf("the Vault value appears in the controller log %s", cr.w.Controller.Log))
	}
	var list v1alpha1.SyncList
	if err := cr.w.Client.List(ctx, &list); err != nil {
		tb.Fatal(err)
	}
	for _, s := range list.Items {
		status, err := json.Marshal(s.Status)
		if err != nil {
			tb.Fatal(err)
		}
		if strings.Contains(string(status), cr.canary) {
			problems = append(problems, fmt.Sprintf("the Vault value appears in the status of Sync %s/%s", s.Namespace, s.Name))
		}
	}
	return problems
}
