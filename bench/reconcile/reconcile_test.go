package reconcile

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

var (
	syncs       = flag.Int("syncs", 100, "number of Syncs (one namespace each)")
	edits       = flag.Int("edits", 100, "manual edits whose revert latency is measured")
	concurrency = flag.Int("concurrency", 8, "the controller's --concurrency")
)

// app is the repository every Sync renders: 10 ConfigMaps, a Secret from
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

func BenchmarkFleet(b *testing.B) {
	ctx := context.Background()
	kube := testenv.StartKube(b, testenv.WithScheme(v1alpha1.AddToScheme))
	c := kube.Client
	vault := testenv.StartVault(b)
	vault.PutKV2(b, "secret", "bench/db", map[string]any{"password": "bench-value"})
	audit := vault.EnableAuditFile(b)
	repo := testenv.StartGitServer(b).NewRepo(b, "fleet")
	repo.Commit(b, "app", app())

	bin := latchkeyBinary(b)
	kube.CreateNamespace(b, "latchkey-system")
	metricsAddr := testenv.FreeLoopbackAddr(b)
	cmd := exec.Command(bin, "controller", "--kubeconfig", kube.WriteKubeconfig(b),
		"--namespace", "latchkey-system", "--metrics-addr", metricsAddr, "--health-addr", "0",
		"--webhook-addr", "", "--concurrency", strconv.Itoa(*concurrency), "--log-level", "error")
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+vault.Addr, "VAULT_TOKEN="+vault.RootToken)
	logPath := filepath.Join(b.TempDir(), "controller.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logFile.Close()
	})

	b.ResetTimer()
	start := time.Now()
	// Created as a CI job or an operator applying a fleet would: in parallel.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range *syncs {
		g.Go(func() error {
			ns := fmt.Sprintf("bench-%04d", i)
			if err := c.Create(gctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
				return err
			}
			return c.Create(gctx, &v1alpha1.Sync{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
				Spec: v1alpha1.SyncSpec{
					Source: v1alpha1.GitSource{URL: repo.URL, Path: "app", Interval: metav1.Duration{Duration: 10 * time.Minute}},
				},
			})
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	created := time.Since(start)
	for {
		var list v1alpha1.SyncList
		if err := c.List(ctx, &list); err != nil {
			b.Fatal(err)
		}
		ready := 0
		for _, s := range list.Items {
			if apimeta.IsStatusConditionTrue(s.Status.Conditions, v1alpha1.ConditionReady) {
				ready++
			}
		}
		if ready == *syncs {
			break
		}
		if time.Since(start) > 30*time.Minute {
			b.Fatalf("only %d of %d Syncs Ready after 30 minutes; controller log: %s", ready, *syncs, logPath)
		}
		time.Sleep(250 * time.Millisecond)
	}
	toReady := time.Since(start)
	b.StopTimer()
	rssReady := peakRSS(b, cmd.Process.Pid)
	// The audit device logs its own enabling; everything else is the controller.
	var controllerRequests []testenv.AuditRequest
	for _, r := range audit.Requests(b) {
		if !strings.HasPrefix(r.Path, "sys/audit") {
			controllerRequests = append(controllerRequests, r)
		}
	}
	vaultRequests := len(controllerRequests)

	// Drift: edit a random ConfigMap of a random Sync, wait until it is
	// reverted, one edit at a time.
	var latencies []time.Duration
	for i := range *edits {
		ns := fmt.Sprintf("bench-%04d", rand.IntN(*syncs))
		key := client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("config-%d", rand.IntN(10))}
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
				b.Fatalf("edit %d of %s not reverted within a minute", i, key)
			}
			time.Sleep(5 * time.Millisecond)
		}
		latencies = append(latencies, time.Since(edited))
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))]
	}
	rss := peakRSS(b, cmd.Process.Pid)

	b.ReportMetric(toReady.Seconds(), "s-to-ready")
	b.ReportMetric(float64(rss)/(1<<20), "MiB-peak-rss")
	b.ReportMetric(float64(vaultRequests), "vault-requests")
	b.ReportMetric(float64(pct(0.5).Milliseconds()), "ms-revert-p50")
	b.ReportMetric(float64(pct(0.95).Milliseconds()), "ms-revert-p95")
	fmt.Printf("bench/reconcile: %d Syncs x (10 ConfigMaps + 1 Vault Secret + 1 ServiceAccount), controller --concurrency %d\n", *syncs, *concurrency)
	fmt.Printf("  created in %s, all Ready %s after the first create (%.1f Syncs/s)\n",
		created.Round(time.Millisecond), toReady.Round(time.Millisecond), float64(*syncs)/toReady.Seconds())
	fmt.Printf("  controller peak RSS: %.0f MiB at Ready, %.0f MiB after the edits\n", float64(rssReady)/(1<<20), float64(rss)/(1<<20))
	fmt.Printf("  Vault requests until all Ready: %d (%s)\n", vaultRequests, summarise(controllerRequests))
	fmt.Printf("  drift revert over %d edits: p50 %s, p95 %s, max %s\n", len(latencies),
		pct(0.5).Round(time.Millisecond), pct(0.95).Round(time.Millisecond), pct(1).Round(time.Millisecond))
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

// peakRSS is the process's high-water resident set (VmHWM).
func peakRSS(b *testing.B, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("reading the controller's memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
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
