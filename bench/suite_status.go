package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"ai-platform/internal/task"
)

// Suite 1: GET /api/tasks/{id} under a closed-loop load generator, for a
// task that is processing and one that has completed, at concurrency 1 and
// 32. Baselines: the raw SDK QueryWorkflow of the same task's state (what a
// client of bare Temporal would call) and a direct store read (the floor of
// what the handler must do).

// descDefault is a task the mock completes without questions.
const descDefault = "A command line tool that counts words and lines in text files and prints a summary"

func (b *bench) suiteStatus(ctx context.Context, kind string) ([]Figure, error) {
	p, err := b.startPlatform(ctx, kind, map[string]string{"ALLOWED_COMMANDS": "true", "MAX_CONCURRENT_TASKS": "8"})
	if err != nil {
		return nil, err
	}
	defer p.stop()
	finished, err := p.api.createTask(ctx, descDefault)
	if err != nil {
		return nil, err
	}
	if _, err := p.api.waitStatus(ctx, finished, "completed", 50*time.Millisecond, 3*time.Minute); err != nil {
		return nil, err
	}
	// Every LLM call of this one sleeps 10 minutes: it stays in research.
	running, err := p.api.createTask(ctx, descDefault+" [mock:slow=600]")
	if err != nil {
		return nil, err
	}
	defer func() { _ = p.api.cancelTask(context.WithoutCancel(ctx), running) }()
	if _, err := p.api.waitStatus(ctx, running, "processing", 20*time.Millisecond, 2*time.Minute); err != nil {
		return nil, err
	}
	const suite = "1 status read"
	var figs []Figure
	for _, tc := range []struct{ name, id string }{{"processing", running}, {"completed", finished}} {
		get := func(ctx context.Context) error {
			_, err := p.api.do(ctx, http.MethodGet, "/api/tasks/"+tc.id, nil, nil)
			return err
		}
		query := func(ctx context.Context) error {
			v, err := b.client.QueryWorkflow(ctx, task.WorkflowID(tc.id), "", task.QueryState)
			if err != nil {
				return err
			}
			var st task.State
			return v.Get(&st)
		}
		read := func(ctx context.Context) error {
			_, err := p.App.Store.GetTask(ctx, tc.id)
			return err
		}
		for _, conc := range []int{1, 32} {
			res := interleaved(ctx, b.opts.runs, conc, b.opts.dur, get, query, read)
			for i, what := range []string{"GET", "QueryWorkflow", "store read"} {
				if r := res[i]; r.Errors*100 > len(r.Lat) {
					return figs, fmt.Errorf("%s (%s, c=%d): %d of %d calls failed, first: %w", what, tc.name, conc,
						r.Errors, r.Errors+len(r.Lat), r.FirstErr)
				}
			}
			apiLat, apiRate := summarize(res[0].Lat), summarize(res[0].Rates)
			qLat, qRate := summarize(res[1].Lat), summarize(res[1].Rates)
			sLat := summarize(res[2].Lat)
			name := fmt.Sprintf("GET /api/tasks/{id}, %s task, c=%d", tc.name, conc)
			figs = append(figs,
				Figure{Suite: suite, Name: name + " latency", Store: kind, Unit: "ms", Value: apiLat}.
					withBase("SDK QueryWorkflow(state)", qLat),
				Figure{Suite: suite, Name: name + " latency", Store: kind, Unit: "ms", Value: apiLat}.
					withBase("store GetTask in process", sLat),
				Figure{Suite: suite, Name: name + " throughput", Store: kind, Unit: "req/s", Value: apiRate}.
					withBase("SDK QueryWorkflow(state)", qRate),
			)
		}
	}
	return figs, nil
}
