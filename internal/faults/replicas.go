package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/reconcile"
)

// Lease is the leader election timing replicas run with
// (--leader-elect-lease-duration, -renew-deadline, -retry-period).
type Lease struct {
	Duration, RenewDeadline, RetryPeriod time.Duration
}

// ChartLease is the chart's default (controller.leaderElection), which is
// client-go's.
var ChartLease = Lease{Duration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}

// EnvLease overrides the Lease of the replicas campaigns, as
// "duration/renew-deadline/retry-period", e.g. "15s/10s/2s".
const EnvLease = "LATCHKEY_FAULTS_LEASE"

// LeaseFromEnv is def unless EnvLease says otherwise.
func LeaseFromEnv(tb testing.TB, def Lease) Lease {
	tb.Helper()
	v := os.Getenv(EnvLease)
	if v == "" {
		return def
	}
	parts := strings.Split(v, "/")
	var ds []time.Duration
	for _, p := range parts {
		d, err := time.ParseDuration(p)
		if err != nil {
			break
		}
		ds = append(ds, d)
	}
	if len(ds) != 3 {
		tb.Fatalf("%s=%q: want duration/renew-deadline/retry-period, e.g. 15s/10s/2s", EnvLease, v)
	}
	return Lease{Duration: ds[0], RenewDeadline: ds[1], RetryPeriod: ds[2]}
}

func (l Lease) String() string {
	return fmt.Sprintf("lease %s, renew deadline %s, retry %s", l.Duration, l.RenewDeadline, l.RetryPeriod)
}

// Args are the controller flags that elect a leader with this timing.
func (l Lease) Args() []string {
	return []string{"--leader-elect",
		"--leader-elect-lease-duration=" + l.Duration.String(),
		"--leader-elect-renew-deadline=" + l.RenewDeadline.String(),
		"--leader-elect-retry-period=" + l.RetryPeriod.String()}
}

// Replica is one `latchkey controller` process of a World, with the
// addresses of its metrics, health probes and (when started with one) its
// webhook receiver.
type Replica struct {
	Name string
	*components.Controller
	Metrics, Health, Webhook string
	// Shard is its --shard ("" for the unsharded replica): which Lease its
	// leadership is read from.
	Shard string
}

// StartReplica starts a controller process serving metrics and health
// probes on free loopback ports; extra flags follow (a shard, leader
// election, a webhook receiver).
func (w *World) StartReplica(tb testing.TB, name, shard string, extra ...string) *Replica {
	tb.Helper()
	r := &Replica{Name: name, Shard: shard, Metrics: testenv.FreeLoopbackAddr(tb), Health: testenv.FreeLoopbackAddr(tb)}
	args := []string{"--metrics-addr", r.Metrics, "--health-addr", r.Health}
	if shard != "" {
		args = append(args, "--shard", shard)
	}
	r.Controller = w.StartController(tb, name, append(args, extra...)...)
	return r
}

// WithWebhook are the flags of a replica serving the push webhook receiver
// on a free loopback address with secret, written to a file.
func WithWebhook(tb testing.TB, secret string) (addr string, flags []string) {
	tb.Helper()
	file := tb.TempDir() + "/webhook-secret"
	if err := os.WriteFile(file, []byte(secret), 0o600); err != nil {
		tb.Fatal(err)
	}
	addr = testenv.FreeLoopbackAddr(tb)
	return addr, []string{"--webhook-addr", addr, "--webhook-secret-file", file}
}

// metrics scrapes the replica's /metrics.
func (r *Replica) metrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Metrics+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", r.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s: %s", r.Name, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// Leads says whether the replica holds its shard's Lease, by its own
// leader_election_master_status gauge.
func (r *Replica) Leads(ctx context.Context) (bool, error) {
	mf, err := r.metrics(ctx)
	if err != nil {
		return false, err
	}
	for _, m := range mf["leader_election_master_status"].GetMetric() {
		if label(m, "name") == reconcile.LeaderElectionID(r.Shard) && m.GetGauge().GetValue() == 1 {
			return true, nil
		}
	}
	return false, nil
}

// SyncsReconciled lists the Syncs ("namespace/name") this replica has
// reconciled and still holds: the series of latchkey_sync_ready, which a
// replica drops when a Sync leaves its shard.
func (r *Replica) SyncsReconciled(ctx context.Context) ([]string, error) {
	mf, err := r.metrics(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range mf["latchkey_sync_ready"].GetMetric() {
		out = append(out, label(m, "namespace")+"/"+label(m, "name"))
	}
	slices.Sort(out)
	return out, nil
}

// Ready asks the replica's /readyz, as the chart's readiness probe does.
func (r *Replica) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Health+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s /readyz: %s", r.Name, resp.Status)
	}
	return nil
}

// FullReconciles counts, per Sync namespace, the full reconciliations the
// replica's log records ("reconciling" lines), from the start of the log.
func (r *Replica) FullReconciles() (map[string]int, error) {
	f, err := os.Open(r.Log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg       string `json:"msg"`
			Namespace string `json:"namespace"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "reconciling" {
			continue
		}
		out[line.Namespace]++
	}
	return out, sc.Err()
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// WaitLeader polls until exactly one of replicas leads and returns it; a
// replica that exits on its own fails it.
func WaitLeader(ctx context.Context, replicas []*Replica, timeout time.Duration) (*Replica, error) {
	deadline := time.Now().Add(timeout)
	for {
		var leaders []*Replica
		for _, r := range replicas {
			if why := r.Exited(); why != "" {
				return nil, fmt.Errorf("%s: %s", r.Name, why)
			}
			if !r.Running() {
				continue
			}
			leads, err := r.Leads(ctx)
			if err == nil && leads {
				leaders = append(leaders, r)
			}
		}
		if len(leaders) == 1 {
			return leaders[0], nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d leaders among %d replicas after %s, want 1", len(leaders), len(replicas), timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
