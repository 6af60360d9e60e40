package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	enumspb "go.temporal.io/api/enums/v1"

	"ai-platform/internal/task"
)

// AcquireSlot asks the slots workflow for a slot, starting it if needed
// (signal-with-start is atomic, so concurrent first tasks start it once).
func (a *Activities) AcquireSlot(ctx context.Context, in task.AcquireIn) error {
	if a.Temporal == nil {
		return errors.New("acquire slot: no Temporal client")
	}
	queue := firstNonEmpty(in.TaskQueue, a.TaskQueue)
	id := task.SlotsWorkflowID(queue)
	req := task.SlotRequest{WorkflowID: in.WorkflowID, Token: in.Token, Capacity: in.Capacity, QueuedAt: in.QueuedAt}
	opts := client.StartWorkflowOptions{ID: id, TaskQueue: queue}
	_, err := a.Temporal.SignalWithStartWorkflow(ctx, id, task.SignalAcquire, req, opts, task.SlotsWorkflowName,
		slotsStart{Capacity: in.Capacity})
	if err != nil {
		return fmt.Errorf("acquire slot for %s: %w", in.WorkflowID, err)
	}
	return nil
}

// slotsStart mirrors the first fields of workflows.SlotsState; activities do
// not import workflows.
type slotsStart struct {
	Capacity int `json:"capacity"`
}

// CheckHolders returns the ids of workflows that are no longer running.
func (a *Activities) CheckHolders(ctx context.Context, ids []string) ([]string, error) {
	if a.Temporal == nil {
		return nil, errors.New("check holders: no Temporal client")
	}
	var closed []string
	for _, id := range ids {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		desc, err := a.Temporal.DescribeWorkflow(cctx, id, "")
		cancel()
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			closed = append(closed, id)
		case err != nil:
			return nil, fmt.Errorf("describe %s: %w", id, err)
		case desc.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			closed = append(closed, id)
		}
	}
	return closed, nil
}

// PurgeExpired deletes tasks and workspaces older than their TTLs, in batches.
func (a *Activities) PurgeExpired(ctx context.Context, in task.PurgeIn) (task.PurgeOut, error) {
	defer a.keepAlive(ctx)()
	var out task.PurgeOut
	now := a.Now()
	if in.TaskTTLDays > 0 {
		cutoff := now.Add(-time.Duration(in.TaskTTLDays) * 24 * time.Hour)
		batch := in.Batch
		if batch <= 0 {
			batch = 500
		}
		for {
			r, err := a.Store.Purge(ctx, cutoff, batch)
			if err != nil {
				return out, storeErr(err, "purging expired tasks")
			}
			out.Tasks += r.Tasks
			out.Events += r.Events
			out.Artifacts += r.Artifacts
			out.Files += r.Files
			out.Usage += r.Usage
			if r.Tasks == 0 || ctx.Err() != nil {
				break
			}
		}
	}
	if in.WorkspaceTTLDays > 0 {
		removed, err := a.Workspaces.Cleanup(now.Add(-time.Duration(in.WorkspaceTTLDays) * 24 * time.Hour))
		if err != nil {
			return out, fmt.Errorf("cleaning workspaces: %w", err)
		}
		out.Workspaces = len(removed)
	}
	if a.Metrics != nil {
		for kind, n := range map[string]int64{"tasks": out.Tasks, "events": out.Events, "artifacts": out.Artifacts,
			"files": out.Files, "usage": out.Usage, "workspaces": int64(out.Workspaces)} {
			a.Metrics.Purged(kind, n)
		}
	}
	a.Logger.Info("retention purge", "tasks", out.Tasks, "events", out.Events, "artifacts", out.Artifacts,
		"files", out.Files, "usage_rows", out.Usage, "workspaces", out.Workspaces)
	return out, nil
}
