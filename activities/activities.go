// Package activities holds every side effect the workflows need: store writes,
// LLM calls, workspace files and command runs. Each activity is idempotent: the
// rows it writes are keyed by the workflow step that asked for them.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"ai-platform/internal/agents"
	"ai-platform/internal/codex"
	"ai-platform/internal/live"
	"ai-platform/internal/llm"
	"ai-platform/internal/pricing"
	"ai-platform/internal/redact"
	"ai-platform/internal/runner"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/tracing"
	"ai-platform/internal/workspace"
)

// Store is the part of the store the activities use: tasks, their log,
// files and documents, usage charges, and the retention purge. Accounts and
// the store's lifetime (Ping, Close) belong to other parts of the process.
type Store interface {
	store.TaskStore
	store.EventLog
	store.FileStore
	store.UsageStore
	store.Purger
}

// Deps are the dependencies of the activities, injected by the worker.
type Deps struct {
	Store      Store
	Catalog    *workspace.Catalog
	Workspaces *workspace.Manager
	Provider   llm.Provider
	Agents     *agents.Agents
	Runner     runner.Executor
	Tools      *Toolbox
	Codex      *codex.Codex
	// Limits are MAX_TASK_FILES / MAX_TASK_BYTES.
	Limits               store.FileLimits
	MaxTokensPerDay      int64
	MaxCommandRunsPerDay int64
	// Temporal is used by the slot activities (signal-with-start, describe).
	Temporal  client.Client
	TaskQueue string
	// MaxConcurrentTasks and StartedAt are this worker's setting and start
	// time; a slots workflow the worker starts takes them as its capacity.
	MaxConcurrentTasks int
	StartedAt          time.Time
	Logger             *slog.Logger
	// Secrets are values that must never be written anywhere (API keys,
	// JWT secrets); a last line of defence redacts them from every write.
	Secrets []string
	// Metrics observes LLM requests and command runs; nil disables it.
	Metrics Metrics
	// Live receives what the models write while they write it (package
	// live); nil publishes nothing.
	Live live.Publisher
	// Prices turns token usage into cost (LLM_PRICES); the zero Table
	// prices nothing, so every cost is 0.
	Prices pricing.Table
	// HeartbeatEvery is how often long activities heartbeat (default 3s).
	HeartbeatEvery time.Duration
	Now            func() time.Time
}

// Activities is registered with the worker; its exported methods are the
// activities, named as in package task.
type Activities struct {
	Deps
	redact *redact.Redactor
}

// New checks the dependencies and returns the activities.
func New(d Deps) (*Activities, error) {
	if d.Store == nil || d.Workspaces == nil || d.Codex == nil || d.Provider == nil || d.Runner == nil {
		return nil, errors.New("activities: store, workspaces, codex, provider and runner are required")
	}
	if d.Catalog == nil {
		d.Catalog = workspace.EmptyCatalog()
	}
	if d.Agents == nil {
		d.Agents = &agents.Agents{Provider: d.Provider, MaxTokens: 1024, Temperature: 0.2}
	}
	if d.Metrics != nil {
		observed := *d.Agents
		observed.Provider = observedProvider{Provider: observed.Provider, metrics: d.Metrics, prices: d.Prices}
		d.Agents = &observed
	}
	if d.Tools == nil {
		d.Tools = &Toolbox{}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.HeartbeatEvery <= 0 {
		d.HeartbeatEvery = 3 * time.Second
	}
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	return &Activities{Deps: d, redact: redact.New(d.Secrets...)}, nil
}

// Register registers every activity under its contract name.
func (a *Activities) Register(w worker.ActivityRegistry) {
	reg := func(fn any, name string) { w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(a.Prepare, task.ActPrepare)
	reg(a.ResumePoint, task.ActResumePoint)
	reg(a.UpdateTask, task.ActUpdateTask)
	reg(a.Research, task.ActResearch)
	reg(a.Clarify, task.ActClarify)
	reg(a.RecordAnswers, task.ActRecordAnswers)
	reg(a.Design, task.ActDesign)
	reg(a.Code, task.ActCode)
	reg(a.Review, task.ActReview)
	reg(a.ReviewCritique, task.ActReviewCritique)
	reg(a.ReviewChecks, task.ActReviewChecks)
	reg(a.Finish, task.ActFinish)
	reg(a.AcquireSlot, task.ActAcquireSlot)
	reg(a.ReleaseSlot, task.ActReleaseSlot)
	reg(a.CheckHolders, task.ActCheckHolders)
	reg(a.PurgeExpired, task.ActPurge)
}

// RegisterSlots registers what the slots workflow's own worker runs: its
// holder check (the semaphore's one activity, which runs on its queue).
func (a *Activities) RegisterSlots(w worker.ActivityRegistry) {
	w.RegisterActivityWithOptions(a.CheckHolders, activity.RegisterOptions{Name: task.ActCheckHolders})
}

// idNamespace makes event/artifact/charge ids: UUIDv5 of task id and step key.
var idNamespace = uuid.MustParse("6f1c2b8e-3d4a-4e5f-9a7b-1c2d3e4f5a6b")

// StableID is the deterministic id of the row a step writes under sub.
func StableID(taskID, key string) string {
	return uuid.NewSHA1(idNamespace, []byte(taskID+"/"+key)).String()
}

func (a *Activities) log(ctx context.Context, step task.Step) *slog.Logger {
	l := a.Logger.With("task_id", step.TaskID, "step", step.Key)
	if step.RequestID != "" {
		l = l.With("request_id", step.RequestID)
	}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		l = l.With("workflow_id", info.WorkflowExecution.ID, "run_id", info.WorkflowExecution.RunID,
			"activity", info.ActivityType.Name, "attempt", info.Attempt)
	}
	// The activity's span, when traced: its lines and its trace find each other.
	if ids := tracing.LogAttrs(ctx); ids != nil {
		l = l.With(ids...)
	}
	return l
}

func attempt(ctx context.Context) int {
	if activity.IsActivity(ctx) {
		return int(activity.GetInfo(ctx).Attempt)
	}
	return 1
}

// keepAlive heartbeats in the background until stop is called, so a killed
// worker is noticed within the heartbeat timeout.
func (a *Activities) keepAlive(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) || activity.GetInfo(ctx).IsLocalActivity {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(a.HeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// nonRetryable builds a failure no retry can fix; its type is a failure_reason.
func nonRetryable(typ, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), typ, nil)
}

// storeErr classifies store errors: limits and missing tasks are final, the
// rest (an unreachable database) are retried by Temporal.
func storeErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var lim *store.LimitError
	if errors.As(err, &lim) {
		return nonRetryable(task.ErrTypeStorageLimit, "%s", lim.Error())
	}
	if errors.Is(err, store.ErrNotFound) {
		return nonRetryable(task.ErrTypeTaskNotFound, "%s: not found", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (a *Activities) getTask(ctx context.Context, id string) (store.Task, error) {
	t, err := a.Store.GetTask(ctx, id)
	return t, storeErr(err, "loading task "+id)
}
