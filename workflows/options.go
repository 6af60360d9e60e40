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
	task.ErrTypeLLMRefused, task.ErrTypeBudgetStop,
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

// retries is the policy every activity here shares: backoff doubling from
// initial up to ceiling, at most attempts tries, and none for the errors no
// retry can fix.
func retries(initial, ceiling time.Duration, attempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        initial,
		BackoffCoefficient:     2,
		MaximumInterval:        ceiling,
		MaximumAttempts:        attempts,
		NonRetryableErrorTypes: nonRetryable,
	}
}

// bookkeeping options: store writes, quick and safe to retry many times.
func bookkeeping(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         retries(time.Second, 30*time.Second, 20),
	})
}

// projection options: the task-row updates run as local activities, on the
// worker that runs the workflow, without a task-queue round trip.
func projection(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         retries(200*time.Millisecond, 10*time.Second, 30),
	})
}

// localBookkeeping is bookkeeping as a local activity: the gate and the
// slot request of the signal path (see changeSignalPath), which must not cost
// a task-queue round trip each.
func localBookkeeping(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         retries(200*time.Millisecond, 30*time.Second, 20),
	})
}

// llmStage options: an LLM call per attempt; ENV.md promises two retries on
// transient errors, so three attempts in all.
func llmStage(ctx workflow.Context, p task.Plan, stage string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: stageTimeout(p, stage, defaultStageTimeout),
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         retries(time.Second, time.Minute, 3),
	})
}

// reviewStage options: the single Review activity of runs recorded before
// the review was split (commands and the model's critique in one).
func reviewStage(ctx workflow.Context, p task.Plan) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: stageTimeout(p, task.StageReview, defaultReviewTimeout),
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         retries(time.Second, 30*time.Second, 5),
	})
}

// checksStage options: the review's commands (ReviewChecks), three attempts
// in all like the LLM stages; a retry runs the commands again (the model's
// critique is not part of it).
func checksStage(ctx workflow.Context, p task.Plan) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: stageTimeout(p, task.StageReview, defaultReviewTimeout),
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         retries(time.Second, 30*time.Second, 3),
	})
}
