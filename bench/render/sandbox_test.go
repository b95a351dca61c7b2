package render

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/render/sandbox"
)

// What rendering in a worker process (render/sandbox, as the controller
// does for Helm and Kustomize) costs next to rendering in process: the
// worker's start (the latchkey binary's package initialisation), sending
// the files and receiving the objects.
//
//	go test -run '^$' -bench Sandbox -benchtime 20x ./bench/render/
//
// "sandboxed" starts this test binary as the worker; "sandboxed-latchkey"
// the latchkey binary, built once into a temporary directory, which is what
// the controller starts.
func BenchmarkSandbox(b *testing.B) {
	root := filepath.Join(testenv.ModuleRoot(b), "render", "testdata")
	cases := []struct {
		name string
		fsys fs.FS
		dir  string
		opts render.Options
	}{
		{name: "chart-testdata", fsys: os.DirFS(root), dir: "chart",
			opts: render.Options{Helm: render.HelmOptions{ValuesFiles: []string{"prod-values.yaml"}}}},
		{name: "chart-40-objects", fsys: chart40(), dir: "app"},
		{name: "kustomize-overlay", fsys: os.DirFS(root), dir: "kustomize/overlays/prod"},
	}
	latchkey := latchkeyBinary(b)
	for _, tc := range cases {
		b.Run(tc.name+"/in-process", func(b *testing.B) {
			for b.Loop() {
				if _, err := render.FS(context.Background(), tc.fsys, tc.dir, tc.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, w := range []struct {
			name    string
			command []string
		}{{"sandboxed", nil}, {"sandboxed-latchkey", latchkey}} {
			b.Run(tc.name+"/"+w.name, func(b *testing.B) {
				if w.name == "sandboxed-latchkey" && latchkey == nil {
					b.Skip("the latchkey binary could not be built")
				}
				sb := sandbox.New(sandbox.Config{Command: w.command})
				var peak int64
				for b.Loop() {
					opts := tc.opts
					if opts.Mode == render.Auto {
						sub, _ := fs.Sub(tc.fsys, tc.dir)
						opts.Mode = render.Detect(sub)
					}
					_, stats, err := sb.Run(context.Background(), tc.fsys, tc.dir, opts)
					if err != nil {
						b.Fatal(err)
					}
					peak = max(peak, stats.PeakRSS)
				}
				b.ReportMetric(float64(peak)/(1<<20), "worker-peak-RSS-MiB")
			})
		}
	}
}

// chart40 is a chart of 40 objects over 8 templates, with helpers and
// range loops: the size of a typical application chart.
func chart40() fstest.MapFS {
	fsys := fstest.MapFS{
		"app/Chart.yaml":  {Data: []byte("apiVersion: v2\nname: app\nversion: 1.0.0\n")},
		"app/values.yaml": {Data: []byte("image: nginx:1.27\nreplicas: 2\nitems: [a, b, c, d, e]\nlabels: {team: shop, tier: web}\n")},
		"app/templates/_helpers.tpl": {Data: []byte(`{{- define "app.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- range $k, $v := .Values.labels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}
`)},
	}
	for i := range 8 {
		fsys[fmt.Sprintf("app/templates/t%d.yaml", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(`{{- range $i, $item := .Values.items }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $.Release.Name }}-t%d-{{ $item }}
  labels:
    {{- include "app.labels" $ | nindent 4 }}
spec:
  replicas: {{ $.Values.replicas }}
  selector:
    matchLabels:
      {{- include "app.labels" $ | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "app.labels" $ | nindent 8 }}
    spec:
      containers:
      - name: app
        image: {{ $.Values.image }}
        args: [--item, {{ $item | quote }}, --index, "{{ $i }}"]
        env:
        - {name: DB_PASSWORD, value: "<path:secret/data/{{ $item }}#password>"}
{{- end }}
`, i))}
	}
	return fsys
}

// latchkeyBinary is the latchkey render worker command, or nil when the
// binary cannot be built.
func latchkeyBinary(b *testing.B) []string {
	exe, err := components.LatchkeyBinary()
	if err != nil {
		b.Logf("building latchkey: %v", err)
		return nil
	}
	return []string{exe, sandbox.Subcommand}
}
