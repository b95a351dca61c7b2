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

// TestAccuracy scores the scanner on the labelled GitOps-shaped cases in
// testdata/accuracy: labels.txt lists the file:line of every plaintext
// secret; a finding anywhere else is a false positive. It prints precision
// and recall so the figures are reproducible (go test -run Accuracy -v) and
// fails below 0.97 on either.
func TestAccuracy(t *testing.T) {
	dir := filepath.Join("testdata", "accuracy")
	want := readLabels(t, filepath.Join(dir, "labels.txt"))
	sc, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
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
	var tp int
	var fps, fns []string
	for k, f := range got {
		if want[k] {
			tp++
		} else {
			fps = append(fps, fmt.Sprintf("%s %s: %s", k, f.RuleID, f.Description))
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			fns = append(fns, k)
		}
	}
	sort.Strings(fps)
	sort.Strings(fns)
	for _, s := range fps {
		t.Logf("false positive: %s", s)
	}
	for _, s := range fns {
		t.Logf("missed: %s", s)
	}
	precision := float64(tp) / float64(max(len(got), 1))
	recall := float64(tp) / float64(max(len(want), 1))
	fmt.Printf("accuracy: %d files, %d labelled secrets, %d findings: precision %.3f (%d false positives), recall %.3f (%d missed)\n",
		res.Files-1, len(want), len(got), precision, len(fps), recall, len(fns))
	if precision < 0.97 || recall < 0.97 {
		t.Errorf("precision %.3f, recall %.3f: both must be at least 0.97", precision, recall)
	}
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
