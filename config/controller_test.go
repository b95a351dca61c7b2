package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestControllerConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr []string
		check   func(t *testing.T, c *Controller)
	}{
		{
			name: "defaults with a webhook secret", args: []string{"--webhook-secret-file=/s"},
			check: func(t *testing.T, c *Controller) {
				if c.Concurrency != 8 || c.MetricsAddr != ":8080" || c.Namespace != "latchkey-system" || c.VaultCacheTTL.String() != "5m0s" {
					t.Errorf("defaults: %+v", c)
				}
				if c.AllowRemoteBases {
					t.Errorf("remote kustomize bases are allowed by default")
				}
				if c.MinInterval.String() != "10s" {
					t.Errorf("--min-interval defaults to %s, want 10s", c.MinInterval)
				}
			},
		},
		{
			name: "environment then flags", env: map[string]string{EnvConcurrency: "3", EnvShard: "a", EnvNamespace: "ops"},
			args: []string{"--concurrency=5", "--webhook-addr="},
			check: func(t *testing.T, c *Controller) {
				if c.Concurrency != 5 || c.Shard != "a" || c.Namespace != "ops" || c.WebhookAddr != "" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "remote bases allowed by flag or environment", env: map[string]string{EnvAllowRemoteBases: "true"},
			args: []string{"--webhook-addr="},
			check: func(t *testing.T, c *Controller) {
				if !c.AllowRemoteBases {
					t.Errorf("%s=true ignored", EnvAllowRemoteBases)
				}
			},
		},
		{
			name: "the flag wins over the environment", env: map[string]string{EnvAllowRemoteBases: "true"},
			args: []string{"--webhook-addr=", "--allow-remote-bases=false"},
			check: func(t *testing.T, c *Controller) {
				if c.AllowRemoteBases {
					t.Errorf("--allow-remote-bases=false ignored")
				}
			},
		},
		{
			name: "the interval floor defaults to 10s, from the environment or the flag", env: map[string]string{EnvMinInterval: "30s"},
			args: []string{"--webhook-addr="},
			check: func(t *testing.T, c *Controller) {
				if c.MinInterval.String() != "30s" {
					t.Errorf("%s=30s: --min-interval = %s", EnvMinInterval, c.MinInterval)
				}
			},
		},
		{
			name: "leader election times default to client-go's, from the environment or the flags", env: map[string]string{EnvLeaseDuration: "6s"},
			args: []string{"--webhook-addr=", "--leader-elect-renew-deadline=4s"},
			check: func(t *testing.T, c *Controller) {
				if le := c.LeaderElection; le.LeaseDuration.String() != "6s" || le.RenewDeadline.String() != "4s" || le.RetryPeriod.String() != "2s" {
					t.Errorf("got %+v, want lease 6s (env), renew 4s (flag), retry 2s (default)", le)
				}
			},
		},
		{name: "leader election times out of order", args: []string{"--webhook-addr=", "--leader-elect-lease-duration=5s", "--leader-elect-renew-deadline=5s", "--leader-elect-retry-period=5s"},
			wantErr: []string{"--leader-elect-lease-duration=5s", "--leader-elect-renew-deadline=5s"}},
		{name: "bad leader election environment", env: map[string]string{EnvRetryPeriod: "often"}, args: []string{"--webhook-addr="}, wantErr: []string{EnvRetryPeriod}},
		{name: "a negative interval floor", args: []string{"--webhook-addr=", "--min-interval=-1s"}, wantErr: []string{"--min-interval=-1s"}},
		{name: "bad remote bases setting", env: map[string]string{EnvAllowRemoteBases: "sometimes"}, args: []string{"--webhook-addr="},
			wantErr: []string{EnvAllowRemoteBases}},
		{name: "webhook without secret", wantErr: []string{"--webhook-secret-file"}},
		{name: "bad values are all reported", args: []string{"--webhook-addr=", "--concurrency=0", "--metrics-addr=nope", "--shard=a b"},
			wantErr: []string{"--concurrency=0", "--metrics-addr", "--shard"}},
		{name: "bad environment", env: map[string]string{EnvConcurrency: "many"}, args: []string{"--webhook-addr="}, wantErr: []string{EnvConcurrency}},
		{
			name: "namespaced install and logging", env: map[string]string{EnvWatchNamespaces: "team-a, team-b", EnvLogFormat: "text"},
			args: []string{"--webhook-addr=", "--log-level=debug"},
			check: func(t *testing.T, c *Controller) {
				if strings.Join(c.WatchNamespaces, ",") != "team-a,team-b" || c.LogLevel != "debug" || c.LogFormat != "text" {
					t.Errorf("got namespaces %q, log %s/%s", c.WatchNamespaces, c.LogLevel, c.LogFormat)
				}
			},
		},
		{
			name: "Git bounds: defaults, environment and flags in Kubernetes quantities",
			env:  map[string]string{EnvGitMaxFileBytes: "8Mi"}, args: []string{"--webhook-addr=", "--git-cache-bytes=1Gi", "--git-max-fetch-bytes=100000000"},
			check: func(t *testing.T, c *Controller) {
				if c.GitMaxFetchBytes != 100000000 || c.GitMaxFileBytes != 8<<20 || c.GitMaxRevisionBytes != 128<<20 || c.GitCacheBytes != 1<<30 {
					t.Errorf("got fetch %d, file %d, revision %d, cache %d", c.GitMaxFetchBytes, c.GitMaxFileBytes, c.GitMaxRevisionBytes, c.GitCacheBytes)
				}
			},
		},
		{
			name: "Git bound defaults", args: []string{"--webhook-addr="},
			check: func(t *testing.T, c *Controller) {
				if c.GitMaxFetchBytes != 64<<20 || c.GitMaxFileBytes != 16<<20 || c.GitMaxRevisionBytes != 128<<20 || c.GitCacheBytes != 128<<20 {
					t.Errorf("got fetch %d, file %d, revision %d, cache %d", c.GitMaxFetchBytes, c.GitMaxFileBytes, c.GitMaxRevisionBytes, c.GitCacheBytes)
				}
			},
		},
		{name: "bad Git bounds", env: map[string]string{EnvGitCacheBytes: "lots"},
			args:    []string{"--webhook-addr=", "--git-max-file-bytes=1Gi"},
			wantErr: []string{EnvGitCacheBytes, "--git-max-file-bytes=1Gi is larger than --git-max-revision-bytes=128Mi"}},
		{name: "bad namespaces and logging", args: []string{"--webhook-addr=", "--watch-namespaces=a,b/c", "--log-level=trace", "--log-format=xml"},
			wantErr: []string{"--watch-namespaces", "--log-level", "--log-format"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, envErrs := ControllerDefaults(MapEnv(tc.env))
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			c.AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			var msgs []string
			for _, e := range envErrs {
				msgs = append(msgs, e.Error())
			}
			if err != nil {
				msgs = append(msgs, err.Error())
			}
			all := strings.Join(msgs, "\n")
			if len(tc.wantErr) == 0 && all != "" {
				t.Fatalf("unexpected errors: %s", all)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(all, w) {
					t.Errorf("errors %q do not mention %q", all, w)
				}
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}
