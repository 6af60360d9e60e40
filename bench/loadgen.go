package main

import (
	"context"
	"sync"
	"time"
)

// loadRun is one closed-loop load run: every worker sends its next request
// as soon as the previous one answers.
type loadRun struct {
	Latencies []time.Duration
	Errors    int
	FirstErr  error
	Elapsed   time.Duration
}

// Rate is completed requests per second.
func (r loadRun) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// closedLoop runs fn from conc goroutines for d and records each call's
// latency. Errors are counted, not timed.
func closedLoop(ctx context.Context, conc int, d time.Duration, fn func(context.Context) error) loadRun {
	var (
		mu  sync.Mutex
		out loadRun
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1024)
			errs := 0
			var first error
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				if err := fn(ctx); err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			out.Latencies = append(out.Latencies, lat...)
			out.Errors += errs
			if out.FirstErr == nil {
				out.FirstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	out.Elapsed = time.Since(start)
	return out
}

// loadFigures are one target's pooled latencies (ms) and per-run rates.
type loadFigures struct {
	Lat, Rates []float64
	Errors     int
	FirstErr   error
}

// interleaved runs closedLoop `runs` times for each target in turn (after
// a short warm-up of each), so that the targets share the machine's load
// as evenly as a shared machine allows.
func interleaved(ctx context.Context, runs, conc int, d time.Duration, fns ...func(context.Context) error) []loadFigures {
	out := make([]loadFigures, len(fns))
	for _, fn := range fns {
		closedLoop(ctx, conc, d/4, fn) // warm-up: connections, caches
	}
	for range runs {
		for i, fn := range fns {
			r := closedLoop(ctx, conc, d, fn)
			out[i].Lat = append(out[i].Lat, ms(r.Latencies)...)
			out[i].Rates = append(out[i].Rates, r.Rate())
			out[i].Errors += r.Errors
			if out[i].FirstErr == nil {
				out[i].FirstErr = r.FirstErr
			}
		}
	}
	return out
}

// forEach runs fn(i) for i in [0, n) from conc goroutines and returns the
// first error.
func forEach(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
