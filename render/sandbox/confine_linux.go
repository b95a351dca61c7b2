package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// confine sets the worker's limits, before it reads any repository
// content:
//   - RLIMIT_AS at the address space the process has now (the binary, the
//     Go runtime's reservations, the race detector's shadow in test
//     builds) plus l.Memory. Address space, not RLIMIT_DATA: Go maps its
//     heap over a PROT_NONE reservation with MAP_FIXED, which Linux does not
//     count against RLIMIT_DATA (measured: a 300 MB string went through a
//     256 MiB RLIMIT_DATA), while every reservation counts against
//     RLIMIT_AS. The runtime then fails the allocation that would cross it
//     and dies with "fatal error: out of memory", which the parent reads.
//     Soft and hard: nothing in the worker may raise it again.
//   - debug.SetMemoryLimit, so the garbage collector works harder as the
//     heap nears the limit instead of letting garbage push it over.
//   - RLIMIT_CPU: SIGXCPU at the limit (answered by exiting with exitCPU),
//     SIGKILL two seconds later if the runtime cannot even do that.
//   - RLIMIT_CORE 0: a killed worker leaves no core file with repository
//     content on disk.
//   - oom_score_adj 1000: should the container run out of memory anyway
//     (workers × their limit above the pod's limit), the kernel's OOM
//     killer takes a worker, never the controller. Raising one's own score
//     needs no privilege.
func confine(l Limits) error {
	base, err := addressSpace()
	if err != nil {
		return err
	}
	as := uint64(base) + uint64(l.Memory)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: as, Max: as}); err != nil {
		return fmt.Errorf("RLIMIT_AS: %w", err)
	}
	debug.SetMemoryLimit(l.Memory)

	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, syscall.SIGXCPU)
	go func() {
		<-xcpu
		fmt.Fprintln(os.Stderr, "render worker: CPU time limit reached")
		os.Exit(exitCPU)
	}()
	cpu := l.cpuSeconds()
	if err := syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: cpu, Max: cpu + 2}); err != nil {
		return fmt.Errorf("RLIMIT_CPU: %w", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}); err != nil {
		return fmt.Errorf("RLIMIT_CORE: %w", err)
	}
	// Best effort: /proc may be read-only or absent in odd sandboxes; the
	// limits above are what bound the worker.
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0)
	return nil
}

// addressSpace is the process's current virtual size, in bytes.
func addressSpace() (int64, error) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("reading the process size: %w", err)
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0, fmt.Errorf("reading the process size: empty /proc/self/statm")
	}
	pages, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading the process size: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}
