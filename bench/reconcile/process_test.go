package reconcile

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// controllersNamespace holds the ServiceAccounts the controllers under test
// authenticate as, one each, so the audit log tells their requests apart.
const controllersNamespace = "bench-controllers"

func controllerUser(name string) string {
	return "system:serviceaccount:" + controllersNamespace + ":" + name
}

// controllerKubeconfig writes a kubeconfig that authenticates as the
// ServiceAccount name (a cluster admin, as each controller is installed).
func controllerKubeconfig(b *testing.B, kube *testenv.Kube, name string) string {
	token := kube.ServiceAccountToken(b, controllersNamespace, name)
	kube.BindClusterRole(b, "cluster-admin", controllersNamespace, name)
	cfg := rest.AnonymousClientConfig(kube.Config)
	cfg.BearerToken = token
	return (&testenv.Kube{Config: cfg}).WriteKubeconfig(b)
}

// process is a controller running as its own process, so that its memory is
// measured alone.
type process struct {
	name    string
	log     string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	stopped sync.Once
}

func startProcess(b *testing.B, name, bin string, args, env []string) *process {
	p := &process{name: name, log: filepath.Join(b.TempDir(), name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		b.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	b.Cleanup(p.stop)
	return p
}

// exited says why the process ended early, or "" while it runs.
func (p *process) exited() string {
	select {
	case <-p.done:
		return fmt.Sprintf("%s exited (%v); its log %s ends with:\n%s", p.name, p.err, p.log, tail(p.log, 20))
	default:
		return ""
	}
}

// stop ends the process (SIGTERM, then SIGKILL after 30 s), once.
func (p *process) stop() {
	p.stopped.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// peakRSS is the process's high-water resident set (VmHWM).
func (p *process) peakRSS(b *testing.B) int64 {
	b.Helper()
	return testenv.PeakRSS(b, p.cmd.Process.Pid)
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
