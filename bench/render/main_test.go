package render

import (
	"os"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/render/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		// BenchmarkSandbox starts this binary as its render worker.
		sandbox.Main()
	}
	code := m.Run()
	_ = components.RemoveLatchkeyBinary()
	os.Exit(code)
}
