package soak

import (
	"context"
	"fmt"
	"time"
)

// sample is the controller at one moment of the soak.
type sample struct {
	at         time.Duration // since the soak started
	rss        int64         // VmRSS, bytes
	goroutines float64
	heap       float64 // go_memstats_heap_inuse_bytes
	ready      int     // Syncs Ready at the last poll
}

// sampler records a sample every period, the first at once.
type sampler struct {
	ctl     *controller
	tracker *tracker
	samples []sample
	errs    []string
}

func (s *sampler) run(ctx context.Context, stop <-chan struct{}, period time.Duration) {
	start := time.Now()
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		s.take(ctx, time.Since(start))
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

func (s *sampler) take(ctx context.Context, at time.Duration) {
	rss, err := s.ctl.rss()
	if err != nil {
		s.errs = append(s.errs, fmt.Sprintf("%s: RSS: %v", at.Round(time.Second), err))
		return
	}
	m, err := s.ctl.scrape(ctx, "go_goroutines", "go_memstats_heap_inuse_bytes")
	if err != nil {
		s.errs = append(s.errs, fmt.Sprintf("%s: metrics: %v", at.Round(time.Second), err))
		return
	}
	s.samples = append(s.samples, sample{at: at, rss: rss, goroutines: m["go_goroutines"],
		heap: m["go_memstats_heap_inuse_bytes"], ready: s.tracker.lastReady()})
}
