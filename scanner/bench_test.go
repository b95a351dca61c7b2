package scanner

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// BenchmarkCorpus scans a corpus tree (default ../shared/corpus/bitnami-charts
// from the module root; LATCHKEY_BENCH_TREE overrides) and reports MB/s.
// bench/scan.sh compares the CLI with gitleaks; this is for profiling:
//
//	go test ./scanner -run XXX -bench Corpus -cpuprofile cpu.out -memprofile mem.out
func BenchmarkCorpus(b *testing.B) {
	tree := os.Getenv("LATCHKEY_BENCH_TREE")
	if tree == "" {
		tree = filepath.Join(testenv.CorpusDir(b), "bitnami-charts")
	}
	if _, err := os.Stat(tree); err != nil {
		b.Skipf("corpus not available: %v", err)
	}
	sc, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := sc.Run(context.Background(), &Worktree{Root: tree})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(res.Bytes)
	}
}
