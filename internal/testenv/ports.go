package testenv

import (
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
)

// FreeLoopbackAddr returns a 127.0.0.1:PORT that is free now and outside the
// kernel's ephemeral range (components.FreeLoopbackAddr).
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	addr, err := components.FreeLoopbackAddr()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return addr
}
