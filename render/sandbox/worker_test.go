package sandbox

import (
	"bytes"
	"strings"
	"testing"
)

// TestWorkerByHandRefusesToRun: `latchkey render-worker` run by hand
// (without the environment its parent gives it) renders nothing and exits
// with a usage code.
func TestWorkerByHandRefusesToRun(t *testing.T) {
	t.Setenv(EnvWorker, "")
	var out bytes.Buffer
	if code := serve(strings.NewReader("anything"), &out); code != exitUsage || out.Len() != 0 {
		t.Errorf("exit %d, wrote %q", code, out.String())
	}
}
