package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// ControlPlaneProcess is the process ControlPlaneRestart stops.
type ControlPlaneProcess string

// The control plane's processes.
const (
	APIServer ControlPlaneProcess = "kube-apiserver"
	Etcd      ControlPlaneProcess = "etcd"
)

// ControlPlaneRestart stops kube-apiserver or etcd 0-1.5 s after a commit
// that three Syncs must apply (ConfigMaps added, changed and removed), keeps
// it down 1-5 s (within the leader lease's renew deadline, 10 s: a longer
// outage makes the leader step down and exit, by design) and starts it again
// on the same address and data. Each trial checks that the controller kept
// running, and after recovery that every Sync is Ready at the commit, that
// no ConfigMap Git still has was deleted (pruned or recreated), and that
// labels and inventory equal Git with no orphan. No condition can name the
// cause: nothing can be written while the control plane is down.
func ControlPlaneRestart(tb testing.TB, c Campaign, w *World, which ControlPlaneProcess) Row {
	tb.Helper()
	row := Row{
		Fault:   fmt.Sprintf("%s stopped 1-5 s, 0-1.5 s after a commit (3 Syncs)", which),
		Checked: "controller alive; converged; no ConfigMap Git keeps deleted; labels = inventory = Git; no orphan",
		Trials:  c.Trials,
	}
	rng := c.Rand(string(which) + " restart")
	ctx := context.Background()
	prefix := "kr-" + string(which)
	var namespaces []string
	all := []string{"cm-0", "cm-1", "cm-2", "cm-3", "cm-4", "cm-5", "cm-6", "cm-7"}
	names := all[:4]
	rev := w.Repo.Commit(tb, prefix+": first", map[string]string{prefix + "/objects.yaml": configMaps(names, "0")})
	for i := range 3 {
		ns := fmt.Sprintf("%s-%d", prefix, i)
		namespaces = append(namespaces, ns)
		w.newSync(tb, ns, prefix, nil)
	}
	if _, err := w.WaitReady(ctx, namespaces, rev, kubeWait); err != nil {
		tb.Fatalf("%s: the fleet did not converge before the fault: %v", prefix, err)
	}
	stop, start := w.Kube.StopAPIServer, w.Kube.StartAPIServer
	if which == Etcd {
		stop, start = w.Kube.StopEtcd, w.Kube.StartEtcd
	}
	for trial := range c.Trials {
		before, err := w.uids(ctx, namespaces...)
		if err != nil {
			tb.Fatalf("%s: %v", prefix, err)
		}
		// 3-7 of the eight names, so each commit adds, keeps and removes.
		next := slices.Clone(all)
		rng.Shuffle(len(next), func(i, j int) { next[i], next[j] = next[j], next[i] })
		next = next[:3+rng.IntN(5)]
		slices.Sort(next)
		rev = w.Repo.Commit(tb, fmt.Sprintf("%s: trial %d", prefix, trial),
			map[string]string{prefix + "/objects.yaml": configMaps(next, fmt.Sprint(trial+1))})
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		stop(tb)
		time.Sleep(time.Second + time.Duration(rng.IntN(4000))*time.Millisecond)
		start(tb)
		w.controllerAlive(tb, &row, trial)
		took, err := w.WaitReady(ctx, namespaces, rev, kubeWait)
		if err != nil {
			row.Fail(trial, "not recovered: %v", firstLine(err.Error()))
			w.controllerAlive(tb, &row, trial)
			if _, err := w.WaitReady(ctx, namespaces, rev, kubeWait); err != nil {
				tb.Fatalf("%s: the fleet never converged after trial %d: %v", prefix, trial, err)
			}
		} else {
			row.Recovery = append(row.Recovery, took)
		}
		w.controllerAlive(tb, &row, trial)
		after, err := w.uids(ctx, namespaces...)
		if err != nil {
			tb.Fatalf("%s: %v", prefix, err)
		}
		if lost := wrongPrunes(before, after, func(key string) bool {
			_, name, _ := strings.Cut(key, "/")
			return slices.Contains(next, name)
		}); len(lost) > 0 {
			row.WrongPrunes += len(lost)
			row.Fail(trial, "deleted while Git kept them: %v", lost)
		}
		for _, ns := range namespaces {
			w.checkOwnership(ctx, &row, trial, ns, ns, kinded(next))
		}
	}
	return row
}
