//go:build !unix

package sandbox

import (
	"os"
	"os/exec"
)

func isolate(cmd *exec.Cmd) { cmd.Cancel = func() error { return kill(cmd) } }

func kill(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}

func signalled(*os.ProcessState) string { return "" }
