package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
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
// it down 1-5 s and starts it again on the same address and data; the
// outage the controller sees runs from its last lease renewal to the API
// server storing writes again, so it also holds the stop and the start
// (seconds each). A leader that cannot renew its lease for the renew
// deadline (10 s, controller-runtime's default) stops leading and exits, by
// design: that is counted, and the controller started again as its
// Deployment would; an exit after an outage leader election cannot explain
// fails the trial. Each trial then checks that every Sync is Ready at the
// commit (recovery: from the API server storing writes again to that), that the controller renewed its lease since (it will
// not exit later for this outage), that no ConfigMap Git still has was
// deleted (pruned or recreated), and that labels and inventory equal Git
// with no orphan. No condition can name the cause: nothing can be written
// while the control plane is down.
func ControlPlaneRestart(tb testing.TB, c Campaign, w *World, which ControlPlaneProcess) Row {
	tb.Helper()
	row := Row{
		Fault:   fmt.Sprintf("%s stopped 1-5 s, 0-1.5 s after a commit (3 Syncs)", which),
		Checked: "controller exits only past the lease's renew deadline; converged; lease renewed; no ConfigMap Git keeps deleted; labels = inventory = Git; no orphan",
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
		lastRenew, err := w.leaseRenewed(ctx)
		if err != nil {
			tb.Fatalf("%s: %v", prefix, err)
		}
		stop(tb)
		time.Sleep(time.Second + time.Duration(rng.IntN(4000))*time.Millisecond)
		start(tb)
		// The outage as the leader saw it: from its last renewal to the
		// API server storing writes again (stopping and starting take
		// seconds of their own, and kube-apiserver reconnects to etcd).
		back, err := w.writable(ctx)
		if err != nil {
			tb.Fatalf("%s: %v", prefix, err)
		}
		outage := back.Sub(lastRenew)
		took, exits, err := w.recoverReady(tb, namespaces, rev, back)
		switch {
		case exits > 0 && outage < renewDeadline-leaseRequestTimeout:
			row.Fail(trial, "the controller exited after an outage of %s, which leader election does not explain (renew deadline %s, a renewal may wait %s)",
				outage.Round(time.Millisecond), renewDeadline, leaseRequestTimeout)
		case exits > 0:
			restarted++
			tb.Logf("%s trial %d: after an outage of %s the leader could not renew its lease within the renew deadline (%s): it gave up leadership and exited, as controller-runtime does; restarted as Kubernetes would", which, trial, outage.Round(time.Millisecond), renewDeadline)
		}
		if err != nil {
			// The next trials would start from a broken state.
			row.Fail(trial, "not recovered within %s (the remaining trials are not run): %v", kubeWait, firstLine(err.Error()))
			return row
		}
		row.Recovery = append(row.Recovery, took)
		w.checkKept(ctx, tb, &row, trial, before, func(key string) bool {
			_, name, _ := strings.Cut(key, "/")
			return slices.Contains(next, name)
		}, namespaces...)
		for _, ns := range namespaces {
			w.checkOwnedIn(ctx, &row, trial, ns, ns, kinded(next))
		}
	}
	if restarted > 0 {
		row.Checked += fmt.Sprintf("; in %d of %d trials the leader could not renew its lease within the renew deadline (%s) and exited, and was restarted as Kubernetes restarts it", restarted, c.Trials, renewDeadline)
	}
	return row
}

// leaseRequestTimeout bounds one renewal request of client-go's leader
// election: a renewal sent just before the API server comes back may still
// fail that much later.
const leaseRequestTimeout = 5 * time.Second

// leaseRenewed is when the controller last renewed its leader lease.
func (w *World) leaseRenewed(ctx context.Context) (time.Time, error) {
	var lease coordinationv1.Lease
	if err := w.Client.Get(ctx, client.ObjectKey{Namespace: ControllerNamespace, Name: leaseName}, &lease); err != nil {
		return time.Time{}, fmt.Errorf("reading the leader lease: %w", err)
	}
	if lease.Spec.RenewTime == nil {
		return time.Time{}, fmt.Errorf("leader lease %s/%s never renewed", ControllerNamespace, leaseName)
	}
	return lease.Spec.RenewTime.Time, nil
}

// writable waits until the API server stores a write again (a ConfigMap
// in the controller's namespace, created if missing) and says when.
func (w *World) writable(ctx context.Context) (time.Time, error) {
	deadline := time.Now().Add(kubeWait)
	for {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ControllerNamespace, Name: "faults-probe"}}
		short, cancel := context.WithTimeout(ctx, time.Second)
		_, err := controllerutil.CreateOrUpdate(short, w.Client, cm, func() error {
			cm.Data = map[string]string{"at": time.Now().Format(time.RFC3339Nano)}
			return nil
		})
		cancel()
		if err == nil {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("the API server stores no write %s after the restart: %w", kubeWait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// renewDeadline is controller-runtime's default leader election renew
// deadline: a leader that cannot renew its lease for that long stops
// leading, and the manager exits.
const renewDeadline = 10 * time.Second

// recoverReady waits until every Sync of namespaces is Ready at rev and the
// controller has renewed its leader lease since lifted (so it will not
// exit for the outage later), starting the controller again each time it
// exits (as its Deployment would). It returns how long until Ready and how
// many exits it saw.
func (w *World) recoverReady(tb testing.TB, namespaces []string, rev string, lifted time.Time) (time.Duration, int, error) {
	tb.Helper()
	ctx := context.Background()
	exits := 0
	restart := func(err error) error {
		if w.Controller.Exited() == "" || exits > 3 {
			return err
		}
		exits++
		if err := w.Controller.Start(); err != nil {
			tb.Fatalf("restarting the controller: %v", err)
		}
		return nil
	}
	for {
		_, err := w.WaitReady(ctx, namespaces, rev, kubeWait-time.Since(lifted))
		if err != nil {
			if err := restart(err); err != nil {
				return 0, exits, err
			}
			continue
		}
		took := time.Since(lifted)
		if err := w.leaseRenewedSince(ctx, lifted, kubeWait-time.Since(lifted)); err != nil {
			if err := restart(err); err != nil {
				return 0, exits, err
			}
			continue
		}
		return took, exits, nil
	}
}

// leaseRenewedSince waits until the controller's leader lease was renewed
// after t; it fails if the controller exits first or after timeout.
func (w *World) leaseRenewedSince(ctx context.Context, t time.Time, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var lease coordinationv1.Lease
		err := w.Client.Get(ctx, client.ObjectKey{Namespace: ControllerNamespace, Name: leaseName}, &lease)
		if err == nil && lease.Spec.RenewTime != nil && lease.Spec.RenewTime.After(t) {
			return nil
		}
		if why := w.Controller.Exited(); why != "" {
			return fmt.Errorf("%s", why)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leader lease %s/%s not renewed since the outage ended (%v)", ControllerNamespace, leaseName, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// leaseName is the leader election lease of the unsharded controller.
const leaseName = "latchkey-controller"
