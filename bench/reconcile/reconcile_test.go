package reconcile

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

var (
	syncs       = flag.Int("syncs", 100, "number of Syncs per contender (one namespace each)")
	edits       = flag.Int("edits", 100, "manual edits whose revert latency is measured (Latchkey)")
	concurrency = flag.Int("concurrency", 8, "workers of every controller (Latchkey --concurrency, Flux --concurrent)")
	kubeQPS     = flag.Int("kube-api-qps", 1000, "client rate limit of every controller (Latchkey's default)")
	kubeBurst   = flag.Int("kube-api-burst", 2000, "client burst of every controller (Latchkey's default)")
	withFlux    = flag.Bool("flux", true, "also run Flux source-controller and kustomize-controller "+FluxVersion+
		" (built by tools/install.sh flux; skipped with a message when absent unless -flux is given)")
	withPlain = flag.Bool("plain", true, "also run Latchkey without --tenancy, for the cost of impersonation")
)

// app is the repository every contender renders: 10 ConfigMaps, a Secret from
// Vault and a ServiceAccount.
func app() map[string]string {
	files := map[string]string{
		"app/serviceaccount.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n",
		"app/secret.yaml":         "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: <path:secret/data/bench/db#password>\n",
	}
	for i := range 10 {
		files[fmt.Sprintf("app/config-%d.yaml", i)] = fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-%d\ndata:\n  index: \"%d\"\n  setting: value-%d\n", i, i, i)
	}
	return files
}

// result is what one contender measured.
type result struct {
	name             string
	created, toReady time.Duration
	rss              int64 // sum of its processes' peak RSS at all Ready
	rssEach          []string
	rssAfter         int64 // the same after the edits
	requests         apiRequests
	vaultRequests    []testenv.AuditRequest
	reverts          []time.Duration // sorted
}

func BenchmarkFleet(b *testing.B) {
	ctx := context.Background()
	s := &stack{latchkey: latchkeyBinary(b)}

	var flux *fluxBinaries
	if *withFlux {
		var err error
		if flux, err = findFlux(); err != nil {
			if flagSet("flux") {
				b.Fatalf("-flux: %v (build it with tools/install.sh flux)", err)
			}
			fmt.Printf("bench/reconcile: Flux is not compared: %v; build it with `tools/install.sh flux` (a few minutes), or pass -flux=false\n", err)
			flux = nil
		}
	}
	var contenders []contender
	if *withPlain {
		contenders = append(contenders, latchkeyContender(s, false))
	}
	contenders = append(contenders, latchkeyContender(s, true))
	if flux != nil {
		contenders = append(contenders, fluxContender(s, flux))
	}

	var users []string
	for _, c := range contenders {
		users = append(users, c.users...)
	}
	audit, auditOpt := withAPIAudit(b, users)
	opts := []testenv.KubeOption{testenv.WithScheme(v1alpha1.AddToScheme), auditOpt}
	if flux != nil {
		opts = append(opts, testenv.WithCRDPaths(flux.crds...))
	}
	s.kube = testenv.StartKube(b, opts...)
	s.vault = testenv.StartVault(b)
	s.vault.PutKV2(b, "secret", "bench/db", map[string]any{"password": "bench-value"})
	vaultAudit := s.vault.EnableAuditFile(b)
	repo := testenv.StartGitServer(b).NewRepo(b, "fleet")
	repo.Commit(b, "app", app())
	s.repoURL = repo.URL
	s.kube.CreateNamespace(b, "latchkey-system")

	// The first contender to start would otherwise also pay for reading its
	// binary from disk, which the second Latchkey would find in the page cache.
	binaries := []string{s.latchkey}
	if flux != nil {
		binaries = append(binaries, flux.source, flux.kustomize)
	}
	for _, bin := range binaries {
		if err := readThrough(bin); err != nil {
			b.Fatal(err)
		}
	}

	b.ResetTimer()
	var results []result
	warm := warmUp(s)
	runContender(ctx, b, s, warm, min(10, *syncs), audit, vaultAudit)
	if err := removeTenants(ctx, s.kube.Client, warm.namespaces(min(10, *syncs)), warm.finalized); err != nil {
		b.Fatalf("removing the objects of the warm-up: %v", err)
	}
	for i, c := range contenders {
		results = append(results, runContender(ctx, b, s, c, *syncs, audit, vaultAudit))
		if i < len(contenders)-1 {
			if err := removeTenants(ctx, s.kube.Client, c.namespaces(*syncs), c.finalized); err != nil {
				b.Fatalf("removing the objects of %s: %v", c.name, err)
			}
		}
	}
	b.StopTimer()
	report(b, results)
}

