package soak

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

var (
	syncs        = flag.Int("syncs", 200, "number of Syncs, one namespace each")
	groups       = flag.Int("groups", 10, "paths of the repository the Syncs are spread over (each commit and rotation changes one)")
	duration     = flag.Duration("duration", 30*time.Minute, "how long changes are injected, after all Syncs are first Ready")
	samplePeriod = flag.Duration("sample", time.Minute, "period of the controller's RSS and goroutine samples")
	window       = flag.Duration("window", 10*time.Minute, "the first and last windows compared (at most a third of -duration)")
	commitEvery  = flag.Duration("commit-every", 2*time.Minute, "period of the commits (each one changes the revision of every Sync: a full reconciliation of the fleet)")
	rotateEvery  = flag.Duration("rotate-every", time.Minute, "period of the Vault secret rotations")
	editEvery    = flag.Duration("edit-every", 15*time.Second, "period of the manual edits (drift)")
	restartEvery = flag.Duration("vault-restart-every", 10*time.Minute, "period of the Vault restarts (the first at half of it)")
	vaultDown    = flag.Duration("vault-down", 10*time.Second, "how long Vault stays down at each restart (a pod rescheduled, unsealed)")
	interval     = flag.Duration("interval", 30*time.Second, "every Sync's source and rotation interval")
	pollPeriod   = flag.Duration("poll", 5*time.Second, "how often the bench reads the fleet to time recoveries")
	concurrency  = flag.Int("concurrency", 8, "the controller's --concurrency")
	plotPath     = flag.String("plot", "", "write the RSS and goroutine plot (PNG) here, e.g. $PWD/docs/reliability/soak.png")
	logPath      = flag.String("controller-log", "", "keep the controller's log here (default: a temporary file, removed)")
)

// restartGrace is how long after a restarted Vault has its secrets back the
// errors of reconciliations that were already failing are still the
// restart's.
const restartGrace = 15 * time.Second

