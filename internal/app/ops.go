package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"ai-platform/api"
	"ai-platform/internal/config"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// openPostgres opens the store, retrying while the database is unreachable
// (a container started together with PostgreSQL) for up to STARTUP_WAIT.
// Errors no wait can fix (a bad URL, a failed migration) return at once.
func openPostgres(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Postgres, error) {
	deadline := time.Now().Add(cfg.StartupWait)
	for attempt := 1; ; attempt++ {
		pg, err := store.OpenPostgres(ctx, cfg.DatabaseURL)
		if err == nil || !errors.Is(err, store.ErrUnavailable) {
			return pg, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("PostgreSQL still unreachable after %s (STARTUP_WAIT_SECONDS): %w", cfg.StartupWait, err)
		}
		log.Warn("waiting for PostgreSQL", "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(time.Duration(attempt)*time.Second, 5*time.Second)):
		}
	}
}

// ServeWorkerOps serves the worker's /metrics and /health on addr until ctx
// ends. /health is liveness: the process runs and its worker was started.
func (a *App) ServeWorkerOps(ctx context.Context, addr string, ready chan<- string) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"healthy"}` + "\n"))
	})
	return a.ServeHTTP(ctx, mux, addr, ready)
}

// cancelReportGrace is how long a stopped worker keeps its Temporal client
// open after cancelling the activities that outlived workerStopTimeout.
const cancelReportGrace = 2 * time.Second

// StopWorker stops polling and waits (bounded) for running activities.
//
// Activities still running at workerStopTimeout are cancelled, but the SDK's
// Stop returns without waiting for them to report that; the caller then
// closes the client, the report fails ("the client connection is closing")
// and Temporal retries the activity only after its heartbeat timeout. So
// after a timed-out stop the client stays open for cancelReportGrace: the
// cancelled attempts are reported as failed and retried at once elsewhere.
func (a *App) StopWorker(w worker.Worker) {
	a.Log.Info("stopping the worker: no new tasks; running activities get up to " + workerStopTimeout.String() +
		" to finish, the rest are retried")
	start := time.Now()
	w.Stop()
	if time.Since(start) >= workerStopTimeout {
		a.Log.Info("activities still running were cancelled; waiting for them to report it so they are retried at once",
			"grace", cancelReportGrace.String())
		time.Sleep(cancelReportGrace)
	}
	a.Log.Info("worker stopped")
}

// sdkLogger is the Temporal SDK's logger: the process logger, tagged as the
// SDK's, with task_id added to lines about a task's workflows.
func sdkLogger(log *slog.Logger) sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(taskIDHandler{Handler: log.Handler()}).With("component", "temporal-sdk"))
}

// taskIDHandler adds task_id to SDK log lines whose WorkflowID is a task's
// (task-<id>) or a task's review rerun (review-<id>), so one task's lines
// from the API, the activities and the SDK share a key.
type taskIDHandler struct {
	slog.Handler
	tagged bool // task_id was already added by WithAttrs
}

func (h taskIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	tagged := h.tagged
	if !tagged {
		for _, a := range attrs {
			if id := taskIDOf(a); id != "" {
				attrs = append(attrs[:len(attrs):len(attrs)], slog.String("task_id", id))
				tagged = true
				break
			}
		}
	}
	return taskIDHandler{Handler: h.Handler.WithAttrs(attrs), tagged: tagged}
}

func (h taskIDHandler) WithGroup(name string) slog.Handler {
	return taskIDHandler{Handler: h.Handler.WithGroup(name), tagged: h.tagged}
}

func (h taskIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.tagged {
		id := ""
		r.Attrs(func(a slog.Attr) bool {
			id = taskIDOf(a)
			return id == ""
		})
		if id != "" {
			r = r.Clone()
			r.AddAttrs(slog.String("task_id", id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// taskIDOf is the task id named by a WorkflowID attribute, if any.
func taskIDOf(a slog.Attr) string {
	if a.Key != "WorkflowID" {
		return ""
	}
	wid := a.Value.String()
	if id, ok := task.IDFromWorkflowID(wid); ok {
		return id
	}
	if id, ok := strings.CutPrefix(wid, "review-"); ok && task.ReviewWorkflowID(id) == wid {
		return id
	}
	return ""
}

// requestIDHandler adds request_id to lines logged with the context of an
// HTTP request (slog's *Context methods), for services the API calls that
// hold a process-wide logger, such as the account service.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := api.RequestIDFrom(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}
