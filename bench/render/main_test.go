package render

import (
	"os"
	"testing"

	"github.com/latchkey-dev/latchkey/render/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		// BenchmarkSandbox starts this binary as its render worker.
		sandbox.Main()
	}
	os.Exit(m.Run())
}
