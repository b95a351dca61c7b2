package testenv

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// PeakRSS is the high-water resident set (VmHWM) of process pid, in bytes:
// what a memory limit on that process would have had to hold.
func PeakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("testenv: reading the memory of process %d: %v", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("testenv: VmHWM of process %d: %v", pid, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("testenv: no VmHWM in /proc/%d/status", pid)
	return 0
}
