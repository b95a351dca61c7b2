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
	restarted := 0
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
		began := time.Now()
		stop(tb)
		time.Sleep(time.Second + time.Duration(rng.IntN(4000))*time.Millisecond)
		start(tb)
		// The outage as the controller saw it: stopping and starting take
		// seconds of their own.
		outage := time.Since(began)
		took, exits, err := w.recoverReady(tb, namespaces, rev)
		switch {
		case exits > 0 && outage < renewDeadline:
			row.Fail(trial, "the controller exited after an outage of %s, within the lease's renew deadline (%s)", outage.Round(time.Millisecond), renewDeadline)
		case exits > 0:
			restarted++
			tb.Logf("%s trial %d: an outage of %s outlasted the lease's renew deadline (%s): the controller gave up leadership and exited, as controller-runtime does; restarted as Kubernetes would", which, trial, outage.Round(time.Millisecond), renewDeadline)
		}
		if err != nil {
			// The next trials would start from a broken state.
			row.Fail(trial, "not recovered within %s (the remaining trials are not run): %v", kubeWait, firstLine(err.Error()))
			return row
		}
		row.Recovery = append(row.Recovery, took)
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
	if restarted > 0 {
		row.Checked += fmt.Sprintf("; %d of %d outages outlasted the lease's renew deadline (%s): the controller exited and was restarted, as Kubernetes restarts it", restarted, c.Trials, renewDeadline)
	}
	return row
}

// renewDeadline is controller-runtime's default leader election renew
// deadline: a leader that cannot renew its lease for that long stops
// leading, and the manager exits.
const renewDeadline = 10 * time.Second

// recoverReady waits until every Sync of namespaces is Ready at rev, and
// starts the controller again each time it exits (as its Deployment
// would). It returns how long that took and how many exits it saw.
func (w *World) recoverReady(tb testing.TB, namespaces []string, rev string) (time.Duration, int, error) {
	tb.Helper()
	began := time.Now()
	exits := 0
	for {
		left := kubeWait - time.Since(began)
		_, err := w.WaitReady(context.Background(), namespaces, rev, left)
		if err == nil {
			return time.Since(began), exits, nil
		}
		if w.Controller.Exited() == "" || exits > 3 {
			return 0, exits, err
		}
		exits++
		if err := w.Controller.Start(); err != nil {
			tb.Fatalf("restarting the controller: %v", err)
		}
	}
}
