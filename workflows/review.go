package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// ReviewWorkflow reruns the review of an ended task outside any HTTP
// request. The task's own status, progress and result stay as they were; the
// run adds a review_report and its review_started/review_finished events.
func ReviewWorkflow(ctx workflow.Context, in task.ReviewRun) (task.ReviewOut, error) {
	step := task.Step{TaskID: in.TaskID, Key: "review/" + in.RunID, OwnerKey: in.OwnerKey, RequestID: in.RequestID}
	req := task.ReviewIn{Step: step, Kind: task.ReviewRerun, RunID: in.RunID}
	var out task.ReviewOut
	err := workflow.ExecuteActivity(reviewStage(ctx, task.Plan{}), task.ActReview, req).Get(ctx, &out)
	return out, err
}

// CleanupWorkflow runs one retention pass; a Temporal Schedule starts it
// daily and the worker starts one at boot.
func CleanupWorkflow(ctx workflow.Context, in task.PurgeIn) (task.PurgeOut, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: 10 * time.Second},
	})
	var out task.PurgeOut
	err := workflow.ExecuteActivity(ctx, task.ActPurge, in).Get(ctx, &out)
	return out, err
}
