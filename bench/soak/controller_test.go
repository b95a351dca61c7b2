package soak

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// controller is `latchkey controller`, built from the checkout, running as
// its own process so that its memory is its own, and its metrics endpoint.
type controller struct {
	*components.Controller
	metrics string // URL of its /metrics
}

// startController starts the controller with args and env added to this
// process's environment; its output goes to logPath (empty: a temporary
// file). It is stopped when the benchmark ends if it still runs.
func startController(b *testing.B, logPath string, args, env []string) *controller {
	b.Helper()
	if logPath == "" {
		logPath = filepath.Join(b.TempDir(), "controller.log")
	}
	metricsAddr := testenv.FreeLoopbackAddr(b)
	args = append([]string{"controller", "--metrics-addr", metricsAddr, "--health-addr", "0", "--webhook-addr", "",
		"--log-format", "json"}, args...)
	c := &controller{Controller: &components.Controller{Args: args, Env: env, Log: logPath}, metrics: "http://" + metricsAddr + "/metrics"}
	if err := c.Start(); err != nil {
		b.Fatalf("starting the controller: %v", err)
	}
	b.Cleanup(func() { _ = c.Stop() })
	return c
}

// rss is the controller's resident set now (VmRSS), in bytes.
func (c *controller) rss() (int64, error) {
	now, _, err := c.RSS()
	return now, err
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
