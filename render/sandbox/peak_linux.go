package sandbox

import (
	"os"
	"strconv"
	"strings"
)

// peakRSS is the peak resident set of process pid, in bytes (VmHWM), or 0
// when it cannot be read (the process has ended).
//
// Not the rusage's ru_maxrss: Linux carries the parent's peak over into a
// child that was forked (as os/exec does, sharing the parent's memory until
// exec), so a small worker of a large controller would report the
// controller's size.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
