package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

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
