package render

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/config"
	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/resolver"
	"github.com/latchkey-dev/latchkey/resolver/vault"
)

const (
	objects      = 1000
	paths        = 200
	perObject    = 5 // placeholders per object
	keysPerPath  = objects * perObject / paths
	placeholders = objects * perObject
)

// fixture is the Vault and the objects of the benchmark.
type fixture struct {
	v     *testenv.Vault
	audit *testenv.AuditLog
	objs  []*unstructured.Unstructured
	refs  []string // API path read by each placeholder, in document order
}

func setup(tb testing.TB) *fixture {
	tb.Helper()
	v := testenv.StartVault(tb)
	for p := range paths {
		data := map[string]any{}
		for k := range keysPerPath {
			data[fmt.Sprintf("k%02d", k)] = fmt.Sprintf("value-%03d-%02d", p, k)
		}
		v.PutKV2(tb, "secret", fmt.Sprintf("bench/p%03d", p), data)
	}
	f := &fixture{v: v}
	kinds := []string{"Secret", "ConfigMap", "Deployment"}
	for i := range objects {
		p := i % paths
		first := (i / paths) * perObject
		fields := map[string]any{}
		for j := range perObject {
			fields[fmt.Sprintf("f%d", j)] = fmt.Sprintf("<path:secret/data/bench/p%03d#k%02d>", p, first+j)
			f.refs = append(f.refs, fmt.Sprintf("secret/data/bench/p%03d", p))
		}
		obj := map[string]any{"apiVersion": "v1", "kind": kinds[i%3], "metadata": map[string]any{"name": fmt.Sprintf("o%04d", i), "namespace": "bench"}}
		switch kinds[i%3] {
		case "Secret":
			obj["stringData"] = fields
		case "ConfigMap":
			obj["data"] = fields
		default:
			obj["apiVersion"] = "apps/v1"
			var env []any
			for j := range perObject {
				env = append(env, map[string]any{"name": fmt.Sprintf("E%d", j), "value": fields[fmt.Sprintf("f%d", j)]})
			}
			obj["spec"] = map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app", "env": env}}}}}
		}
		f.objs = append(f.objs, &unstructured.Unstructured{Object: obj})
	}
	f.audit = v.EnableAuditFile(tb)
	return f
}

