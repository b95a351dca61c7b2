package components

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Controller is `latchkey controller` (or any latchkey subcommand) running as
// its own process, built from the checkout: what a suite needs to SIGKILL it
// mid-reconciliation, run two replicas, or measure its memory alone.
type Controller struct {
	// Args follow the binary, e.g. {"controller", "--kubeconfig", path}.
	Args []string
	// Env is added to the process's environment (os.Environ()).
	Env []string
	// Log is the file the process's stdout and stderr go to; every start
	// appends to it, so a restarted controller's log follows the killed
	// one's. It must be set.
	Log string

	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	// killed is set by Kill and Stop: the exit that follows is the caller's.
	killed bool
}

// Start builds the binary if this process has not yet (once per process) and
// starts it. A Controller may be started again after Kill or Stop.
func (c *Controller) Start() error {
	if c.cmd != nil {
		select {
		case <-c.exited:
		default:
			return fmt.Errorf("controller already running as pid %d", c.cmd.Process.Pid)
		}
	}
	bin, err := LatchkeyBinary()
	if err != nil {
		return err
	}
	log, err := os.OpenFile(c.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("controller log: %w", err)
	}
	cmd := exec.Command(bin, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	c.cmd, c.exited, c.err, c.killed = cmd, make(chan struct{}), nil, false
	exited := c.exited
	go func() {
		c.err = cmd.Wait()
		log.Close()
		close(exited)
	}()
	return nil
}

// Pid is the running process's id (0 before Start).
func (c *Controller) Pid() int {
	if c.cmd == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Running says whether the process has been started and not exited.
func (c *Controller) Running() bool {
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// Exited says why the process ended on its own, or "" while it runs or after
// the caller killed or stopped it: for a failure message.
func (c *Controller) Exited() string {
	if c.cmd == nil || c.Running() || c.killed {
		return ""
	}
	return fmt.Sprintf("controller exited (%v); its log %s ends with:\n%s", c.err, c.Log, c.LogTail(40))
}

// Kill sends SIGKILL and waits for the process to be gone: the crash a node
// failure or an OOM kill is, with no chance to finish or clean up anything.
func (c *Controller) Kill() error {
	if !c.Running() {
		return nil
	}
	c.killed = true
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing the controller: %w", err)
	}
	<-c.exited
	return nil
}

// Stop sends SIGTERM and waits up to 30 s for a clean exit, then kills; a
// process that had already died on its own, needed SIGKILL or exited non-zero
// is an error.
func (c *Controller) Stop() error {
	if !c.Running() {
		return nil
	}
	c.killed = true
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling the controller: %w", err)
	}
	select {
	case <-c.exited:
		if c.err != nil {
			return fmt.Errorf("controller did not exit cleanly on SIGTERM: %w\n%s", c.err, c.LogTail(40))
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("controller did not stop within 30s of SIGTERM; killed\n%s", c.LogTail(40))
	}
}

// RSS is the process's resident set now and its high-water mark, in bytes.
func (c *Controller) RSS() (now, peak int64, err error) {
	if !c.Running() {
		return 0, 0, errors.New("controller is not running")
	}
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(c.Pid()), "status"))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the controller's memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s of the controller: %w", k, err)
		}
		if k == "VmRSS" {
			now = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return now, peak, sc.Err()
}

// LogTail is the last n lines of the log.
func (c *Controller) LogTail(n int) string {
	data, err := os.ReadFile(c.Log)
	if err != nil {
		return fmt.Sprintf("(log %s: %v)", c.Log, err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// EnvTestBinary names a prebuilt latchkey binary for LatchkeyBinary to
// return instead of building one (a suite run many times over one checkout).
const EnvTestBinary = "LATCHKEY_TEST_BINARY"

// LatchkeyBinary builds ./cmd/latchkey of the checkout once per process into
// a temporary directory and returns its path, or returns $LATCHKEY_TEST_BINARY;
// RemoveLatchkeyBinary removes what it built (from TestMain, after the tests).
func LatchkeyBinary() (string, error) {
	if bin := os.Getenv(EnvTestBinary); bin != "" {
		return bin, nil
	}
	return latchkeyBinary()
}

var (
	builtMu  sync.Mutex
	builtDir string
)

var latchkeyBinary = sync.OnceValues(func() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "latchkey-bin-")
	if err != nil {
		return "", err
	}
	builtMu.Lock()
	builtDir = dir
	builtMu.Unlock()
	bin := filepath.Join(dir, "latchkey")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/latchkey")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/latchkey: %w\n%s", err, out)
	}
	return bin, nil
})

// RemoveLatchkeyBinary removes what LatchkeyBinary built, if anything.
func RemoveLatchkeyBinary() error {
	builtMu.Lock()
	defer builtMu.Unlock()
	if builtDir == "" {
		return nil
	}
	return os.RemoveAll(builtDir)
}
