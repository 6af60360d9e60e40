package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"ai-platform/activities"
	"ai-platform/api"
	"ai-platform/internal/agents"
	"ai-platform/internal/config"
	"ai-platform/internal/devserver"
	"ai-platform/internal/llm"
	"ai-platform/internal/runner"
	"ai-platform/internal/sandbox"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
	"ai-platform/web"
	"ai-platform/workflows"
)

// APIServer builds the HTTP server (not yet listening), with the account
// service (auth/hybrid modes) and the rate limiter. Its /metrics serves the
// app's registry, which in `run` also holds the worker's metrics.
func (a *App) APIServer(ctx context.Context, c client.Client) (*api.Server, error) {
	// The API starts tasks with their search attributes.
	if err := a.ensureSearchAttributes(ctx, c); err != nil {
		return nil, err
	}
	accounts, err := a.accounts(ctx)
	if err != nil {
		return nil, err
	}
	limiter, err := a.rateLimiter(ctx)
	if err != nil {
		return nil, err
	}
	a.Metrics.WatchTasks(a.Store, 5*time.Second)
	a.Metrics.RateLimitScopes(rateLimitScopes...)
	return api.New(api.Deps{
		Config: a.Config, Store: a.Store, Temporal: c, Catalog: a.Catalog, Logger: a.Log.With("component", "api"),
		Web: web.Handler(), Accounts: accounts, Limiter: limiter, Secrets: a.secrets(), Metrics: a.Metrics,
		TemporalUIURL: a.Config.TemporalUIURL, Live: a.Live, TracerProvider: a.requestTracer(),
		Extra: []func(*gin.Engine){func(e *gin.Engine) { e.GET("/metrics", gin.WrapH(a.Metrics.Handler())) }},
	}), nil
}

// drainTimeout bounds how long a shutdown waits for in-flight requests.
const drainTimeout = 15 * time.Second

// workerStopTimeout bounds how long a stopping worker waits for running
// activities; those still running are then cancelled and, failing, retried
// by another worker (or this one after a restart).
const workerStopTimeout = 10 * time.Second

