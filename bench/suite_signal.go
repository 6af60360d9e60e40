package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"ai-platform/internal/task"
)

// Suite 2: the signal path of a task waiting for answers. For each task in
// needs_input: POST /input (answers, no auto-resume), POST /resume, then
// polling GET /api/tasks/{id} until it says processing; the task is then
// cancelled and its workflow closed before the next one is measured.
// Baseline: a raw workflow with an input and a resume signal and a state
// query; the same two SignalWorkflow calls, then QueryWorkflow until it
// says processing.

// descClarify makes the mock ask one question (id "scope").
const descClarify = descDefault + " [mock:clarify]"

// pollEvery is how often "until visible" loops look; it bounds their error.
const pollEvery = 2 * time.Millisecond

func (b *bench) suiteSignal(ctx context.Context, kind string) ([]Figure, error) {
	// A high cap: a resumed task must not wait for another's slot here.
	p, err := b.startPlatform(ctx, kind, map[string]string{"ALLOWED_COMMANDS": "true", "MAX_CONCURRENT_TASKS": "64"})
	if err != nil {
		return nil, err
	}
	defer p.stop()
	n := b.opts.signalTasks
	ids := make([]string, n)
	if err := forEach(ctx, n, 8, func(ctx context.Context, i int) error {
		id, err := p.api.createTask(ctx, descClarify)
		if err != nil {
			return err
		}
		ids[i] = id
		_, err = p.api.waitStatus(ctx, id, "needs_input", 20*time.Millisecond, 3*time.Minute)
		return err
	}); err != nil {
		return nil, err
	}
	var input, resume, visible, total []time.Duration
	for _, id := range ids {
		t0 := time.Now()
		if _, err := p.api.do(ctx, http.MethodPost, "/api/tasks/"+id+"/input",
			map[string]any{"answers": map[string]any{"scope": "minimal"}}, nil); err != nil {
			return nil, err
		}
		t1 := time.Now()
		if _, err := p.api.do(ctx, http.MethodPost, "/api/tasks/"+id+"/resume", map[string]any{}, nil); err != nil {
			return nil, err
		}
		t2 := time.Now()
		if _, err := p.api.waitStatus(ctx, id, "processing", pollEvery, time.Minute); err != nil {
			return nil, err
		}
		t3 := time.Now()
		input, resume, visible, total = append(input, t1.Sub(t0)), append(resume, t2.Sub(t1)), append(visible, t3.Sub(t1)),
			append(total, t3.Sub(t0))
		if err := p.settle(ctx, id); err != nil {
			return nil, err
		}
	}
	rInput, rResume, rVisible, rTotal, err := b.rawSignal(ctx, n)
	if err != nil {
		return nil, err
	}
	const suite = "2 signal path"
	f := func(name string, v, base []time.Duration, what string) Figure {
		return Figure{Suite: suite, Name: name, Store: kind, Unit: "ms", Value: summarize(ms(v))}.withBase(what, summarize(ms(base)))
	}
	return []Figure{
		f("POST /input accepted", input, rInput, "SignalWorkflow(input) returns"),
		f("POST /resume accepted", resume, rResume, "SignalWorkflow(resume) returns"),
		f("POST /resume sent -> GET shows processing", visible, rVisible, "resume signal -> QueryWorkflow shows processing"),
		f("POST /input + /resume -> processing", total, rTotal, "both signals -> query shows processing"),
	}, nil
}

// settle cancels a measured task and waits until its workflow has closed.
// The next task is measured on a platform with nothing else running, as the
// raw baseline is: a resumed task left running would have its design stage,
// its cancellation and its cleanup compete with the next measurement for
// the two cores and the dev server's database (measured: /input 2.68x raw
// with the previous task still running, 1.88x with it settled, in one
// pair of runs).
func (p *platform) settle(ctx context.Context, id string) error {
	if err := p.api.cancelTask(ctx, id); err != nil {
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	return p.waitClosed(ctx, id, time.Minute)
}

// waitClosed long-polls a task's workflow until it has closed, however it
// ended (a cancelled or failed run's Get returns that as its error); only a
// wait that did not see the end within timeout is a failure.
func (p *platform) waitClosed(ctx context.Context, id string, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_ = p.Client.GetWorkflow(wctx, task.WorkflowID(id), "").Get(wctx, nil)
	if wctx.Err() != nil {
		return fmt.Errorf("task %s: workflow still running after %s", id, timeout)
	}
	return nil
}

// rawSignal runs the baseline on n fresh BenchWaitWorkflows.
func (b *bench) rawSignal(ctx context.Context, n int) (input, resume, visible, total []time.Duration, err error) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "bench-wait-" + uuid.NewString()
		if _, err := b.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: b.raw.Queue},
			rawWaitWorkflow, WaitIn{Hold: true}); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	defer func() {
		for _, id := range ids {
			_ = b.client.SignalWorkflow(context.WithoutCancel(ctx), id, "", rawSignalStop, nil)
		}
	}()
	for _, id := range ids {
		if _, err := b.rawState(ctx, id); err != nil { // the first workflow task has run
			return nil, nil, nil, nil, err
		}
	}
	for _, id := range ids {
		t0 := time.Now()
		if err := b.client.SignalWorkflow(ctx, id, "", rawSignalInput, map[string]any{"scope": "minimal"}); err != nil {
			return nil, nil, nil, nil, err
		}
		t1 := time.Now()
		if err := b.client.SignalWorkflow(ctx, id, "", rawSignalResume, nil); err != nil {
			return nil, nil, nil, nil, err
		}
		t2 := time.Now()
		for {
			st, err := b.rawState(ctx, id)
			if err != nil {
				return nil, nil, nil, nil, err
			}
			if st.Status != "needs_input" {
				break
			}
			time.Sleep(pollEvery)
		}
		t3 := time.Now()
		input, resume, visible, total = append(input, t1.Sub(t0)), append(resume, t2.Sub(t1)), append(visible, t3.Sub(t1)),
			append(total, t3.Sub(t0))
	}
	return input, resume, visible, total, nil
}

func (b *bench) rawState(ctx context.Context, id string) (WaitState, error) {
	var st WaitState
	v, err := b.client.QueryWorkflow(ctx, id, "", rawQueryState)
	if err != nil {
		return st, fmt.Errorf("query %s: %w", id, err)
	}
	return st, v.Get(&st)
}