// runContender starts the contender, asks it for the application in n
// namespaces, waits until all are Ready, measures, and stops it.
func runContender(ctx context.Context, b *testing.B, s *stack, con contender, n int, audit *apiAudit, vaultAudit *testenv.AuditLog) result {
	c := s.kube.Client
	namespaces := con.namespaces(n)
	if err := prepareTenants(ctx, c, namespaces); err != nil {
		b.Fatalf("preparing the namespaces of %s: %v", con.name, err)
	}
	vaultBefore := len(vaultAudit.Requests(b))
	procs := con.start(b)
	r := result{name: con.name}

	start := time.Now()
	// Created as a CI job or an operator applying a fleet would: in parallel.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, ns := range namespaces {
		g.Go(func() error { return con.create(gctx, c, ns) })
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("%s: %v", con.name, err)
	}
	r.created = time.Since(start)
	for {
		ready, err := con.ready(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		if ready == n {
			break
		}
		for _, p := range procs {
			if why := p.exited(); why != "" {
				b.Fatalf("%s: %d of %d Ready, and %s", con.name, ready, n, why)
			}
		}
		if time.Since(start) > 30*time.Minute {
			b.Fatalf("%s: only %d of %d Ready after 30 minutes; logs: %s", con.name, ready, n, logs(procs))
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.toReady = time.Since(start)
	for _, p := range procs {
		rss := p.peakRSS(b)
		r.rss += rss
		r.rssEach = append(r.rssEach, fmt.Sprintf("%s %.0f MiB", p.name, float64(rss)/(1<<20)))
	}
	r.requests = audit.count(b, con.users)
	// The audit device logs its own enabling; everything else is a controller.
	for _, req := range vaultAudit.Requests(b)[vaultBefore:] {
		if !strings.HasPrefix(req.Path, "sys/audit") {
			r.vaultRequests = append(r.vaultRequests, req)
		}
	}
	if con.drift {
		r.reverts = driftReverts(ctx, b, c, con, n)
	}
	r.rssAfter = 0
	for _, p := range procs {
		r.rssAfter += p.peakRSS(b)
		p.stop()
	}
	return r
}

// driftReverts edits a random ConfigMap of a random namespace and waits until
// it is reverted, one edit at a time.
func driftReverts(ctx context.Context, b *testing.B, c client.Client, con contender, n int) []time.Duration {
	var latencies []time.Duration
	for i := range *edits {
		key := client.ObjectKey{Namespace: con.namespace(rand.IntN(n)), Name: fmt.Sprintf("config-%d", rand.IntN(10))}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, key, &cm); err != nil {
			b.Fatal(err)
		}
		want := cm.Data["setting"]
		cm.Data["setting"] = fmt.Sprintf("edited-%d", i)
		edited := time.Now()
		if err := c.Update(ctx, &cm, client.FieldOwner("kubectl-edit")); err != nil {
			b.Fatal(err)
		}
		for {
			if err := c.Get(ctx, key, &cm); err != nil {
				b.Fatal(err)
			}
			if cm.Data["setting"] == want {
				break
			}
			if time.Since(edited) > time.Minute {
				b.Fatalf("%s: edit %d of %s not reverted within a minute", con.name, i, key)
			}
			time.Sleep(5 * time.Millisecond)
		}
		latencies = append(latencies, time.Since(edited))
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	return latencies
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1))]
}

