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

// applyMemoryLimit sets Go's soft memory limit from EnvMemoryLimit, unless
// GOMEMLIMIT (which the runtime already applied) is set. It returns the limit
// set, 0 when none.
func applyMemoryLimit(getenv func(string) string) (int64, error) {
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
	limit := int64(float64(n) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	return limit, nil
}
