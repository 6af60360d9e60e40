package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
	"ai-platform/workflows"
)

// The semaphore's own ceiling (part of suite 4): how many grants a second
// one slots workflow sustains. n bare holder workflows (no store, no model,
// no activity) each ask the real SlotsWorkflow for a slot, wait for the
// grant, give the slot back at once and end. The holders cost the server
// work of their own, so the figure is a floor for the semaphore alone; the
// baseline is as many bare workflows started and completed the same way
// without a semaphore.

const slotHolderWorkflow = "BenchSlotHolderWorkflow"

// BenchSlotHolderWorkflow takes one slot of the semaphore on queue and gives
// it back.
func BenchSlotHolderWorkflow(ctx workflow.Context, queue string) error {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	slots := task.SlotsWorkflowID(queue)
	req := task.SlotRequest{WorkflowID: id, Token: id}
	if err := workflow.SignalExternalWorkflow(ctx, slots, "", task.SignalAcquire, req).Get(ctx, nil); err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	var g task.SlotGrant
	workflow.GetSignalChannel(ctx, task.SignalSlotGranted).Receive(ctx, &g)
	rel := task.SlotRelease{WorkflowID: id, Token: id}
	if err := workflow.SignalExternalWorkflow(ctx, slots, "", task.SignalRelease, rel).Get(ctx, nil); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

func (b *bench) slotsCeiling(ctx context.Context, kind string, n, capacity, conc int) (Figure, error) {
	queue := "bench-slots-" + uuid.NewString()[:8]
	// The holders on queue, the semaphore on its own queue, as the
	// platform's workers run them.
	w := worker.New(b.client, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(BenchSlotHolderWorkflow, workflow.RegisterOptions{Name: slotHolderWorkflow})
	sw := worker.New(b.client, task.SlotsTaskQueue(queue), worker.Options{})
	workflows.RegisterSlots(sw)
	sw.RegisterActivityWithOptions(func(context.Context, []string) ([]string, error) { return nil, nil },
		activity.RegisterOptions{Name: task.ActCheckHolders})
	for _, wk := range []worker.Worker{w, sw} {
		if err := wk.Start(); err != nil {
			return Figure{}, fmt.Errorf("slots worker: %w", err)
		}
		defer wk.Stop()
	}
	slotsID := task.SlotsWorkflowID(queue)
	if _, err := b.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: slotsID, TaskQueue: task.SlotsTaskQueue(queue)},
		task.SlotsWorkflowName, workflows.SlotsState{Capacity: capacity}); err != nil {
		return Figure{}, fmt.Errorf("starting the semaphore: %w", err)
	}
	defer func() { _ = b.client.TerminateWorkflow(context.WithoutCancel(ctx), slotsID, "", "benchmark done") }()
	run := func(name, q string, arg any) (time.Duration, error) {
		t0 := time.Now()
		err := forEach(ctx, n, conc, func(ctx context.Context, i int) error {
			r, err := b.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%d", q, i), TaskQueue: q}, name, arg)
			if err != nil {
				return err
			}
			return r.Get(ctx, nil)
		})
		return time.Since(t0), err
	}
	wall, err := run(slotHolderWorkflow, queue, queue)
	if err != nil {
		return Figure{}, fmt.Errorf("holders: %w", err)
	}
	rawWall, err := run(rawNoopWorkflow, b.raw.Queue, NoopIn{})
	if err != nil {
		return Figure{}, fmt.Errorf("bare workflows: %w", err)
	}
	one := func(v float64) Summary { return Summary{N: 1, P50: v, P95: v, P99: v} }
	return Figure{Suite: "4 concurrency cap", Name: fmt.Sprintf("one slots workflow: grants per second, %d holders, cap %d", n, capacity),
		Store: kind, Unit: "grants/s", Value: one(float64(n) / wall.Seconds()),
		Note: fmt.Sprintf("%d bare holder workflows, %d started at a time, each acquire -> grant -> release: %.1f s; %d bare workflows without a semaphore: %.1f s",
			n, conc, wall.Seconds(), n, rawWall.Seconds())}.
		withBase(fmt.Sprintf("%d bare workflows per second, %d at a time, no semaphore", n, conc), one(float64(n)/rawWall.Seconds())), nil
}