// ServeHTTP listens on addr until ctx ends, then drains in-flight requests
// (bounded) before returning. ready, if set, receives the bound address.
func (a *App) ServeHTTP(ctx context.Context, h http.Handler, addr string, ready chan<- string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: no new connections; draining in-flight requests", "addr", ln.Addr().String(), "timeout", drainTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}

// secrets lists configured secret values that must never be written.
func (a *App) secrets() []string {
	c := a.Config
	out := []string{c.LLMAPIKey, c.AppAPIKey, c.AdminAPIKey, c.JWTSecret, c.RefreshTokenSecret, c.APIKeyHashSecret,
		c.BootstrapAdminPassword}
	if u, err := url.Parse(c.DatabaseURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	return out
}

// RunnerConfig is the command runner's configuration.
func RunnerConfig(cfg config.Config) runner.Config {
	l := cfg.CommandLimits
	return runner.Config{Allowed: cfg.AllowedCommands, Timeout: cfg.CommandTimeout,
		MaxOutput: cfg.CommandMaxOutputBytes, Sandbox: cfg.CommandSandbox, UID: l.UID, ScratchRoot: l.ScratchDir,
		Limits: runner.Limits{Processes: l.Processes, MemoryBytes: l.MemoryBytes, WorkspaceBytes: l.WorkspaceBytes,
			WorkspaceFiles: l.WorkspaceFiles, TmpBytes: l.TmpBytes}}
}

// NewExecutor is what runs the review's commands: the sandbox service when
// COMMAND_SANDBOX_SOCKET is set, else a runner in this process. Either fails
// (and the worker does not start) when commands could not be confined.
func NewExecutor(ctx context.Context, cfg config.Config) (runner.Executor, error) {
	if cfg.CommandSandboxSocket != "" {
		wait, cancel := context.WithTimeout(ctx, cfg.StartupWait)
		defer cancel()
		c, err := sandbox.Dial(wait, cfg.CommandSandboxSocket, cfg.WorkspaceRoot)
		if err != nil {
			return nil, fmt.Errorf("command runner: %w", err)
		}
		if c.Sandbox() == "service:"+config.SandboxNone && cfg.CommandSandbox != config.SandboxNone {
			return nil, fmt.Errorf("command runner: the sandbox service at %s runs commands unsandboxed (%s); "+
				"set COMMAND_SANDBOX=none on the worker too to accept that", cfg.CommandSandboxSocket, c.SandboxNote())
		}
		return c, nil
	}
	r, err := runner.New(RunnerConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("command runner: %w", err)
	}
	return r, nil
}

// NewWorker builds a worker with every workflow and activity registered.
func (a *App) NewWorker(ctx context.Context, c client.Client) (worker.Worker, error) {
	cfg := a.Config
	// The task workflows upsert their search attributes.
	if err := a.ensureSearchAttributes(ctx, c); err != nil {
		return nil, err
	}
	provider, err := llm.New(llm.Settings{Provider: cfg.LLMProvider, Model: cfg.LLMModel, APIKey: cfg.LLMAPIKey,
		BaseURL: cfg.LLMBaseURL, MaxTokens: cfg.LLMMaxTokens, Timeout: cfg.LLMTimeout, Temperature: cfg.LLMTemperature,
		Stream: cfg.LLMStream, MockStreamDelay: cfg.LLMMockStreamDelay})
	if err != nil {
		return nil, err
	}
	run, err := NewExecutor(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if r, ok := run.(*runner.Runner); ok {
		// The sandbox it started ahead for the next command, and that
		// sandbox's workspace copy, go when the app closes.
		a.closers = append(a.closers, func() error { r.Close(); return nil })
	}
	root, err := filepath.Abs(cfg.WorkspaceRoot)
	if err != nil {
		return nil, err
	}
	wsm, err := workspace.NewManager(root)
	if err != nil {
		return nil, fmt.Errorf("workspaces: %w", err)
	}
	log := a.Log.With("component", "worker")
	prices, err := workerPrices(cfg, log)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	acts, err := activities.New(activities.Deps{
		Store: a.Store, Catalog: a.Catalog, Workspaces: wsm, Provider: provider,
		Agents: &agents.Agents{Provider: provider, MaxTokens: cfg.LLMMaxTokens, Temperature: cfg.LLMTemperature, Fallbacks: cfg.LLMFallbackModels, Prompts: a.Codex.Prompts},
		Runner: run, Tools: activities.ProbeTools(ctx, run, root, log), Codex: a.Codex,
		Limits:          store.FileLimits{MaxFiles: cfg.MaxTaskFiles, MaxBytes: cfg.MaxTaskBytes},
		MaxTokensPerDay: cfg.MaxTokensPerDay, MaxCommandRunsPerDay: cfg.MaxCommandRunsPerDay,
		Temporal: c, TaskQueue: cfg.TemporalTaskQueue, Logger: log, Secrets: a.secrets(), Metrics: a.Metrics, Live: a.Live,
		MaxConcurrentTasks: cfg.MaxConcurrentTasks, StartedAt: started, Prices: prices,
	})
	if err != nil {
		return nil, err
	}
	// The slots workflow takes its capacity from the most recently started
	// worker, so a changed MAX_CONCURRENT_TASKS holds from this start on.
	host, _ := os.Hostname()
	ann := task.CapacityAnnouncement{Capacity: cfg.MaxConcurrentTasks, StartedAt: started,
		Worker: fmt.Sprintf("%d@%s", os.Getpid(), host)}
	actx, cancel := context.WithTimeout(ctx, cfg.StartupWait)
	defer cancel()
	if err := activities.AnnounceCapacity(actx, c, cfg.TemporalTaskQueue, ann); err != nil {
		return nil, err
	}
	// The SDK keeps one workflow cache per process, sized when the first
	// worker of the process starts (its default, 10,000, would keep every
	// parked task in memory); a worker started beside a running one shares
	// that one's cache.
	worker.SetStickyWorkflowCacheSize(cfg.WorkflowCacheEntries())
	w := worker.New(c, cfg.TemporalTaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: max(16, 4*cfg.MaxConcurrentTasks),
		WorkerStopTimeout:                  workerStopTimeout,
	})
	// The slots workflow of an earlier release may still run on the task
	// queue until it moves to its own (changeSlotsOwnQueue), so the task
	// queue's worker keeps it registered too.
	workflows.Register(w)
	acts.Register(w)
	sw := worker.New(c, task.SlotsTaskQueue(cfg.TemporalTaskQueue), worker.Options{WorkerStopTimeout: workerStopTimeout})
	workflows.RegisterSlots(sw)
	acts.RegisterSlots(sw)
	return withSlotsWorker{Worker: w, slots: sw}, nil
}

// withSlotsWorker is the task queue's worker with the worker of the slots
// workflow's own queue beside it (task.SlotsTaskQueue); registrations go to
// the task queue's, and the two start and stop together.
type withSlotsWorker struct {
	worker.Worker
	slots worker.Worker
}

func (w withSlotsWorker) Start() error {
	if err := w.slots.Start(); err != nil {
		return fmt.Errorf("slots worker: %w", err)
	}
	if err := w.Worker.Start(); err != nil {
		w.slots.Stop()
		return err
	}
	return nil
}

func (w withSlotsWorker) Run(interruptCh <-chan interface{}) error {
	if err := w.slots.Start(); err != nil {
		return fmt.Errorf("slots worker: %w", err)
	}
	defer w.slots.Stop()
	return w.Worker.Run(interruptCh)
}

// Stop stops the task queue's worker first: a task's step still running
// while it drains may ask for a slot (UpdateAcquire), which is answered only
// while the semaphore's worker runs.
func (w withSlotsWorker) Stop() {
	w.Worker.Stop()
	w.slots.Stop()
}

// cleanupScheduleID names the retention schedule of a task queue.
func cleanupScheduleID(queue string) string { return "cleanup-" + queue }

// EnsureCleanupSchedule makes the daily retention schedule match the current
// configuration and runs one pass now. The schedule is created on the first
// start; on later starts its action is rewritten with the current TTLs (a
// schedule keeps the arguments it was created with, so without the update a
// changed TASK_TTL_DAYS would never reach it). With both TTLs <= 0 retention
// is off: the schedule is deleted and no pass runs.
func (a *App) EnsureCleanupSchedule(ctx context.Context, c client.Client) {
	cfg := a.Config
	id := cleanupScheduleID(cfg.TemporalTaskQueue)
	sc := c.ScheduleClient()
	if cfg.TaskTTLDays <= 0 && cfg.WorkspaceTTLDays <= 0 {
		err := sc.GetHandle(ctx, id).Delete(ctx)
		var missing *serviceerror.NotFound
		switch {
		case err == nil:
			a.Log.Info("retention is off (TASK_TTL_DAYS and WORKSPACE_TTL_DAYS <= 0): deleted the cleanup schedule", "schedule", id)
		case errors.As(err, &missing):
		default:
			a.Log.Warn("retention is off but the cleanup schedule could not be deleted: it keeps purging with its old settings",
				"schedule", id, "error", err)
		}
		return
	}
	in := task.PurgeIn{TaskTTLDays: cfg.TaskTTLDays, WorkspaceTTLDays: cfg.WorkspaceTTLDays, Batch: 500}
	want := client.Schedule{
		Spec: &client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: id + "-run", Workflow: task.CleanupWorkflowName,
			Args: []any{in}, TaskQueue: cfg.TemporalTaskQueue},
		Policy: &client.SchedulePolicies{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP},
	}
	_, err := sc.Create(ctx, client.ScheduleOptions{ID: id, Spec: *want.Spec, Action: want.Action, Overlap: want.Policy.Overlap})
	var exists *serviceerror.AlreadyExists
	switch {
	case err == nil:
	case errors.Is(err, temporal.ErrScheduleAlreadyRunning) || errors.As(err, &exists):
		a.updateCleanupSchedule(ctx, sc.GetHandle(ctx, id), want, in)
	default:
		a.Log.Warn("could not create the cleanup schedule", "schedule", id, "error", err)
	}
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id + "-boot-" + strconv.FormatInt(time.Now().Unix()/3600, 10), TaskQueue: cfg.TemporalTaskQueue,
	}, task.CleanupWorkflowName, in)
	if err != nil {
		a.Log.Warn("could not start the start-up cleanup", "error", err)
	}
}

