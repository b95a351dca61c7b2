package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/render/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		sandbox.Main()
	}
	os.Exit(m.Run())
}

func testdata(t *testing.T) fs.FS {
	return os.DirFS(filepath.Join(testenv.ModuleRoot(t), "render", "testdata"))
}

// TestRendersAsInProcess: a chart and a kustomization render through the
// worker to the same objects (types included), sources, origins, mode and
// skipped documents as render.FS gives in process, and fail with the same
// messages.
func TestRendersAsInProcess(t *testing.T) {
	values := map[string]any{"replicas": float64(2), "extra": map[string]any{"list": []any{}, "none": nil, "ratio": 1.5}}
	tests := []struct {
		name    string
		fsys    fs.FS
		dir     string
		opts    render.Options
		wantErr string
	}{
		{name: "helm chart with values files, inline values and --set", fsys: testdata(t), dir: "chart",
			opts: render.Options{Helm: render.HelmOptions{ReleaseName: "rel", Namespace: "apps", ValuesFiles: []string{"prod-values.yaml"}, Values: values, Set: []string{"image=nginx:1.27"}}}},
		{name: "kustomize overlay over a base outside its directory", fsys: testdata(t), dir: "kustomize/overlays/prod"},
		{name: "forced helm", fsys: testdata(t), dir: "/chart/", opts: render.Options{Mode: render.Helm}},
		{name: "plain stays in process", fsys: testdata(t), dir: "plain"},
		{name: "helm template error", fsys: fstest.MapFS{
			"c/Chart.yaml":          {Data: []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")},
			"c/templates/cm.yaml":   {Data: []byte("{{ fail \"the chart says no\" }}\n")},
			"c/templates/note.yaml": {Data: []byte("# nothing\n")},
		}, dir: "c", wantErr: "the chart says no"},
		{name: "remote kustomize base refused", fsys: fstest.MapFS{
			"k/kustomization.yaml": {Data: []byte("resources:\n- https://example.invalid/cm.yaml\n")},
		}, dir: "k", opts: render.Options{NoRemoteBases: true}, wantErr: "remote kustomize bases"},
		{name: "missing directory", fsys: testdata(t), dir: "nowhere", wantErr: "nowhere"},
	}
	sb := sandbox.New(sandbox.Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			want, wantErr := render.FS(ctx, tc.fsys, tc.dir, tc.opts)
			got, gotErr := sb.Render(ctx, tc.fsys, tc.dir, tc.opts)
			if tc.wantErr != "" {
				if wantErr == nil || gotErr == nil {
					t.Fatalf("want errors, got %v in process and %v sandboxed", wantErr, gotErr)
				}
				if gotErr.Error() != wantErr.Error() {
					t.Errorf("sandboxed error\n  %v\nin process\n  %v", gotErr, wantErr)
				}
				if !strings.Contains(gotErr.Error(), tc.wantErr) {
					t.Errorf("error %q does not say %q", gotErr, tc.wantErr)
				}
				if errors.Is(wantErr, render.ErrRemoteRefused) != errors.Is(gotErr, render.ErrRemoteRefused) {
					t.Errorf("errors.Is(ErrRemoteRefused): %t in process, %t sandboxed", errors.Is(wantErr, render.ErrRemoteRefused), errors.Is(gotErr, render.ErrRemoteRefused))
				}
				return
			}
			if wantErr != nil || gotErr != nil {
				t.Fatalf("in process: %v; sandboxed: %v", wantErr, gotErr)
			}
			if len(want.Objects) == 0 {
				t.Fatal("the fixture renders nothing")
			}
			if got.Mode != want.Mode || got.Dir != want.Dir || len(got.Objects) != len(want.Objects) {
				t.Fatalf("sandboxed %s %q with %d objects, in process %s %q with %d", got.Mode, got.Dir, len(got.Objects), want.Mode, want.Dir, len(want.Objects))
			}
			for i := range want.Objects {
				if !reflect.DeepEqual(got.Objects[i].Object, want.Objects[i].Object) {
					t.Errorf("object %d differs:\nsandboxed  %#v\nin process %#v", i, got.Objects[i].Object, want.Objects[i].Object)
				}
				if got.Origin(i) != want.Origin(i) {
					t.Errorf("object %d comes from %s sandboxed, %s in process", i, got.Origin(i), want.Origin(i))
				}
			}
			if !reflect.DeepEqual(got.Skipped, want.Skipped) {
				t.Errorf("skipped %v sandboxed, %v in process", got.Skipped, want.Skipped)
			}
			if !reflect.DeepEqual(values["extra"], map[string]any{"list": []any{}, "none": nil, "ratio": 1.5}) {
				t.Errorf("the caller's values were modified: %v", values)
			}
		})
	}
}

