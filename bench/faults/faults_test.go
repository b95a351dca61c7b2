package faults

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/faults"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

var (
	trials     = flag.Int("trials", 50, "trials per fault")
	crashSyncs = flag.Int("crash-syncs", 40, "Syncs following the repository in the controller-kill trials")
	families   = flag.String("families", "", "comma-separated fault families to run (default all): "+strings.Join(familyNames(), ", "))
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// family is one kind of fault; each returns its rows of the table.
type family struct {
	name string
	run  func(b *testing.B, c faults.Campaign) []faults.Row
}

var all = []family{
	{"crash", func(b *testing.B, c faults.Campaign) []faults.Row {
		return []faults.Row{faults.Crash(b, c, *crashSyncs)}
	}},
}

func familyNames() []string {
	var names []string
	for _, f := range all {
		names = append(names, f.name)
	}
	return names
}

func BenchmarkFaults(b *testing.B) {
	want := strings.Split(*families, ",")
	c := faults.NewCampaign(b, *trials)
	var table faults.Table
	start := time.Now()
	for range b.N {
		for _, f := range all {
			if *families != "" && !slices.Contains(want, f.name) {
				continue
			}
			began := time.Now()
			for _, r := range f.run(b, c) {
				table.Add(r)
			}
			b.Logf("%s: %s", f.name, time.Since(began).Round(time.Second))
		}
	}
	fmt.Printf("\nfaults campaign, seed %d, %d trials per fault, %s (replay: %s=%d)\n\n%s\n",
		c.Seed, c.Trials, time.Since(start).Round(time.Second), faults.EnvSeed, c.Seed, table.Markdown())
	for _, r := range table.Rows() {
		if r.Result() != "pass" {
			b.Errorf("%s: %s", r.Fault, r.Result())
		}
	}
}
