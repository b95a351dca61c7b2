package faults

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Row is one line of the faults table: a kind of fault, how many trials
// injected it, what each trial checked, and what it found.
type Row struct {
	// Fault names what was broken and how, e.g. "controller SIGKILL
	// 0.1-2 s after a commit".
	Fault string
	// Checked lists the promises each trial verified after recovery, e.g.
	// "converged; no orphan; no wrong prune; inventory = Git".
	Checked string
	Trials  int
	// Failed counts trials in which a promise broke; Failures says which
	// (the first few, with the seed and trial number to replay them).
	Failed   int
	Failures []string
	// The invariant counts over all trials, which the bar wants at
	// zero: objects labelled as a Sync's outside every inventory, objects
	// pruned while Git still had them, sets applied from a partial input.
	Orphans, WrongPrunes, PartialApplies int
	// Recovery is, per trial, the time from the end of the fault until
	// every Sync was Ready at the expected revision again.
	Recovery []time.Duration
}

// Fail records a broken promise of trial i.
func (r *Row) Fail(trial int, format string, args ...any) {
	r.Failed++
	if len(r.Failures) < 5 {
		r.Failures = append(r.Failures, fmt.Sprintf("trial %d: ", trial)+fmt.Sprintf(format, args...))
	}
}

// Result is "pass" when no trial broke a promise, else what broke.
func (r Row) Result() string {
	if r.Failed == 0 && r.Orphans == 0 && r.WrongPrunes == 0 && r.PartialApplies == 0 {
		return "pass"
	}
	return fmt.Sprintf("FAIL %d/%d (orphans %d, wrong prunes %d, partial applies %d)",
		r.Failed, r.Trials, r.Orphans, r.WrongPrunes, r.PartialApplies)
}

// RecoveryP50 and RecoveryMax summarise Recovery (0 when none was measured).
func (r Row) RecoveryP50() time.Duration { return percentile(r.Recovery, 0.5) }

// RecoveryMax is the slowest recovery.
func (r Row) RecoveryMax() time.Duration { return percentile(r.Recovery, 1) }

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s)-1) + 0.5)
	return s[i]
}

// Table collects rows from trials that may run concurrently.
type Table struct {
	mu   sync.Mutex
	rows []Row
}

// Add appends a row.
func (t *Table) Add(r Row) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows = append(t.rows, r)
}

// Rows returns the rows added so far, in order.
func (t *Table) Rows() []Row {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.rows)
}

// Markdown renders the table as docs/reliability.md publishes it, followed
// by the failures, if any.
func (t *Table) Markdown() string {
	var b strings.Builder
	b.WriteString("| fault | trials | checked | result | recovery p50 | recovery max |\n")
	b.WriteString("|---|---:|---|---|---:|---:|\n")
	rows := t.Rows()
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |\n", r.Fault, r.Trials, r.Checked, r.Result(),
			duration(r.RecoveryP50(), len(r.Recovery)), duration(r.RecoveryMax(), len(r.Recovery)))
	}
	for _, r := range rows {
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "\n- %s: %s", r.Fault, f)
		}
	}
	return b.String()
}

func duration(d time.Duration, n int) string {
	if n == 0 {
		return "n/a"
	}
	return d.Round(10 * time.Millisecond).String()
}