// chart is a one-template Helm chart in memory.
func chart(template string) fstest.MapFS {
	return fstest.MapFS{
		"app/Chart.yaml":          {Data: []byte("apiVersion: v2\nname: app\nversion: 0.1.0\n")},
		"app/templates/cm.yaml":   {Data: []byte(template)},
		"app/templates/other.yml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n")},
	}
}

// TestHelmRepeatBombIsStoppedByTheMemoryLimit: `{{ repeat 300000000 "A" }}`
// (5.2 GB of RSS in process) ends the worker at its memory limit with a
// LimitError that says so, and the test process, the worker's parent, does
// not grow.
func TestHelmRepeatBombIsStoppedByTheMemoryLimit(t *testing.T) {
	bomb := chart("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a: {{ repeat 300000000 \"A\" }}\n")
	sb := sandbox.New(sandbox.Config{Limits: sandbox.Limits{Memory: 256 << 20, CPU: 60 * time.Second, Timeout: 2 * time.Minute}})
	before := testenv.PeakRSS(t, os.Getpid())
	_, stats, err := sb.Run(context.Background(), bomb, "app", render.Options{Mode: render.Helm})
	after := testenv.PeakRSS(t, os.Getpid())
	requireLimit(t, err, sandbox.LimitMemory, "rendering exceeded the render memory limit of 256Mi")
	t.Logf("%v", err)
	t.Logf("worker: peak RSS %d MiB, CPU %s, wall %s; parent peak RSS %d MiB before, %d MiB after", stats.PeakRSS>>20, stats.CPU, stats.Wall, before>>20, after>>20)
	if stats.PeakRSS > 400<<20 {
		t.Errorf("the worker's peak RSS was %d MiB, beyond its 256 MiB limit plus its own footprint", stats.PeakRSS>>20)
	}
	if grew := after - before; grew > 32<<20 {
		t.Errorf("the parent's peak RSS grew by %d MiB during the render", grew>>20)
	}
}

// TestHugeKustomizationIsStoppedByTheMemoryLimit: a kustomization of a
// megabyte whose replacement copies a 1 MB value into 1,000 ConfigMaps (a
// gigabyte of objects) ends the worker at its memory limit.
func TestHugeKustomizationIsStoppedByTheMemoryLimit(t *testing.T) {
	var cms strings.Builder
	fmt.Fprintf(&cms, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: src\ndata:\n  blob: %s\n", strings.Repeat("A", 1<<20))
	for i := range 1000 {
		fmt.Fprintf(&cms, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  blob: x\n", i)
	}
	fsys := fstest.MapFS{
		"k/kustomization.yaml": {Data: []byte(`resources:
- cms.yaml
replacements:
- source: {kind: ConfigMap, name: src, fieldPath: data.blob}
  targets:
  - select: {kind: ConfigMap}
    fieldPaths: [data.blob]
`)},
		"k/cms.yaml": {Data: []byte(cms.String())},
	}
	sb := sandbox.New(sandbox.Config{Limits: sandbox.Limits{Memory: 256 << 20, CPU: 60 * time.Second, Timeout: 2 * time.Minute}})
	before := testenv.PeakRSS(t, os.Getpid())
	_, stats, err := sb.Run(context.Background(), fsys, "k", render.Options{Mode: render.Kustomize})
	after := testenv.PeakRSS(t, os.Getpid())
	requireLimit(t, err, sandbox.LimitMemory, "rendering exceeded the render memory limit of 256Mi")
	t.Logf("%v; worker peak RSS %d MiB, CPU %s", err, stats.PeakRSS>>20, stats.CPU)
	if grew := after - before; grew > 32<<20 {
		t.Errorf("the parent's peak RSS grew by %d MiB during the render", grew>>20)
	}
}

// loop is a template that computes for hours in a few kilobytes of memory.
const loop = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loop\ndata:\n  a: \"{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\"\n"

// TestEndlessTemplateIsStoppedByTheCPULimit: a template that loops ends the
// worker at its CPU limit, well before the deadline.
func TestEndlessTemplateIsStoppedByTheCPULimit(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Limits: sandbox.Limits{CPU: 2 * time.Second, Timeout: 2 * time.Minute}})
	_, stats, err := sb.Run(context.Background(), chart(loop), "app", render.Options{Mode: render.Helm})
	requireLimit(t, err, sandbox.LimitCPU, "rendering exceeded the render CPU limit of 2s")
	t.Logf("%v; wall %s", err, stats.Wall)
}