// report prints one row per contender and the ratios of the same run (the
// machine is shared: absolute figures move between runs, ratios much less).
func report(b *testing.B, results []result) {
	n := float64(*syncs)
	mib := func(v int64) float64 { return float64(v) / (1 << 20) }
	fmt.Printf("bench/reconcile: %d Syncs (or GitRepository+Kustomization) per contender x (10 ConfigMaps + 1 Secret + 1 ServiceAccount), one namespace each;\n", *syncs)
	fmt.Printf("  one kube-apiserver+etcd, Git server and Vault for all, contenders one after the other; %d workers and %d/%d client QPS/burst each\n",
		*concurrency, *kubeQPS, *kubeBurst)
	tw := tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  contender\tall Ready\tper s\tpeak RSS\tAPI req/Sync\timpersonated\t403\tVault req\trevert p50/p95")
	for _, r := range results {
		revert := "at interval"
		if len(r.reverts) > 0 {
			revert = fmt.Sprintf("%s/%s", pct(r.reverts, 0.5).Round(time.Millisecond), pct(r.reverts, 0.95).Round(time.Millisecond))
		}
		fmt.Fprintf(tw, "  %s\t%.1f s\t%.1f\t%.0f MiB\t%.1f\t%.1f\t%d\t%d\t%s\n", r.name, r.toReady.Seconds(), n/r.toReady.Seconds(),
			mib(r.rss), float64(r.requests.Total)/n, float64(r.requests.Impersonated)/n, r.requests.Forbidden, len(r.vaultRequests), revert)
		slug := strings.NewReplacer(" --", "-", " ", "-", ".", "").Replace(r.name)
		b.ReportMetric(r.toReady.Seconds(), "s-to-ready-"+slug)
		b.ReportMetric(mib(r.rss), "MiB-peak-rss-"+slug)
		b.ReportMetric(float64(r.requests.Total)/n, "api-req/sync-"+slug)
	}
	_ = tw.Flush()
	for _, r := range results {
		fmt.Printf("  %s: requests per Sync until all Ready: %s\n", r.name, r.requests.perSync(*syncs, 8))
		if len(r.requests.ByUser) > 1 {
			var parts []string
			for u, v := range r.requests.ByUser {
				parts = append(parts, fmt.Sprintf("%s %.1f", strings.TrimPrefix(u, controllerUser("")), float64(v)/n))
			}
			sort.Strings(parts)
			fmt.Printf("  %s: requests per Sync by controller: %s\n", r.name, strings.Join(parts, ", "))
		}
		if len(r.rssEach) > 1 {
			fmt.Printf("  %s: peak RSS by controller: %s\n", r.name, strings.Join(r.rssEach, ", "))
		}
		if len(r.vaultRequests) > 0 {
			fmt.Printf("  %s: Vault requests: %s\n", r.name, summarise(r.vaultRequests))
		}
		if len(r.reverts) > 0 {
			fmt.Printf("  %s: drift revert over %d edits: p50 %s, p95 %s, max %s; peak RSS after the edits %.0f MiB\n", r.name, len(r.reverts),
				pct(r.reverts, 0.5).Round(time.Millisecond), pct(r.reverts, 0.95).Round(time.Millisecond), pct(r.reverts, 1).Round(time.Millisecond), mib(r.rssAfter))
		}
	}
	by := map[string]result{}
	for _, r := range results {
		by[r.name] = r
	}
	ratio := func(what string, a, b result) {
		fmt.Printf("  %s vs %s: %.2fx the time to all Ready, %.2fx the peak RSS, %.2fx the API requests\n", what, b.name,
			a.toReady.Seconds()/b.toReady.Seconds(), float64(a.rss)/float64(b.rss), float64(a.requests.Total)/float64(b.requests.Total))
	}
	tenancy, ok := by["latchkey --tenancy"]
	if plain, ok2 := by["latchkey"]; ok && ok2 {
		ratio("cost of impersonation: latchkey --tenancy", tenancy, plain)
		if tenancy.requests.Impersonated == 0 {
			fmt.Println("  (latchkey --tenancy made no impersonated request: this binary does not impersonate yet, so its row is Latchkey with tenancy's checks only)")
		}
	}
	if fx, ok2 := by["flux "+FluxVersion]; ok && ok2 {
		ratio("flux "+FluxVersion, fx, tenancy)
	}
}

func readThrough(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func logs(procs []*process) string {
	var out []string
	for _, p := range procs {
		out = append(out, p.log)
	}
	return strings.Join(out, ", ")
}

func summarise(reqs []testenv.AuditRequest) string {
	byPath := map[string]int{}
	for _, r := range reqs {
		p := r.Path
		if strings.HasPrefix(p, "sys/") {
			p = "sys/..."
		}
		byPath[r.Operation+" "+p]++
	}
	var parts []string
	for k, v := range byPath {
		parts = append(parts, fmt.Sprintf("%d× %s", v, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// latchkeyBinary is $LATCHKEY_BIN, or bin/latchkey of the checkout (make build).
func latchkeyBinary(b *testing.B) string {
	if p := os.Getenv("LATCHKEY_BIN"); p != "" {
		return p
	}
	p := filepath.Join(testenv.ModuleRoot(b), "bin", "latchkey")
	if _, err := os.Stat(p); err != nil {
		b.Skipf("%s is not built: run `make build` (or set LATCHKEY_BIN)", p)
	}
	return p
}