// updateCleanupSchedule rewrites an existing schedule's spec, action and
// overlap policy to want, unless its action already carries in. Its state
// (paused by an operator, notes) is kept.
func (a *App) updateCleanupSchedule(ctx context.Context, h client.ScheduleHandle, want client.Schedule, in task.PurgeIn) {
	var old *task.PurgeIn
	err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(cur client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := cur.Description.Schedule
		old = cleanupArgs(s.Action)
		if old != nil && *old == in && sameCleanupSpec(s.Spec) && s.Policy != nil && s.Policy.Overlap == want.Policy.Overlap {
			return nil, temporal.ErrSkipScheduleUpdate
		}
		next := want
		next.State = s.State
		if s.Policy != nil {
			p := *s.Policy
			p.Overlap = want.Policy.Overlap
			next.Policy = &p
		}
		return &client.ScheduleUpdate{Schedule: &next}, nil
	}})
	switch {
	case errors.Is(err, temporal.ErrSkipScheduleUpdate):
	case err != nil:
		a.Log.Warn("could not update the cleanup schedule: it keeps its previous settings", "schedule", h.GetID(), "error", err)
	case old == nil:
		a.Log.Info("cleanup schedule updated", "schedule", h.GetID(), "task_ttl_days", in.TaskTTLDays, "workspace_ttl_days", in.WorkspaceTTLDays)
	default:
		a.Log.Info("cleanup schedule updated", "schedule", h.GetID(), "task_ttl_days", in.TaskTTLDays,
			"workspace_ttl_days", in.WorkspaceTTLDays, "previous_task_ttl_days", old.TaskTTLDays,
			"previous_workspace_ttl_days", old.WorkspaceTTLDays)
	}
}