// TestEndlessTemplateIsStoppedByTheDeadline: with a CPU limit beyond the
// deadline, the parent kills the worker at the deadline.
func TestEndlessTemplateIsStoppedByTheDeadline(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Limits: sandbox.Limits{CPU: time.Hour, Timeout: 2 * time.Second}})
	start := time.Now()
	_, _, err := sb.Run(context.Background(), chart(loop), "app", render.Options{Mode: render.Helm})
	requireLimit(t, err, sandbox.LimitTimeout, "rendering exceeded the render timeout of 2s")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the render ended %s after it started, for a 2s deadline", took)
	}
}

// TestCallerCancellationEndsTheWorker: the caller's context ends the worker
// too, and the error is the caller's, not a limit.
func TestCallerCancellationEndsTheWorker(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Limits: sandbox.Limits{CPU: time.Hour, Timeout: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _, err := sb.Run(ctx, chart(loop), "app", render.Options{Mode: render.Helm})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sandbox.ErrLimitExceeded) {
		t.Fatalf("got %v, want the caller's context error", err)
	}
}

// TestOutputBeyondTheLimitIsRefused: a render that fits the worker's memory
// but not the parent's output limit is refused before the parent holds it.
func TestOutputBeyondTheLimitIsRefused(t *testing.T) {
	big := chart("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  a: {{ repeat 3000000 \"A\" }}\n")
	sb := sandbox.New(sandbox.Config{Limits: sandbox.Limits{Output: 1 << 20}})
	_, _, err := sb.Run(context.Background(), big, "app", render.Options{Mode: render.Helm})
	requireLimit(t, err, sandbox.LimitOutput, "rendering exceeded the render output limit of 1Mi")
}

// TestMissingWorkerIsNamed: a worker command that cannot start fails the
// render with the command named.
func TestMissingWorkerIsNamed(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Command: []string{"/nonexistent/latchkey", "render-worker"}})
	_, _, err := sb.Run(context.Background(), chart(loop), "app", render.Options{Mode: render.Helm})
	if err == nil || !strings.Contains(err.Error(), "starting the render worker /nonexistent/latchkey") {
		t.Fatalf("got %v", err)
	}
}

func requireLimit(t *testing.T, err error, limit sandbox.Limit, msg string) {
	t.Helper()
	var le *sandbox.LimitError
	if !errors.As(err, &le) || !errors.Is(err, sandbox.ErrLimitExceeded) {
		t.Fatalf("got %v, want a %s LimitError", err, limit)
	}
	if le.Limit != limit || !strings.Contains(err.Error(), msg) {
		t.Fatalf("got %s limit: %v; want %s limit saying %q", le.Limit, err, limit, msg)
	}
}

// TestMinimumMemoryRendersAChart: the smallest memory limit the controller
// accepts (MinMemory, 64 MiB beyond the worker's own address space) renders
// a chart and a kustomization: the Go runtime copes with RLIMIT_AS.
func TestMinimumMemoryRendersAChart(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Limits: sandbox.Limits{Memory: sandbox.MinMemory}})
	for _, dir := range []string{"chart", "kustomize/overlays/prod"} {
		res, err := sb.Render(context.Background(), testdata(t), dir, render.Options{})
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(res.Objects) == 0 {
			t.Errorf("%s rendered nothing", dir)
		}
	}
}
