package config

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// RenderLimits bound each Helm or Kustomize render of the controller, which
// runs in a worker process of its own (package render/sandbox): what a
// repository renders can then fail its own Sync, never end the controller.
// The pod's memory limit must hold the controller plus Workers × Memory.
type RenderLimits struct {
	// Memory is the memory a render may use beyond the worker's own.
	Memory ByteSize
	// CPU is the CPU time a render may use; Timeout its wall-clock time.
	CPU, Timeout time.Duration
	// Output is the memory the rendered objects may take in the controller.
	Output ByteSize
	// Workers is how many renders run at once.
	Workers int
}

// Render limit environment variables (flag defaults).
const (
	EnvRenderMemoryLimit = "LATCHKEY_RENDER_MEMORY_LIMIT"
	EnvRenderCPULimit    = "LATCHKEY_RENDER_CPU_LIMIT"
	EnvRenderTimeout     = "LATCHKEY_RENDER_TIMEOUT"
	EnvRenderOutputLimit = "LATCHKEY_RENDER_OUTPUT_LIMIT"
	EnvRenderWorkers     = "LATCHKEY_RENDER_WORKERS"
)

// minRenderMemory is the least a worker can render with: the Go runtime
// reserves its heap in arenas of 64 MiB (render/sandbox.MinMemory).
const minRenderMemory = 64 << 20

func renderDefaults(get func(name, def string) string) (RenderLimits, []error) {
	var r RenderLimits
	var errs []error
	var err error
	if r.Memory, err = ParseByteSize(get(EnvRenderMemoryLimit, "256Mi")); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvRenderMemoryLimit, err))
	}
	if r.CPU, err = time.ParseDuration(get(EnvRenderCPULimit, "30s")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want a duration such as 30s", EnvRenderCPULimit))
	}
	if r.Timeout, err = time.ParseDuration(get(EnvRenderTimeout, "60s")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want a duration such as 60s", EnvRenderTimeout))
	}
	if r.Output, err = ParseByteSize(get(EnvRenderOutputLimit, "32Mi")); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvRenderOutputLimit, err))
	}
	if r.Workers, err = strconv.Atoi(get(EnvRenderWorkers, "2")); err != nil {
		errs = append(errs, fmt.Errorf("%s: want a number", EnvRenderWorkers))
	}
	return r, errs
}

func (r *RenderLimits) addFlags(fs *pflag.FlagSet) {
	fs.Var(&r.Memory, "render-memory-limit", "memory a Helm or Kustomize render may use, in its own process, e.g. 256Mi; the pod needs the controller's memory plus --render-workers times this ($"+EnvRenderMemoryLimit+")")
	fs.DurationVar(&r.CPU, "render-cpu-limit", r.CPU, "CPU time a Helm or Kustomize render may use, in whole seconds ($"+EnvRenderCPULimit+")")
	fs.DurationVar(&r.Timeout, "render-timeout", r.Timeout, "wall-clock time a Helm or Kustomize render may take ($"+EnvRenderTimeout+")")
	fs.Var(&r.Output, "render-output-limit", "memory the objects of one Helm or Kustomize render may take in the controller, e.g. 32Mi ($"+EnvRenderOutputLimit+")")
	fs.IntVar(&r.Workers, "render-workers", r.Workers, "Helm and Kustomize renders run at once, each in its own process ($"+EnvRenderWorkers+")")
}

func (r RenderLimits) validate() []error {
	var errs []error
	if r.Memory < minRenderMemory {
		errs = append(errs, fmt.Errorf("--render-memory-limit=%s: want 64Mi or more (the Go runtime reserves its heap in 64 MiB arenas)", &r.Memory))
	}
	if r.CPU < time.Second {
		errs = append(errs, fmt.Errorf("--render-cpu-limit=%s: want 1s or more", r.CPU))
	}
	if r.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--render-timeout=%s: want a positive duration", r.Timeout))
	}
	if r.Output < 1<<20 {
		errs = append(errs, fmt.Errorf("--render-output-limit=%s: want 1Mi or more", &r.Output))
	}
	if r.Workers < 1 {
		errs = append(errs, fmt.Errorf("--render-workers=%d: want 1 or more", r.Workers))
	}
	return errs
}