// cleanupArgs decodes the PurgeIn a described schedule action starts the
// cleanup workflow with; nil when it is anything else.
func cleanupArgs(action client.ScheduleAction) *task.PurgeIn {
	wa, ok := action.(*client.ScheduleWorkflowAction)
	if !ok || len(wa.Args) != 1 {
		return nil
	}
	if name, _ := wa.Workflow.(string); name != task.CleanupWorkflowName {
		return nil
	}
	p, ok := wa.Args[0].(*commonpb.Payload)
	if !ok {
		return nil
	}
	var in task.PurgeIn
	if err := converter.GetDefaultDataConverter().FromPayload(p, &in); err != nil {
		return nil
	}
	return &in
}

func sameCleanupSpec(s *client.ScheduleSpec) bool {
	return s != nil && len(s.Intervals) == 1 && s.Intervals[0].Every == 24*time.Hour && s.Intervals[0].Offset == 0 &&
		len(s.Calendars) == 0 && len(s.CronExpressions) == 0
}

// Urls are what `run` prints once everything is up.
type Urls struct {
	App, API, TemporalUI, Temporal string
}

// RunAll runs a local dev server (unless TEMPORAL_ADDRESS is set), the worker
// and the API in this process until ctx ends, then shuts down in order.
func (a *App) RunAll(ctx context.Context, started func(Urls)) error {
	cfg := a.Config
	address := cfg.TemporalAddress
	var dev *devserver.Server
	if cfg.LocalTemporal() {
		var err error
		dev, err = devserver.Start(ctx, devserver.Options{
			Bin: cfg.TemporalBin, DBFile: filepath.Join(cfg.DataDir, "temporal.db"), Port: cfg.TemporalDevPort,
			UIPort: cfg.TemporalUIPort, Namespace: cfg.TemporalNamespace, LogFile: filepath.Join(cfg.DataDir, "temporal.log"),
			Logger: a.Log,
		})
		if err != nil {
			return err
		}
		defer func() {
			if err := dev.Stop(); err != nil {
				a.Log.Warn("stopping the temporal dev server", "error", err)
			}
		}()
		address = dev.Address()
		if a.Config.TemporalUIURL == "" {
			a.Config.TemporalUIURL = strings.Replace(dev.UIURL(), "127.0.0.1", "localhost", 1)
		}
	}
	c, err := a.Dial(ctx, address)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := a.NewWorker(ctx, c)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer a.StopWorker(w)
	a.EnsureCleanupSchedule(ctx, c)
	srv, err := a.APIServer(ctx, c)
	if err != nil {
		return err
	}
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- a.ServeHTTP(ctx, srv.Handler(), net.JoinHostPort("", strconv.Itoa(cfg.Port)), ready)
	}()
	select {
	case addr := <-ready:
		_, port, _ := net.SplitHostPort(addr)
		u := Urls{App: "http://localhost:" + port + "/", API: "http://localhost:" + port + "/api", Temporal: address}
		if dev != nil {
			u.TemporalUI = dev.UIURL()
		}
		if started != nil {
			started(u)
		}
	case err := <-errc:
		return err
	}
	return <-errc
}
