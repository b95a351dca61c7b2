package config

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// LeaderElection times the Lease that elects the one active replica of a
// shard. A replica that stops cleanly releases the Lease at once; one that
// dies (SIGKILL, a lost node) keeps it until LeaseDuration has passed since
// its last renewal, so a failover takes up to LeaseDuration + RetryPeriod.
// Shorter is a faster failover for more Lease writes (one per RetryPeriod
// from the leader) and less patience with a slow API server: a leader that
// cannot renew within RenewDeadline stops reconciling and exits.
type LeaderElection struct {
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// leaderJitter is client-go's leaderelection.JitterFactor: the renew
// deadline must leave room for one jittered retry.
const leaderJitter = 1.2

// The defaults are client-go's and controller-runtime's (15s, 10s, 2s).
func leaderElectionDefaults(get func(name, def string) string) (LeaderElection, []error) {
	var le LeaderElection
	var errs []error
	for _, d := range []struct {
		env, def string
		dst      *time.Duration
	}{
		{EnvLeaseDuration, "15s", &le.LeaseDuration}, {EnvRenewDeadline, "10s", &le.RenewDeadline}, {EnvRetryPeriod, "2s", &le.RetryPeriod},
	} {
		v, err := time.ParseDuration(get(d.env, d.def))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: want a duration such as %s", d.env, d.def))
		}
		*d.dst = v
	}
	return le, errs
}

func (le *LeaderElection) addFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&le.LeaseDuration, "leader-elect-lease-duration", le.LeaseDuration, "with --leader-elect, how long a replica that stopped renewing keeps the lease: a killed leader is replaced after at most this plus --leader-elect-retry-period ($"+EnvLeaseDuration+")")
	fs.DurationVar(&le.RenewDeadline, "leader-elect-renew-deadline", le.RenewDeadline, "with --leader-elect, how long the leader retries renewing before it gives up leading and exits; less than --leader-elect-lease-duration ($"+EnvRenewDeadline+")")
	fs.DurationVar(&le.RetryPeriod, "leader-elect-retry-period", le.RetryPeriod, "with --leader-elect, how often replicas try to acquire or renew the lease ($"+EnvRetryPeriod+")")
}

// validate applies client-go's own rules, naming the flags.
func (le LeaderElection) validate() []error {
	var errs []error
	if le.RetryPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--leader-elect-retry-period=%s: want a positive duration", le.RetryPeriod))
	}
	if le.RenewDeadline <= time.Duration(leaderJitter*float64(le.RetryPeriod)) {
		errs = append(errs, fmt.Errorf("--leader-elect-renew-deadline=%s: want more than 1.2 × --leader-elect-retry-period (%s)", le.RenewDeadline, le.RetryPeriod))
	}
	if le.LeaseDuration <= le.RenewDeadline {
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration=%s: want more than --leader-elect-renew-deadline (%s)", le.LeaseDuration, le.RenewDeadline))
	}
	return errs
}
