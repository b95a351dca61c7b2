package config

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestRenderLimits(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    RenderLimits
		wantErr []string
	}{
		{name: "defaults", want: RenderLimits{Memory: 256 << 20, CPU: 30 * time.Second, Timeout: time.Minute, Output: 32 << 20, Workers: 2}},
		{
			name: "environment then flags, sizes as Kubernetes writes them",
			env:  map[string]string{EnvRenderMemoryLimit: "1Gi", EnvRenderWorkers: "4", EnvRenderCPULimit: "5s"},
			args: []string{"--render-memory-limit=128Mi", "--render-timeout=10s", "--render-output-limit=8M"},
			want: RenderLimits{Memory: 128 << 20, CPU: 5 * time.Second, Timeout: 10 * time.Second, Output: 8_000_000, Workers: 4},
		},
		{name: "bad environment", env: map[string]string{EnvRenderMemoryLimit: "lots", EnvRenderTimeout: "soon"},
			wantErr: []string{EnvRenderMemoryLimit, EnvRenderTimeout}},
		{name: "limits too small to render anything", args: []string{"--render-memory-limit=10Mi", "--render-cpu-limit=100ms", "--render-workers=0", "--render-output-limit=1k"},
			wantErr: []string{"--render-memory-limit=10Mi: want 64Mi or more", "--render-cpu-limit", "--render-workers=0", "--render-output-limit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, envErrs := ControllerDefaults(MapEnv(tc.env))
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			c.AddFlags(fs)
			if err := fs.Parse(append([]string{"--webhook-addr="}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, e := range envErrs {
				msgs = append(msgs, e.Error())
			}
			if err := c.Validate(); err != nil {
				msgs = append(msgs, err.Error())
			}
			all := strings.Join(msgs, "\n")
			if len(tc.wantErr) == 0 {
				if all != "" {
					t.Fatalf("unexpected errors: %s", all)
				}
				if c.Render != tc.want {
					t.Errorf("got %+v, want %+v", c.Render, tc.want)
				}
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(all, w) {
					t.Errorf("errors %q do not mention %q", all, w)
				}
			}
		})
	}
}
