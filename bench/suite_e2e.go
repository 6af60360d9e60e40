package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"ai-platform/internal/task"
)

// Suite 3: a task from POST /api/tasks to GET showing completed, with the
// mock LLM on python_cli; once with the review's commands skipped
// (ALLOWED_COMMANDS holds only `true`, so lint, compile and tests are
// skipped) and once running them. Baseline: a raw workflow running the same
// number of no-op activities as the task did, at the same concurrency.

func (b *bench) suiteE2E(ctx context.Context, kind string, withCommands bool) ([]Figure, error) {
	var figs []Figure
	variants := []struct {
		name string
		env  map[string]string
		conc int
	}{{"commands skipped", map[string]string{"ALLOWED_COMMANDS": "true"}, 1}}
	if withCommands {
		variants = append(variants, struct {
			name string
			env  map[string]string
			conc int
		}{"with commands", map[string]string{}, b.opts.e2eConc})
	}
	for _, v := range variants {
		v.env["MAX_CONCURRENT_TASKS"] = fmt.Sprint(max(4, v.conc))
		f, err := b.e2eVariant(ctx, kind, v.name, v.env, v.conc)
		if err != nil {
			return figs, fmt.Errorf("%s: %w", v.name, err)
		}
		figs = append(figs, f)
	}
	return figs, nil
}

func (b *bench) e2eVariant(ctx context.Context, kind, name string, env map[string]string, conc int) (Figure, error) {
	p, err := b.startPlatform(ctx, kind, env)
	if err != nil {
		return Figure{}, err
	}
	defer p.stop()
	one := func(ctx context.Context) (string, time.Duration, error) {
		t0 := time.Now()
		id, err := p.api.createTask(ctx, descDefault)
		if err != nil {
			return "", 0, err
		}
		if err := p.waitCompleted(ctx, id, 5*time.Minute); err != nil {
			return id, 0, err
		}
		return id, time.Since(t0), nil
	}
	// The warm-up task (templates, sandbox, caches) also tells how many
	// activities the baseline workflow must run.
	warm, _, err := one(ctx)
	if err != nil {
		return Figure{}, err
	}
	nActs, err := activityCount(ctx, p.Client, task.WorkflowID(warm))
	if err != nil {
		return Figure{}, err
	}
	if _, err := b.rawTask(ctx, nActs); err != nil {
		return Figure{}, err
	}
	// Each slot runs a task, then the baseline, so both see the same load.
	n := b.opts.e2eTasks
	ds, raw := make([]time.Duration, n), make([]time.Duration, n)
	ids := make([]string, n)
	if err := forEach(ctx, n, conc, func(ctx context.Context, i int) error {
		var err error
		if ids[i], ds[i], err = one(ctx); err != nil {
			return err
		}
		raw[i], err = b.rawTask(ctx, nActs)
		return err
	}); err != nil {
		return Figure{}, err
	}
	other := 0
	for _, id := range ids {
		c, err := activityCount(ctx, p.Client, task.WorkflowID(id))
		if err != nil {
			return Figure{}, err
		}
		if c != nActs {
			other++
		}
	}
	if name == "commands skipped" {
		b.single[b.singleKey(kind)] = medianDuration(ds)
	}
	note := fmt.Sprintf("%s: a task runs %d activities", name, nActs)
	if other > 0 {
		note += fmt.Sprintf(" (%d of %d tasks ran another number)", other, n)
	}
	return Figure{Suite: "3 end to end", Name: fmt.Sprintf("create -> completed, %s, %d in flight", name, conc), Store: kind,
		Unit: "s", Value: summarize(seconds(ds...)), Note: note}.
		withBase(fmt.Sprintf("workflow of %d no-op activities", nActs), summarize(seconds(raw...))), nil
}

// waitCompleted waits for a task's workflow to close, as the baseline
// waits for its raw workflow's result (a long poll), then reads the task
// through the API, which must say completed. The workflow writes the row's
// completed status before it closes, so one GET normally suffices; a short
// poll covers a row that is not there yet. Polling GET from the start, every
// 10 ms, cost this process about a fifth of its CPU in suite 3 (one profile:
// 1.7 s of 9.4 s in the API's GET handler), CPU the dev server and the task
// itself then lacked on two cores, where the baseline pays nothing for its wait.
func (p *platform) waitCompleted(ctx context.Context, id string, timeout time.Duration) error {
	if err := p.waitClosed(ctx, id, timeout); err != nil {
		return err
	}
	// A failed or cancelled run: this GET says how it ended.
	_, err := p.api.waitStatus(ctx, id, "completed", 2*time.Millisecond, 10*time.Second)
	return err
}

// rawTasks runs n BenchNoopWorkflows of acts activities, conc at a time,
// and returns each one's start -> result time.
func (b *bench) rawTasks(ctx context.Context, n, conc, acts int) ([]time.Duration, error) {
	var mu sync.Mutex
	var out []time.Duration
	err := forEach(ctx, n, conc, func(ctx context.Context, _ int) error {
		d, err := b.rawTask(ctx, acts)
		mu.Lock()
		out = append(out, d)
		mu.Unlock()
		return err
	})
	return out, err
}

func (b *bench) rawTask(ctx context.Context, acts int) (time.Duration, error) {
	t0 := time.Now()
	run, err := b.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "bench-noop-" + uuid.NewString(), TaskQueue: b.raw.Queue},
		rawNoopWorkflow, NoopIn{Activities: acts})
	if err != nil {
		return 0, err
	}
	if err := run.Get(ctx, nil); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// activityCount counts the activities a workflow scheduled (all its runs
// are in one history unless it continued as new, which a short task does not).
func activityCount(ctx context.Context, c client.Client, workflowID string) (int, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return 0, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
			n++
		}
	}
	return n, nil
}
