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

// AcquireSlot asks the slots workflow for a slot, starting it on its own task
// queue if needed (signal-with-start is atomic, so concurrent first tasks
// start it once). A slots workflow it starts takes this worker's
// MAX_CONCURRENT_TASKS; the request itself never changes the capacity
// (in.Capacity, which runs of earlier releases send, is ignored).
//
// With in.Reply the request is the slots workflow's UpdateAcquire, whose
// reply says whether the slot was free and is the task's now: the task
// starts within its own workflow task instead of waiting for a grant signal
// and a workflow task more. Anything that stops the update (no slots
// workflow yet, a worker of an earlier release that has no such handler, a
// lost reply) falls back to the signal: that is always safe, because the
// slots workflow keys requests by workflow id, so a request that the update
// did take is answered by a (re)grant signal rather than a second slot.
func (a *Activities) AcquireSlot(ctx context.Context, in task.AcquireIn) (task.SlotReply, error) {
	if a.Temporal == nil {
		return task.SlotReply{}, errors.New("acquire slot: no Temporal client")
	}
	queue := firstNonEmpty(in.TaskQueue, a.TaskQueue)
	id := task.SlotsWorkflowID(queue)
	req := task.SlotRequest{WorkflowID: in.WorkflowID, Token: in.Token, QueuedAt: in.QueuedAt}
	if in.Reply {
		reply, err := a.acquireByUpdate(ctx, id, req)
		if err == nil {
			return reply, nil
		}
		if ctx.Err() != nil {
			return task.SlotReply{}, fmt.Errorf("acquire slot for %s: %w", in.WorkflowID, err)
		}
		a.log(ctx, task.Step{TaskID: in.TaskID}).Info("slot update refused; asking by signal", "error", err)
	}
	opts := client.StartWorkflowOptions{ID: id, TaskQueue: task.SlotsTaskQueue(queue)}
	_, err := a.Temporal.SignalWithStartWorkflow(ctx, id, task.SignalAcquire, req, opts, task.SlotsWorkflowName,
		slotsStart{Capacity: max(1, a.MaxConcurrentTasks), CapacityStartedAt: a.StartedAt})
	if err != nil {
		return task.SlotReply{}, fmt.Errorf("acquire slot for %s: %w", in.WorkflowID, err)
	}
	return task.SlotReply{}, nil
}

// slotUpdateTimeout bounds one UpdateAcquire: the handler answers in the
// slots workflow's next workflow task, so a reply that takes longer means
// that workflow is stuck or being rebuilt, and the signal path takes over.
const slotUpdateTimeout = 10 * time.Second

// acquireByUpdate sends UpdateAcquire. Its update id is the request's, so a
// retry of the same request is deduplicated by the server.
func (a *Activities) acquireByUpdate(ctx context.Context, slotsID string, req task.SlotRequest) (task.SlotReply, error) {
	uctx, cancel := context.WithTimeout(ctx, slotUpdateTimeout)
	defer cancel()
	h, err := a.Temporal.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID:   slotsID,
		UpdateID:     "acquire/" + req.WorkflowID + "/" + req.Token,
		UpdateName:   task.UpdateAcquire,
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return task.SlotReply{}, err
	}
	var reply task.SlotReply
	if err := h.Get(uctx, &reply); err != nil {
		return task.SlotReply{}, err
	}
	return reply, nil
}

// ReleaseSlot gives a slot back to the slots workflow of in's queue. A slots
// workflow that is not running holds no slot, so there is nothing to give
// back; a release sent twice (a replayed local activity) finds no holder
// with its token the second time and changes nothing.
func (a *Activities) ReleaseSlot(ctx context.Context, in task.ReleaseIn) error {
	if a.Temporal == nil {
		return errors.New("release slot: no Temporal client")
	}
	id := task.SlotsWorkflowID(firstNonEmpty(in.TaskQueue, a.TaskQueue))
	err := a.Temporal.SignalWorkflow(ctx, id, "", task.SignalRelease, task.SlotRelease{WorkflowID: in.WorkflowID, Token: in.Token})
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("release slot of %s: %w", in.WorkflowID, err)
	}
	return nil
}

// AnnounceCapacity tells the slots workflow of queue (starting it on its own
// task queue if need be) a worker's MAX_CONCURRENT_TASKS and start time; the
// most recently started worker's value is the capacity. Workers call it when
// they start.
func AnnounceCapacity(ctx context.Context, c client.Client, queue string, ann task.CapacityAnnouncement) error {
	id := task.SlotsWorkflowID(queue)
	opts := client.StartWorkflowOptions{ID: id, TaskQueue: task.SlotsTaskQueue(queue)}
	_, err := c.SignalWithStartWorkflow(ctx, id, task.SignalCapacity, ann, opts, task.SlotsWorkflowName,
		slotsStart{Capacity: max(1, ann.Capacity), CapacityStartedAt: ann.StartedAt})
	if err != nil {
		return fmt.Errorf("announcing MAX_CONCURRENT_TASKS=%d to %s: %w", ann.Capacity, id, err)
	}
	return nil
}

// slotsStart mirrors the first fields of workflows.SlotsState; activities do
// not import workflows.
type slotsStart struct {
	Capacity          int       `json:"capacity"`
	CapacityStartedAt time.Time `json:"capacity_started_at,omitzero"`
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
