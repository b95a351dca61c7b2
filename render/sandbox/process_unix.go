//go:build unix

package sandbox

import (
	"os"
	"os/exec"
	"syscall"
)

// isolate starts the worker in a process group of its own, and makes
// cancelling kill the whole group: kustomize may have started git for a
// remote base, and none of it may outlive the render.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return kill(cmd) }
}

func kill(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return cmd.Process.Kill()
	}
	return nil
}

// signalled is the signal that ended the worker, or "".
func signalled(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}
