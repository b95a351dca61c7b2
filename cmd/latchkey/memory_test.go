package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestMemoryLimitIsNinetyPercentOfTheContainersUnlessGOMEMLIMITIsSet(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	got, err := applyMemoryLimit(env(map[string]string{EnvMemoryLimit: "536870912"}))
	if err != nil || got != 483183820 || debug.SetMemoryLimit(-1) != 483183820 {
		t.Fatalf("512Mi: got %d, %v; want 90%% = 483183820 applied", got, err)
	}
	if got, err := applyMemoryLimit(env(map[string]string{EnvMemoryLimit: "536870912", "GOMEMLIMIT": "100MiB"})); got != 0 || err != nil {
		t.Errorf("GOMEMLIMIT set: got %d, %v; want it left to the runtime", got, err)
	}
	if got, err := applyMemoryLimit(env(nil)); got != 0 || err != nil {
		t.Errorf("no limit: got %d, %v", got, err)
	}
	if _, err := applyMemoryLimit(env(map[string]string{EnvMemoryLimit: "512Mi"})); err == nil || !strings.Contains(err.Error(), "in bytes") {
		t.Errorf("512Mi is not bytes: %v", err)
	}
}