func BenchmarkSoak(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, G := *syncs, min(*groups, *syncs)

	kube := testenv.StartKube(b, testenv.WithScheme(v1alpha1.AddToScheme))
	c := kube.Client
	v := startVault(b)
	repo := testenv.StartGitServer(b).NewRepo(b, "soak")
	d := &desired{commits: map[string]int{}, groups: make([]groupState, G), values: make([][]string, G)}
	files := map[string]string{}
	for g := range G {
		d.groups[g] = groupState{generation: 1}
		for k, f := range groupFiles(g, d.groups[g]) {
			files[k] = f
		}
		val := secretValue(g, 1)
		if err := v.put(ctx, secretPath(g), val); err != nil {
			b.Fatal(err)
		}
		d.values[g] = []string{val}
	}
	d.commit(repo.Commit(b, "the fleet's applications", files))

	var namespaces []string
	for i := range n {
		namespaces = append(namespaces, namespaceOf(i))
	}
	kube.CreateNamespace(b, "latchkey-system")
	if err := prepareTenants(ctx, c, namespaces); err != nil {
		b.Fatalf("preparing the namespaces: %v", err)
	}
	ctl := startController(b, *logPath, []string{"--kubeconfig", kube.WriteKubeconfig(b), "--namespace", "latchkey-system",
		"--concurrency", strconv.Itoa(*concurrency), "--tenancy", "--default-service-account", tenantServiceAccount,
		"--vault-default-namespaces", strings.Join(namespaces, ",")},
		[]string{"VAULT_ADDR=" + v.addr(), "VAULT_TOKEN=" + v.rootToken()})

	b.ResetTimer()
	started := time.Now()
	if err := createSyncs(ctx, c, repo.URL, n, G, *interval); err != nil {
		b.Fatal(err)
	}
	tr := &tracker{n: n, groups: G}
	waitConverged(ctx, b, c, d, tr, ctl, 15*time.Minute, "first apply")
	firstReady := time.Since(started)
	fmt.Printf("bench/soak: %d Syncs Ready in %s; soaking for %s\n", n, firstReady.Round(time.Second), *duration)

	stopPolling := make(chan struct{})
	var background sync.WaitGroup
	background.Add(2)
	go func() { defer background.Done(); tr.poll(ctx, stopPolling, c, d, *pollPeriod) }()
	smp := &sampler{ctl: ctl, tracker: tr}
	go func() { defer background.Done(); smp.run(ctx, stopPolling, *samplePeriod) }()

	soakStart := time.Now()
	dr := &edits{}
	var restarts []explanation
	soak(ctx, b, soakEnv{c: c, v: v, repo: repo, d: d, tr: tr, dr: dr, ctl: ctl, n: n, groups: G}, soakStart, &restarts)
	close(stopPolling)
	background.Wait()
	dr.wg.Wait()

	settle := time.Now()
	waitConverged(ctx, b, c, d, tr, ctl, max(5*time.Minute, 4**interval), "the end of the soak")
	settled := time.Since(settle)
	b.StopTimer()

	stopAt := time.Now()
	if err := ctl.Stop(); err != nil {
		b.Errorf("stopping the controller at the end: %v", err)
	}
	why := append(restarts, explanation{class: "controller shutdown (SIGTERM at the end)", from: stopAt, to: time.Now().Add(time.Second),
		mentions: []string{"context canceled", "shutdown", "stopping"}})
	f, err := os.Open(ctl.Log)
	if err != nil {
		b.Fatal(err)
	}
	logs, err := classifyLog(f, why)
	f.Close()
	if err != nil {
		b.Fatalf("reading the controller log %s: %v", ctl.Log, err)
	}

	r := report{n: n, groups: G, firstReady: firstReady, settled: settled, samples: smp.samples, events: tr.events,
		edits: dr, logs: logs, pollErrs: tr.errs, sampleErrs: smp.errs, soakStart: soakStart}
	r.print(b)
	if *plotPath != "" {
		if err := writePlot(*plotPath, r); err != nil {
			b.Errorf("writing the plot: %v", err)
		} else {
			fmt.Printf("  plot: %s\n", *plotPath)
		}
	}
	if logs.byClass[unexplainedClass] > 0 {
		b.Errorf("%d error lines of the controller log are not explained by an injected fault (log %s)", logs.byClass[unexplainedClass], ctl.Log)
	}
	if len(dr.failures) > 0 {
		b.Errorf("%d manual edits were not reverted", len(dr.failures))
	}
}

type soakEnv struct {
	c      client.Client
	v      *vault
	repo   *testenv.GitRepo
	d      *desired
	tr     *tracker
	dr     *edits
	ctl    *controller
	n      int
	groups int
}

