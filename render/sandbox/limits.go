package sandbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/latchkey-dev/latchkey/config"
)

// Limits bound one render in the child process. Zero fields take the
// defaults below.
type Limits struct {
	// Memory is the address space the render may add to the worker's own
	// (the Go runtime and the binary, measured by the worker when it
	// starts): RLIMIT_AS, which the kernel checks on every mapping, so one
	// huge allocation fails instead of succeeding and being noticed later.
	// The worker's garbage collector also aims below it (SetMemoryLimit).
	Memory int64
	// CPU is the CPU time the worker may use (RLIMIT_CPU, whole seconds,
	// rounded up): a template that loops forever ends here even when the
	// machine is too busy for the Timeout to say anything about the chart.
	CPU time.Duration
	// Timeout is the wall-clock deadline, enforced by the parent: the
	// worker's process group is killed when it passes.
	Timeout time.Duration
	// Output is how much memory the objects of one render may take in the
	// parent (estimated as they are decoded, wire.go: valueCost): they live
	// in the controller, so a render that fits the worker's memory is
	// bounded here too.
	Output int64
	// Workers is how many renders may run at once. Every worker may grow to
	// Memory: the pod's memory limit must hold the controller plus Workers
	// times Memory, or the kernel's OOM killer acts for the whole container
	// (with cgroup v2 and memory.oom.group, Kubernetes' default since 1.28,
	// it kills every process of the container, the controller included).
	Workers int
}

// Defaults of Limits.
const (
	DefaultMemory  = 256 << 20
	DefaultCPU     = 30 * time.Second
	DefaultTimeout = 60 * time.Second
	DefaultOutput  = 32 << 20
	DefaultWorkers = 2
	// MinMemory is the least Memory a worker can render anything with: the
	// Go runtime reserves its heap in arenas of 64 MiB.
	MinMemory = 64 << 20
)

func (l Limits) withDefaults() Limits {
	if l.Memory <= 0 {
		l.Memory = DefaultMemory
	}
	if l.CPU <= 0 {
		l.CPU = DefaultCPU
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.Output <= 0 {
		l.Output = DefaultOutput
	}
	if l.Workers <= 0 {
		l.Workers = DefaultWorkers
	}
	return l
}

// cpuSeconds is the CPU limit as RLIMIT_CPU takes it.
func (l Limits) cpuSeconds() uint64 {
	return uint64((l.CPU + time.Second - 1) / time.Second)
}

// ErrLimitExceeded is wrapped by every LimitError.
var ErrLimitExceeded = errors.New("render limit exceeded")

// Limit names the limit a render exceeded.
type Limit string

const (
	LimitMemory  Limit = "memory"
	LimitCPU     Limit = "CPU"
	LimitTimeout Limit = "timeout"
	LimitOutput  Limit = "output"
)

// LimitError says that a render was stopped by one of its limits. Its
// message names the limit, its value and the flag that sets it, and what the
// worker said when it died (the Go runtime's fatal error line, which carries
// no repository content beyond a size).
type LimitError struct {
	Limit  Limit
	Limits Limits
	// Detail is what the worker said, or "".
	Detail string
	Stats  Stats
}

func (e *LimitError) Error() string {
	var what string
	switch e.Limit {
	case LimitMemory:
		what = fmt.Sprintf("the render memory limit of %s (--render-memory-limit; peak RSS %s)", config.ByteSize(e.Limits.Memory), config.ByteSize(e.Stats.PeakRSS&^(1<<20-1))) // peak RSS to the MiB
	case LimitCPU:
		what = fmt.Sprintf("the render CPU limit of %s (--render-cpu-limit; used %s)", e.Limits.CPU, e.Stats.CPU.Round(10*time.Millisecond))
	case LimitTimeout:
		what = fmt.Sprintf("the render timeout of %s (--render-timeout)", e.Limits.Timeout)
	case LimitOutput:
		what = fmt.Sprintf("the render output limit of %s (--render-output-limit)", config.ByteSize(e.Limits.Output))
	}
	msg := "rendering exceeded " + what
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg + ": fix the chart or kustomization (a template that grows or loops without end), or raise the limit if the repository really needs it"
}

func (e *LimitError) Unwrap() error { return ErrLimitExceeded }

// Stats describe one worker run.
type Stats struct {
	// PeakRSS is the worker's peak resident memory, in bytes.
	PeakRSS int64
	// CPU is the worker's user and system time.
	CPU time.Duration
	// Wall is the time from starting the worker to its end.
	Wall time.Duration
}
