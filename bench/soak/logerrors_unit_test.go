package soak

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestClassifyLogExplainsOnlyErrorsOfAFaultDuringIt(t *testing.T) {
	restart := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	why := []explanation{{class: "vault restart", from: restart, to: restart.Add(20 * time.Second), mentions: []string{"vault", "connection refused"}}}
	at := func(d time.Duration) float64 { return float64(restart.Add(d).UnixNano()) / 1e9 }
	line := func(level string, ts any, msg, err string) string {
		tsJSON := fmt.Sprintf("%v", ts)
		if s, ok := ts.(string); ok {
			tsJSON = fmt.Sprintf("%q", s)
		}
		return fmt.Sprintf(`{"level":%q,"ts":%s,"msg":%q,"error":%q}`, level, tsJSON, msg, err)
	}
	tests := []struct {
		name string
		line string
		want string // class, or "" when the line is not an error
	}{
		{"an info line is not counted", line("info", at(time.Second), "starting", ""), ""},
		{"an info line with an error attached is counted", line("info", at(3*time.Second), "rotation check failed", "reading secret/metadata/soak/g04: connection refused"), "vault restart"},
		{"a Vault error during the restart", line("error", at(5*time.Second), "Reconciler error", "reading secret/data/soak/g01: dial tcp: connection refused"), "vault restart"},
		{"an RFC 3339 time is read too", line("error", restart.Add(5*time.Second).Format(time.RFC3339Nano), "Reconciler error", "Vault is sealed"), "vault restart"},
		{"a Vault error after the restart window", line("error", at(time.Minute), "Reconciler error", "vault: permission denied"), unexplainedClass},
		{"another error during the restart", line("error", at(5*time.Second), "Reconciler error", "applying ConfigMap x: forbidden"), unexplainedClass},
		{"a line that is not JSON (a panic)", "panic: runtime error: index out of range", unexplainedClass},
		{"an error without a time", `{"level":"error","msg":"x"}`, unexplainedClass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := classifyLog(strings.NewReader(tc.line+"\n"), why)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if got.total != 0 {
					t.Fatalf("counted %d errors (%v), want none", got.total, got.byClass)
				}
				return
			}
			if got.total != 1 || got.byClass[tc.want] != 1 {
				t.Fatalf("classes %v, want one %q", got.byClass, tc.want)
			}
			if tc.want == unexplainedClass && len(got.unexplained) != 1 {
				t.Fatalf("unexplained lines %q, want this one kept for the report", got.unexplained)
			}
		})
	}
}
