package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"ai-platform/internal/task"
	"ai-platform/workflows"
)

// Suite 4: throughput under MAX_CONCURRENT_TASKS. capTasks tasks (commands
// skipped) are created at once; the wall time until all have completed is
// compared with the ideal, capTasks/cap x the single-task time of suite 3,
// and with raw Temporal running as many no-op workflows cap at a time. A
// sampler counts tasks in `processing` (store, through the API) and slot
// holders (the slots workflow's query) every 50 ms; neither may exceed the cap.

func (b *bench) suiteCap(ctx context.Context, kind string) ([]Figure, error) {
	var figs []Figure
	for _, limit := range []int{4, 16} {
		f, err := b.capRun(ctx, kind, limit)
		figs = append(figs, f...)
		if err != nil {
			return figs, fmt.Errorf("cap %d: %w", limit, err)
		}
	}
	f, err := b.slotsCeiling(ctx, kind, b.opts.capTasks*5, 4, 64)
	if err != nil {
		return figs, fmt.Errorf("semaphore ceiling: %w", err)
	}
	return append(figs, f), nil
}

func (b *bench) capRun(ctx context.Context, kind string, limit int) ([]Figure, error) {
	p, err := b.startPlatform(ctx, kind, map[string]string{"ALLOWED_COMMANDS": "true", "MAX_CONCURRENT_TASKS": fmt.Sprint(limit)})
	if err != nil {
		return nil, err
	}
	defer p.stop()
	single := b.single[b.singleKey(kind)]
	if single == 0 { // suite 3 did not run: measure it here
		var ds []time.Duration
		for range 3 {
			t0 := time.Now()
			id, err := p.api.createTask(ctx, descDefault)
			if err != nil {
				return nil, err
			}
			if _, err := p.api.waitStatus(ctx, id, "completed", 10*time.Millisecond, 5*time.Minute); err != nil {
				return nil, err
			}
			ds = append(ds, time.Since(t0))
		}
		single = medianDuration(ds)
		b.single[b.singleKey(kind)] = single
	}
	n := b.opts.capTasks
	before, err := countTasks(ctx, p.api, "completed")
	if err != nil {
		return nil, err
	}
	smp := &capSampler{}
	sctx, stopSampling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); smp.run(sctx, b, p) }()
	t0 := time.Now()
	ids := make([]string, n)
	err = forEach(ctx, n, 16, func(ctx context.Context, i int) error {
		var err error
		ids[i], err = p.api.createTask(ctx, descDefault)
		return err
	})
	if err == nil {
		err = waitCount(ctx, p, before+n, 10*time.Minute)
	}
	wall := time.Since(t0)
	stopSampling()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	acts, err := activityCount(ctx, p.Client, task.WorkflowID(ids[0]))
	if err != nil {
		return nil, err
	}
	rawStart := time.Now()
	if _, err := b.rawTasks(ctx, n, limit, acts); err != nil {
		return nil, err
	}
	rawWall := time.Since(rawStart)
	ideal := time.Duration(float64(n) / float64(limit) * float64(single))
	const suite = "4 concurrency cap"
	one := func(v float64) Summary { return Summary{N: 1, P50: v, P95: v, P99: v} }
	name := fmt.Sprintf("%d tasks, MAX_CONCURRENT_TASKS=%d: wall time", n, limit)
	figs := []Figure{
		Figure{Suite: suite, Name: name, Store: kind, Unit: "s", Value: one(wall.Seconds()),
			Note: fmt.Sprintf("cap %d: ideal = %d/%d x %.2f s (single task, commands skipped)", limit, n, limit, single.Seconds())}.
			withBase("ideal", one(ideal.Seconds())),
		Figure{Suite: suite, Name: name, Store: kind, Unit: "s", Value: one(wall.Seconds())}.
			withBase(fmt.Sprintf("%d workflows of %d no-op activities, %d at a time", n, acts, limit), one(rawWall.Seconds())),
		Figure{Suite: suite, Name: fmt.Sprintf("max tasks processing at once, cap %d", limit), Store: kind, Unit: "tasks",
			Value: one(float64(smp.maxProcessing)),
			Note: fmt.Sprintf("cap %d: %d samples; max slot holders %d; the cap was %s", limit, smp.samples, smp.maxHolders,
				verdict(smp.maxProcessing <= limit && smp.maxHolders <= limit))}.
			withBase("the cap", one(float64(limit))),
	}
	if smp.maxProcessing > limit || smp.maxHolders > limit {
		return figs, fmt.Errorf("the cap %d was exceeded: %d processing, %d slot holders", limit, smp.maxProcessing, smp.maxHolders)
	}
	return figs, nil
}

func verdict(ok bool) string {
	if ok {
		return "never exceeded"
	}
	return "EXCEEDED"
}

// capSampler records the largest number of processing tasks and slot holders seen.
type capSampler struct {
	maxProcessing, maxHolders, samples int
}

func (s *capSampler) run(ctx context.Context, b *bench, p *platform) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n, err := countTasks(ctx, p.api, "processing"); err == nil {
			s.maxProcessing = max(s.maxProcessing, n)
			s.samples++
		}
		v, err := b.client.QueryWorkflow(ctx, task.SlotsWorkflowID(p.Config.TemporalTaskQueue), "", "state")
		if err == nil {
			var st workflows.SlotsState
			if v.Get(&st) == nil {
				s.maxHolders = max(s.maxHolders, len(st.Holders))
			}
		}
	}
}

// waitCount waits until n of the client's tasks have completed; a failed
// task is an error.
func waitCount(ctx context.Context, p *platform, n int, timeout time.Duration) error {
	return waitFor(ctx, timeout, func() (bool, string, error) {
		done, err := countTasks(ctx, p.api, "completed")
		if err != nil {
			return false, "", err
		}
		c, err := statusCounts(ctx, p.api)
		if err != nil {
			return false, "", err
		}
		if c["failed"] > 0 {
			return false, "", fmt.Errorf("%d tasks failed", c["failed"])
		}
		return done >= n, fmt.Sprintf("%d completed, %v", done, c), nil
	})
}