// soak injects commits, rotations, edits and Vault restarts at their periods
// until -duration has passed. The restarts' explanations of
// errors are appended to restarts.
func soak(ctx context.Context, b *testing.B, e soakEnv, start time.Time, restarts *[]explanation) {
	end := start.Add(*duration)
	next := map[string]time.Time{
		"commit": start.Add(*commitEvery / 2), "rotation": start.Add(*rotateEvery), "edit": start.Add(*editEvery),
		"vault restart": start.Add(*restartEvery / 2),
	}
	period := map[string]time.Duration{"commit": *commitEvery, "rotation": *rotateEvery, "edit": *editEvery, "vault restart": *restartEvery}
	counts := map[string]int{}
	// The restart runs beside the other changes, so commits go on while
	// Vault is down; rotations wait for it to be back.
	var pending *restart
	for time.Now().Before(end) {
		if why := e.ctl.Exited(); why != "" {
			b.Fatal(why)
		}
		if pending != nil {
			select {
			case <-pending.done:
				pending.report(b, start, restarts)
				pending = nil
			default:
			}
		}
		for _, kind := range []string{"vault restart", "commit", "rotation", "edit"} {
			if time.Now().Before(next[kind]) || !next[kind].Before(end) || (kind == "rotation" && pending != nil) {
				continue
			}
			next[kind] = next[kind].Add(period[kind])
			k := counts[kind]
			counts[kind]++
			switch kind {
			case "commit":
				g := k % e.groups
				e.d.mu.Lock()
				st := groupState{generation: e.d.groups[g].generation + 1, extra: !e.d.groups[g].extra}
				e.d.mu.Unlock()
				at := time.Now()
				sha := e.repo.Commit(b, fmt.Sprintf("group %d: generation %d", g, st.generation), groupFiles(g, st))
				e.d.mu.Lock()
				e.d.groups[g] = st
				e.d.mu.Unlock()
				e.d.commit(sha)
				e.tr.add(&event{kind: kind, at: at, group: g, index: e.d.revisionIndex(sha)})
			case "rotation":
				g := k % e.groups
				e.d.mu.Lock()
				val := secretValue(g, len(e.d.values[g])+1)
				e.d.mu.Unlock()
				at := time.Now()
				if err := e.v.put(ctx, secretPath(g), val); err != nil {
					b.Fatalf("rotating %s: %v", secretPath(g), err)
				}
				e.d.mu.Lock()
				e.d.values[g] = append(e.d.values[g], val)
				idx := len(e.d.values[g]) - 1
				e.d.mu.Unlock()
				e.tr.add(&event{kind: kind, at: at, group: g, index: idx})
			case "edit":
				i := rand.IntN(e.n)
				e.dr.edit(ctx, e.c, client.ObjectKey{Namespace: namespaceOf(i), Name: configMapName(rand.IntN(configMaps))}, k)
			case "vault restart":
				ev := &event{kind: kind, at: time.Now(), group: -1}
				e.tr.add(ev)
				pending = &restart{n: k + 1, ev: ev, done: make(chan struct{})}
				go pending.run(ctx, e)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if pending != nil {
		<-pending.done
		pending.report(b, start, restarts)
	}
}

// restart is a Vault restart under way while the other changes go on.
type restart struct {
	n        int
	ev       *event
	up, back time.Time
	err      error
	done     chan struct{}
}

func (r *restart) run(ctx context.Context, e soakEnv) {
	defer close(r.done)
	r.err = e.v.restart(ctx, *vaultDown, func() { r.up = time.Now() })
	r.back = time.Now()
	e.tr.mu.Lock()
	r.ev.back = r.back
	e.tr.mu.Unlock()
}

// report fails the bench if the restart failed, or prints it and adds the
// errors it explains.
func (r *restart) report(b *testing.B, start time.Time, restarts *[]explanation) {
	if r.err != nil {
		b.Fatalf("vault restart %d: %v", r.n, r.err)
	}
	fmt.Printf("  %s vault restart %d: down %s, secrets back %s later\n", r.ev.at.Sub(start).Round(time.Second), r.n,
		r.up.Sub(r.ev.at).Round(time.Millisecond), r.back.Sub(r.up).Round(time.Millisecond))
	*restarts = append(*restarts, explanation{
		class: "Vault restart window (Vault down, then up without its secrets until re-written)",
		from:  r.ev.at.Add(-time.Second), to: r.back.Add(restartGrace),
		mentions: []string{"vault", "connection refused", "secret/", "resolve"},
	})
}

// waitConverged waits until the fleet holds exactly what Git and Vault hold.
func waitConverged(ctx context.Context, b *testing.B, c client.Client, d *desired, tr *tracker, ctl *controller, limit time.Duration, what string) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for {
		s, err := observe(ctx, c, d, tr.n, tr.groups)
		if err != nil {
			b.Fatal(err)
		}
		tr.update(s)
		diff := differences(s, d, tr.groups)
		if len(diff) == 0 {
			return
		}
		if why := ctl.Exited(); why != "" {
			b.Fatal(why)
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d of %d Syncs not converged after %s, e.g.:\n  %s\ncontroller log: %s", what, len(diff), tr.n, limit,
				strings.Join(diff[:min(10, len(diff))], "\n  "), ctl.Log)
		}
		time.Sleep(2 * time.Second)
	}
}
