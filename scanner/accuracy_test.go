package scanner

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// accuracySets are the labelled GitOps-shaped case sets under testdata: in
// each, labels.txt lists the file:line of every plaintext secret and a finding
// anywhere else is a false positive. "accuracy" was built alongside the
// scanner; "holdout2" was written blind, from issue 3's lists only, to measure
// how the scanner generalises.
var accuracySets = []string{"accuracy", "holdout2"}

// TestAccuracy scores the scanner on every labelled set and on their union. It
// prints precision and recall so the figures are reproducible
// (go test ./scanner -run TestAccuracy -v) and fails below 0.97 on either, for
// each set: a good union must not hide a weak set.
func TestAccuracy(t *testing.T) {
	sc, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var union score
	for _, set := range accuracySets {
		t.Run(set, func(t *testing.T) {
			s := scoreSet(t, sc, filepath.Join("testdata", set))
			union.add(s)
			s.report(t, set)
		})
	}
	union.report(t, "union")
}

// score counts one set's outcome.
type score struct {
	files, labels, findings, tp int
	fps, fns                    []string
}

func (s *score) add(o score) {
	s.files += o.files
	s.labels += o.labels
	s.findings += o.findings
	s.tp += o.tp
	s.fps = append(s.fps, o.fps...)
	s.fns = append(s.fns, o.fns...)
}

func (s score) precision() float64 { return float64(s.tp) / float64(max(s.findings, 1)) }
func (s score) recall() float64    { return float64(s.tp) / float64(max(s.labels, 1)) }

func (s score) report(t *testing.T, name string) {
	t.Helper()
	fmt.Printf("accuracy %-9s %3d files, %3d labelled secrets, %3d findings: precision %.3f (%d false positives), recall %.3f (%d missed)\n",
		name+":", s.files, s.labels, s.findings, s.precision(), len(s.fps), s.recall(), len(s.fns))
	if s.precision() < 0.97 || s.recall() < 0.97 {
		t.Errorf("%s: precision %.3f, recall %.3f: both must be at least 0.97", name, s.precision(), s.recall())
	}
}

// scoreSet scans dir and compares the findings, one per file:line, with its
// labels.
func scoreSet(t *testing.T, sc *Scanner, dir string) score {
	t.Helper()
	want := readLabels(t, filepath.Join(dir, "labels.txt"))
	res, err := sc.Run(context.Background(), &Worktree{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Finding{}
	for _, f := range res.Findings {
		if f.File == "labels.txt" {
			continue
		}
		got[fmt.Sprintf("%s:%d", f.File, f.Line)] = f
	}
	s := score{files: res.Files - 1, labels: len(want), findings: len(got)}
	for k, f := range got {
		if want[k] {
			s.tp++
		} else {
			s.fps = append(s.fps, fmt.Sprintf("%s %s: %s", k, f.RuleID, f.Description))
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			s.fns = append(s.fns, k)
		}
	}
	sort.Strings(s.fps)
	sort.Strings(s.fns)
	for _, fp := range s.fps {
		t.Logf("false positive: %s", fp)
	}
	for _, fn := range s.fns {
		t.Logf("missed: %s", fn)
	}
	return s
}

func readLabels(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	labels := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		labels[line] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(labels) == 0 {
		t.Fatal("no labels")
	}
	return labels
}
