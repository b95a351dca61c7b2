package main

import (
	"fmt"

	"runtime/debug"
	"strconv"
	"strings"
)

// EnvMemoryLimit is the container's memory limit in bytes; the chart sets it
// from the controller container's limits.memory (resourceFieldRef).
const EnvMemoryLimit = "LATCHKEY_MEMORY_LIMIT"

// memoryLimitShare is the share of the container's limit Go's heap may use:
// the rest is the runtime's own overhead, goroutine stacks and the page
// cache the kernel charges to the container.
const memoryLimitShare = 0.9

// minControllerMemory is the least the controller itself needs beside the
// render workers (its peak at 1,000 Syncs is about 160 MiB).
const minControllerMemory = 128 << 20

// applyMemoryLimit sets Go's soft memory limit from EnvMemoryLimit, unless
// GOMEMLIMIT (which the runtime already applied) is set. renders is what the
// render workers may take of the container's memory at once: they run in
// the same container, so the controller's share is what they leave. It
// returns the limit set, 0 when none.
func applyMemoryLimit(getenv func(string) string, renders int64) (int64, error) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	raw := strings.TrimSpace(getenv(EnvMemoryLimit))
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want the memory limit in bytes (the chart sets it from limits.memory)", EnvMemoryLimit, raw)
	}
	if n-renders < minControllerMemory {
		return 0, fmt.Errorf("%s=%d: the container's memory limit leaves %d MiB to the controller once the render workers have theirs (--render-workers × --render-memory-limit = %d MiB): raise the limit (the chart's resources.limits.memory) or lower those flags",
			EnvMemoryLimit, n, (n-renders)>>20, renders>>20)
	}
	limit := int64(float64(n-renders) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	return limit, nil
}
