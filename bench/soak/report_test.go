package soak

import (
	"fmt"
	"os"
	"sort"
	"testing"
	"text/tabwriter"
	"time"
)

type report struct {
	n, groups            int
	firstReady, settled  time.Duration
	soakStart            time.Time
	samples              []sample
	events               []*event
	edits                *edits
	logs                 logErrors
	pollErrs, sampleErrs []string
}

func mib(v float64) float64 { return v / (1 << 20) }

// windowStats are the means and maxima of the samples in [from, to).
type windowStats struct {
	from, to                    time.Duration
	count                       int
	rssMean, rssMax             float64 // MiB
	goroutineMean, goroutineMax float64
}

func statsOf(samples []sample, from, to time.Duration) windowStats {
	w := windowStats{from: from, to: to}
	for _, s := range samples {
		if s.at < from || s.at >= to {
			continue
		}
		w.count++
		w.rssMean += mib(float64(s.rss))
		w.rssMax = max(w.rssMax, mib(float64(s.rss)))
		w.goroutineMean += s.goroutines
		w.goroutineMax = max(w.goroutineMax, s.goroutines)
	}
	if w.count > 0 {
		w.rssMean /= float64(w.count)
		w.goroutineMean /= float64(w.count)
	}
	return w
}

// windows are the first and the last -window of the soak (at most a third
// of it each).
func (r report) windows() (first, last windowStats) {
	w := min(*window, *duration/3)
	return statsOf(r.samples, 0, w), statsOf(r.samples, *duration-w, *duration+time.Second)
}

func (r report) print(b *testing.B) {
	fmt.Printf("bench/soak: %d Syncs (--tenancy, %d workers) over %d paths of one repository x (10 ConfigMaps, +1 every other commit, 1 Secret from Vault, 1 ServiceAccount);\n",
		r.n, *concurrency, r.groups)
	fmt.Printf("  for %s: a commit every %s, a rotation every %s, a manual edit every %s, a Vault restart every %s (first at %s, down %s); intervals %s;\n",
		*duration, *commitEvery, *rotateEvery, *editEvery, *restartEvery, *restartEvery/2, *vaultDown, *interval)
	fmt.Printf("  first apply of all %d: %s; converged %s after the last change\n", r.n, r.firstReady.Round(time.Second), r.settled.Round(time.Second))

	tw := tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  minute\tRSS MiB\tgoroutines\theap in use MiB\tSyncs Ready\t")
	for _, s := range r.samples {
		fmt.Fprintf(tw, "  %.1f\t%.1f\t%.0f\t%.1f\t%d\t\n", s.at.Minutes(), mib(float64(s.rss)), s.goroutines, mib(s.heap), s.ready)
	}
	_ = tw.Flush()

	first, last := r.windows()
	if first.count > 0 && last.count > 0 {
		fmt.Printf("  RSS: first %s mean %.1f MiB (max %.1f), last %s mean %.1f MiB (max %.1f): x%.2f\n",
			first.to, first.rssMean, first.rssMax, last.to-last.from-time.Second, last.rssMean, last.rssMax, last.rssMean/first.rssMean)
		fmt.Printf("  goroutines: first mean %.0f (max %.0f), last mean %.0f (max %.0f): x%.2f\n",
			first.goroutineMean, first.goroutineMax, last.goroutineMean, last.goroutineMax, last.goroutineMean/first.goroutineMean)
		b.ReportMetric(first.rssMean, "MiB-rss-first")
		b.ReportMetric(last.rssMean, "MiB-rss-last")
		b.ReportMetric(first.goroutineMean, "goroutines-first")
		b.ReportMetric(last.goroutineMean, "goroutines-last")
	}

	fmt.Println("  recovery after each change (until every Sync concerned is Ready and at it):")
	tw = tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  change\tcount\ttaken\tp50\tmax\tfewest Syncs Ready meanwhile")
	for _, kind := range []string{"commit", "rotation", "vault restart"} {
		var took []time.Duration
		count, fewest := 0, r.n
		for _, e := range r.events {
			if e.kind != kind {
				continue
			}
			count++
			fewest = min(fewest, e.minReady)
			if !e.done.IsZero() {
				took = append(took, e.done.Sub(e.at))
			}
		}
		if count == 0 {
			continue
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\t%d of %d\n", kind, count, len(took), pct(took, 0.5), pct(took, 1), fewest, r.n)
	}
	_ = tw.Flush()
	fmt.Printf("  (recovery is measured by polls every %s, so it is rounded up to that; a change still pending at the end is not counted as taken)\n", *pollPeriod)
	for _, e := range r.events {
		if e.kind == "vault restart" {
			took := "not while polled"
			if !e.done.IsZero() {
				took = e.done.Sub(e.back).Round(time.Millisecond).String()
			}
			fmt.Printf("  vault restart at %s: secrets back after %s, every Sync Ready %s later, fewest Ready %d\n",
				e.at.Sub(r.soakStart).Round(time.Second), e.back.Sub(e.at).Round(time.Millisecond), took, e.minReady)
		}
	}

	r.edits.mu.Lock()
	reverts := append([]time.Duration(nil), r.edits.reverts...)
	failures := r.edits.failures
	r.edits.mu.Unlock()
	sort.Slice(reverts, func(i, j int) bool { return reverts[i] < reverts[j] })
	fmt.Printf("  manual edits: %d reverted (p50 %s, p95 %s, max %s), %d not\n", len(reverts), pct(reverts, 0.5), pct(reverts, 0.95), pct(reverts, 1), len(failures))
	for _, f := range failures[:min(5, len(failures))] {
		fmt.Printf("    %s\n", f)
	}

	fmt.Printf("  controller log: %d lines, %d errors\n", r.logs.lines, r.logs.total)
	for _, c := range r.logs.classes() {
		fmt.Printf("    %5d  %s\n", r.logs.byClass[c], c)
	}
	for _, u := range r.logs.unexplained {
		fmt.Printf("    unexplained: %s\n", u)
	}
	for _, e := range append(r.pollErrs, r.sampleErrs...) {
		fmt.Printf("  bench: %s\n", e)
	}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1))].Round(time.Millisecond)
}
