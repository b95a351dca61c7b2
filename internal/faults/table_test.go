package faults

import (
	"strings"
	"testing"
	"time"
)

func TestTableReportsPassOnlyWhenNoPromiseBroke(t *testing.T) {
	var tb Table
	tb.Add(Row{Fault: "vault sealed", Checked: "nothing applied", Trials: 3,
		Recovery: []time.Duration{3 * time.Second, time.Second, 2 * time.Second}})
	broken := Row{Fault: "controller SIGKILL", Checked: "no orphan", Trials: 2, Orphans: 1}
	broken.Fail(1, "r-8: orphans %s", "cm-11")
	tb.Add(broken)
	tb.Add(Row{Fault: "git 500", Trials: 1})
	got := tb.Markdown()
	for _, want := range []string{
		"| vault sealed | 3 | nothing applied | pass | 2s | 3s |",
		"| controller SIGKILL | 2 | no orphan | FAIL 1/2 (orphans 1, wrong prunes 0, partial applies 0) | n/a | n/a |",
		"| git 500 | 1 |  | pass | n/a | n/a |",
		"- controller SIGKILL: trial 1: r-8: orphans cm-11",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}

func TestCampaignRandIsReplayableBySeedAndFault(t *testing.T) {
	c := Campaign{Seed: 42}
	a, b := c.Rand("kill"), c.Rand("kill")
	other := c.Rand("vault")
	same, differs := true, false
	for range 10 {
		x, y, z := a.Uint64(), b.Uint64(), other.Uint64()
		same = same && x == y
		differs = differs || x != z
	}
	if !same || !differs {
		t.Errorf("same seed and fault must give the same choices (%t), another fault others (%t)", same, differs)
	}
}
