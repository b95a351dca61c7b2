package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestMemoryLimitIsNinetyPercentOfTheContainersUnlessGOMEMLIMITIsSet(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	got, err := applyMemoryLimit(env(map[string]string{EnvMemoryLimit: "536870912"}), 0)
	if err != nil || got != 483183820 || debug.SetMemoryLimit(-1) != 483183820 {
		t.Fatalf("512Mi: got %d, %v; want 90%% = 483183820 applied", got, err)
	}
	if got, err := applyMemoryLimit(env(map[string]string{EnvMemoryLimit: "536870912", "GOMEMLIMIT": "100MiB"}), 0); got != 0 || err != nil {
		t.Errorf("GOMEMLIMIT set: got %d, %v; want it left to the runtime", got, err)
	}
	if got, err := applyMemoryLimit(env(nil), 0); got != 0 || err != nil {
		t.Errorf("no limit: got %d, %v", got, err)
	}
	if _, err := applyMemoryLimit(env(map[string]string{EnvMemoryLimit: "512Mi"}), 0); err == nil || !strings.Contains(err.Error(), "in bytes") {
		t.Errorf("512Mi is not bytes: %v", err)
	}
}

func TestTheRenderWorkersMemoryIsNotTheControllers(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	env := func(k string) string { return map[string]string{EnvMemoryLimit: "1073741824"}[k] }
	got, err := applyMemoryLimit(env, 2*256<<20)
	if err != nil || got != 483183820 {
		t.Fatalf("1Gi with 2 workers of 256Mi: got %d, %v; want 90%% of the 512Mi left", got, err)
	}
	if _, err := applyMemoryLimit(env, 4*256<<20); err == nil || !strings.Contains(err.Error(), "--render-workers") {
		t.Errorf("workers taking the whole limit: %v", err)
	}
}
