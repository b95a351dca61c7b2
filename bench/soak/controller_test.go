package soak

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// controller is `latchkey controller` running as its own process, so that
// its memory is its own. (A small starter: the lead unifies it with
// components.Controller.)
type controller struct {
	log     string
	metrics string // URL of its /metrics
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// startController starts bin with args and env added to this process's
// environment; its output goes to logPath (empty: a temporary file).
func startController(b *testing.B, bin, logPath string, args, env []string) *controller {
	b.Helper()
	if logPath == "" {
		logPath = filepath.Join(b.TempDir(), "controller.log")
	}
	metricsAddr := testenv.FreeLoopbackAddr(b)
	c := &controller{log: logPath, metrics: "http://" + metricsAddr + "/metrics", done: make(chan struct{})}
	logFile, err := os.Create(c.log)
	if err != nil {
		b.Fatal(err)
	}
	args = append([]string{"controller", "--metrics-addr", metricsAddr, "--health-addr", "0", "--webhook-addr", "",
		"--log-format", "json"}, args...)
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	if err := c.cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", bin, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		logFile.Close()
		close(c.done)
	}()
	b.Cleanup(func() { _ = c.stop() })
	return c
}

// exited says why the controller ended early, or "" while it runs.
func (c *controller) exited() string {
	select {
	case <-c.done:
		return fmt.Sprintf("the controller exited (%v); its log %s", c.err, c.log)
	default:
		return ""
	}
}

// stop sends SIGTERM and returns how the process ended; one that needs
// SIGKILL after 30 s is an error.
func (c *controller) stop() error {
	select {
	case <-c.done:
		return c.err
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return c.err
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("the controller did not stop within 30 s of SIGTERM; killed")
	}
}

// rss is the controller's resident set now (VmRSS), in bytes.
func (c *controller) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", c.cmd.Process.Pid)
}

// scrape reads the named gauges from the controller's metrics endpoint.
func (c *controller) scrape(ctx context.Context, names ...string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.metrics, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", c.metrics, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", c.metrics, err)
	}
	out := map[string]float64{}
	for _, name := range names {
		f, ok := families[name]
		if !ok || len(f.GetMetric()) == 0 || f.GetMetric()[0].GetGauge() == nil {
			return nil, fmt.Errorf("%s has no gauge %s", c.metrics, name)
		}
		out[name] = f.GetMetric()[0].GetGauge().GetValue()
	}
	return out, nil
}