func (f *fixture) backend(tb testing.TB) *vault.Backend {
	tb.Helper()
	b, err := vault.New(&config.Vault{Address: f.v.Addr, Timeout: 30 * time.Second, MaxRetries: 2, Concurrency: 8,
		Auth: config.VaultAuth{Method: config.VaultAuthToken, Token: config.Sensitive(f.v.RootToken)}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// counts splits the audit log since mark into KV data reads and the rest.
func (f *fixture) counts(tb testing.TB, mark int) (data, other int, otherPaths map[string]int) {
	tb.Helper()
	otherPaths = map[string]int{}
	for _, r := range f.audit.Requests(tb)[mark:] {
		if strings.HasPrefix(r.Path, "secret/data/bench/") {
			data++
		} else {
			other++
			otherPaths[r.Path]++
		}
	}
	return data, other, otherPaths
}

// peakHeap samples live heap bytes while fn runs and returns the peak
// above the level before.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	if v := read(); v > peak.Load() {
		peak.Store(v)
	}
	if peak.Load() < base {
		return 0
	}
	return peak.Load() - base
}

// TestRenderBudget resolves the set once with a new backend and once more
// with the same backend, counting at the server, then replays
// argocd-vault-plugin's model (one read per placeholder, in order) against
// the same Vault, and prints the figures. It asserts request counts only.
func TestRenderBudget(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	b := f.backend(t)

	type run struct {
		name        string
		elapsed     time.Duration
		data, other int
		otherPaths  map[string]int
		peak        uint64
	}
	var runs []run
	resolve := func(name string, opts resolver.Options) {
		mark := len(f.audit.Requests(t))
		var res *resolver.Result
		var err error
		var elapsed time.Duration
		peak := peakHeap(func() {
			start := time.Now()
			res, err = resolver.New(b, opts).Resolve(ctx, f.objs, nil)
			elapsed = time.Since(start)
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reads != paths {
			t.Fatalf("%s: the resolver read %d secret versions, want %d", name, res.Reads, paths)
		}
		data, other, op := f.counts(t, mark)
		if data != paths {
			t.Fatalf("%s: Vault served %d KV reads, want one per distinct path: %d", name, data, paths)
		}
		runs = append(runs, run{name, elapsed, data, other, op, peak})
	}
	resolve("latchkey, new backend (login + mount table)", resolver.Options{})
	resolve("latchkey, warm backend (controller steady state)", resolver.Options{})
	resolve("latchkey, warm backend, concurrency 1", resolver.Options{Concurrency: 1})
	if runs[1].other != 0 || runs[1].data != paths {
		t.Fatalf("a warm render made %d requests besides the %d KV reads: %v", runs[1].other, runs[1].data, runs[1].otherPaths)
	}

	// The whole CLI as a process: parse 1,000 objects from files, resolve,
	// print; max RSS from the kernel.
	cli := f.cliRun(t)

	// argocd-vault-plugin: GetIndividualSecret reads the whole secret for
	// each placeholder, one after the other.
	client := f.v.Client()
	mark := len(f.audit.Requests(t))
	var avpElapsed time.Duration
	avpPeak := peakHeap(func() {
		start := time.Now()
		for _, p := range f.refs {
			if _, err := client.Logical().ReadWithContext(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		avpElapsed = time.Since(start)
	})
	avpData, _, _ := f.counts(t, mark)
	if avpData != placeholders {
		t.Fatalf("AVP model: %d reads, want %d", avpData, placeholders)
	}

	var out strings.Builder
	fmt.Fprintf(&out, "bench/render: %d objects, %d placeholders, %d distinct Vault paths (KV v2), Vault %s dev server on loopback, GOMAXPROCS=%d\n",
		objects, placeholders, paths, testenv.VaultVersion, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&out, "%-52s %9s %9s %11s %10s\n", "run", "time", "KV reads", "other reqs", "peak heap")
	for _, r := range runs {
		fmt.Fprintf(&out, "%-52s %9s %9d %11d %6.1f MiB\n", r.name, r.elapsed.Round(time.Millisecond), r.data, r.other, float64(r.peak)/(1<<20))
	}
	fmt.Fprintf(&out, "%-52s %9s %9d %11d %6.1f MiB (client reads only)\n", "argocd-vault-plugin model (1 read per placeholder)", avpElapsed.Round(time.Millisecond), avpData, 0, float64(avpPeak)/(1<<20))
	fmt.Fprintf(&out, "%-52s %9s %9d %11d %6.1f MiB (max RSS of the process)\n", "latchkey render DIR (CLI process, files to stdout)", cli.elapsed.Round(time.Millisecond), cli.data, cli.other, float64(cli.maxRSS)/(1<<20))
	fmt.Fprintf(&out, "other requests of the first render, once per backend lifetime: %s\n", keys(runs[0].otherPaths))
	t.Log("\n" + out.String())
}

func keys(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// BenchmarkResolve is one render of the set per iteration on a warm
// backend without a cache, as the controller's re-render of a changed
// revision; vault-reads/op is counted at the server.
func BenchmarkResolve(b *testing.B) {
	f := setup(b)
	be := f.backend(b)
	ctx := context.Background()
	if _, err := resolver.New(be, resolver.Options{}).Resolve(ctx, f.objs, nil); err != nil {
		b.Fatal(err)
	}
	mark := len(f.audit.Requests(b))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := resolver.New(be, resolver.Options{}).Resolve(ctx, f.objs, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	data, other, _ := f.counts(b, mark)
	b.ReportMetric(float64(data)/float64(b.N), "vault-reads/op")
	b.ReportMetric(float64(other)/float64(b.N), "other-reqs/op")
}

// BenchmarkAVPModel reads once per placeholder, sequentially.
func BenchmarkAVPModel(b *testing.B) {
	f := setup(b)
	client := f.v.Client()
	ctx := context.Background()
	mark := len(f.audit.Requests(b))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, p := range f.refs {
			if _, err := client.Logical().ReadWithContext(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	data, _, _ := f.counts(b, mark)
	b.ReportMetric(float64(data)/float64(b.N), "vault-reads/op")
}

type cliResult struct {
	elapsed     time.Duration
	data, other int
	maxRSS      int64
}

// cliRun writes the objects as YAML files, runs the latchkey binary on them
// and counts its requests at the server.
func (f *fixture) cliRun(t *testing.T) cliResult {
	t.Helper()
	bin, err := components.LatchkeyBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for file := range 10 {
		var b strings.Builder
		for _, o := range f.objs[file*100 : (file+1)*100] {
			y, err := yaml.Marshal(o.Object)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("---\n")
			b.Write(y)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("objects-%02d.yaml", file)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mark := len(f.audit.Requests(t))
	cmd := exec.Command(bin, "render", dir)
	cmd.Env = []string{"VAULT_ADDR=" + f.v.Addr, "VAULT_TOKEN=" + f.v.RootToken, "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("latchkey render: %v\n%s", err, stderr.String())
	}
	r := cliResult{elapsed: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	if n := strings.Count(stdout.String(), "\n---\n") + 1; n < objects {
		t.Fatalf("the CLI printed %d objects", n)
	}
	r.data, r.other, _ = f.counts(t, mark)
	if r.data != paths {
		t.Fatalf("the CLI made %d KV reads, want %d", r.data, paths)
	}
	return r
}
