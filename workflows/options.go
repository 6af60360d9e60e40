package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// nonRetryable lists activity error types that no retry can fix.
var nonRetryable = []string{
	task.ErrTypeQuota, task.ErrTypeStorageLimit, task.ErrTypeLLMProvider, task.ErrTypeLLMInvalid,
	task.ErrTypeTemplate, task.ErrTypePayloadTooBig, task.ErrTypeTaskNotFound, task.ErrTypeInvalidRequest,
}

// Stage timeouts used when the codex names none. Long activities heartbeat
// every few seconds, so a killed worker is noticed within heartbeatTimeout
// instead of a whole stage timeout.
const (
	heartbeatTimeout     = 20 * time.Second
	defaultStageTimeout  = 10 * time.Minute
	defaultReviewTimeout = 10 * time.Minute
)

func stageTimeout(p task.Plan, stage string, def time.Duration) time.Duration {
	if s, ok := p.Timeouts[stage]; ok && s > 0 {
		return time.Duration(s) * time.Second
	}
	return def
}

// bookkeeping options: store writes, quick and safe to retry many times.
func bookkeeping(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        20,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
}

// projection options: the task-row updates run as local activities, on the
// worker that runs the workflow, without a task-queue round trip.
func projection(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Second,
			MaximumAttempts:        30,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
}

// llmStage options: an LLM call per attempt; ENV.md promises two retries on
// transient errors, so three attempts in all.
func llmStage(ctx workflow.Context, p task.Plan, stage string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: stageTimeout(p, stage, defaultStageTimeout),
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
}

// reviewStage options: the single Review activity of runs recorded before
// the review was split (commands and the model's critique in one).
func reviewStage(ctx workflow.Context, p task.Plan) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: stageTimeout(p, task.StageReview, defaultReviewTimeout),
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
}

// checksStage options: the review's commands (ReviewChecks), three attempts
// in all like the LLM stages; a retry runs the commands again (the model's
// critique is not part of it).
func checksStage(ctx workflow.Context, p task.Plan) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: stageTimeout(p, task.StageReview, defaultReviewTimeout),
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: nonRetryable,
		},
	})
}
