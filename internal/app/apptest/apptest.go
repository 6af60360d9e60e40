// Package apptest starts the real platform for integration tests: a Temporal
// dev server (the CLI built into bin/ by `make temporal`), a worker and the
// HTTP API on free ports, in the test process. Every HTTP exchange with the
// API is checked against docs/openapi.yaml (see internal/openapicheck).
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"ai-platform/internal/app"
	"ai-platform/internal/config"
	"ai-platform/internal/devserver"
	"ai-platform/internal/openapicheck"
	"ai-platform/internal/tracing"
)

// RepoRoot is the repository root (where go.mod is).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// TemporalBin is the dev server binary; tests skip (or fail under CI) without it.
func TemporalBin(t testing.TB) string {
	bin := filepath.Join(RepoRoot(), "bin", "temporal")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("bin/temporal is missing: run `make temporal`")
		}
		t.Skip("bin/temporal is missing: run `make temporal` to run integration tests")
	}
	return bin
}

// DevServer starts a Temporal dev server for the test (in memory unless
// dbFile is set) and stops it at cleanup.
func DevServer(t testing.TB, dbFile string) *testsuite.DevServer {
	t.Helper()
	bin := TemporalBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The same server settings as `aiplatform run`, so tests see its timing.
	var extra []string
	for _, kv := range devserver.DynamicConfig() {
		extra = append(extra, "--dynamic-config-value", kv)
	}
	opts := testsuite.DevServerOptions{ExistingPath: bin, LogLevel: "error", DBFilename: dbFile,
		ClientOptions: &client.Options{Logger: quiet{}}, ExtraArgs: extra}
	srv, err := testsuite.StartDevServer(ctx, opts)
	if err != nil {
		t.Fatalf("starting the Temporal dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// Platform is a running worker + API.
type Platform struct {
	URL      string
	Config   config.Config
	App      *app.App
	Client   client.Client
	Temporal string
	APIKey   string
	cancel   context.CancelFunc
	done     sync.WaitGroup
	worker   worker.Worker
}

// Options tweak the platform under test.
type Options struct {
	// Env overrides configuration variables.
	Env map[string]string
	// Temporal is an existing frontend address; empty starts a dev server.
	Temporal string
	// NoWorker starts only the API.
	NoWorker bool
	// Log receives the platform's JSON logs (default: discarded).
	Log io.Writer
	// TracerProvider, when set, traces the platform (API requests,
	// Temporal calls, activities, LLM requests, commands) into it, as
	// OTEL_EXPORTER_OTLP_ENDPOINT does into a collector.
	TracerProvider trace.TracerProvider
}

// Start runs the platform until the test ends.
func Start(t testing.TB, o Options) *Platform {
	t.Helper()
	contract, err := openapicheck.Load()
	if err != nil {
		t.Fatal(err)
	}
	address := o.Temporal
	if address == "" {
		address = DevServer(t, "").FrontendHostPort()
	}
	dir := t.TempDir()
	env := map[string]string{
		"DATA_DIR": dir, "WORKSPACE_ROOT": filepath.Join(dir, "workspaces"), "TEMPORAL_ADDRESS": address,
		"TEMPORAL_TASK_QUEUE": "test-" + uuid.NewString()[:8], "PORT": "0", "LOG_LEVEL": "warn",
		"TEMPLATES_ROOT": filepath.Join(RepoRoot(), "templates"), "ENVIRONMENT": "test", "STARTUP_WAIT_SECONDS": "30",
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if os.Getenv("APPTEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	a.Tracing = tracing.New(o.TracerProvider)
	c, err := a.Dial(ctx, address)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	p := &Platform{Config: cfg, App: a, Client: c, Temporal: address, cancel: cancel, APIKey: "test-key-" + uuid.NewString()[:8]}
	if !o.NoWorker {
		w, err := a.NewWorker(ctx, c)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if err := w.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		p.worker = w
	}
	srv, err := a.APIServer(ctx, c)
	if err != nil {
		if p.worker != nil {
			p.worker.Stop()
		}
		cancel()
		t.Fatal(err)
	}
	// Every exchange a test makes, with any client, is checked against
	// docs/openapi.yaml; a mismatch fails the test with the route, the
	// status and what differs, so code and document cannot drift apart.
	handler := contract.Handler(srv.Handler(), func(err error) { t.Errorf("API contract: %v", err) })
	ready := make(chan string, 1)
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		if err := a.ServeHTTP(ctx, handler, "127.0.0.1:0", ready); err != nil {
			t.Errorf("api: %v", err)
		}
	}()
	select {
	case addr := <-ready:
		p.URL = "http://" + addr
	case <-time.After(10 * time.Second):
		t.Fatal("api did not start")
	}
	t.Cleanup(p.Stop)
	return p
}

// Stop shuts the API and worker down.
func (p *Platform) Stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.done.Wait()
	if p.worker != nil {
		p.worker.Stop()
	}
	p.Client.Close()
	_ = p.App.Close()
	p.cancel = nil
}

// Do sends a request with the platform's API key and decodes a JSON reply
// into out (when non-nil); it returns the status code and the raw body.
func (p *Platform) Do(t testing.TB, method, path string, body any, out any) (int, []byte) {
	t.Helper()
	return p.DoKey(t, p.APIKey, method, path, body, out)
}

// DoKey is Do with another API key ("" sends none).
func (p *Platform) DoKey(t testing.TB, key, method, path string, body any, out any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, raw
}

// CreateTask creates a task and returns its id.
func (p *Platform) CreateTask(t testing.TB, body map[string]any) string {
	t.Helper()
	var out struct {
		TaskID string `json:"task_id"`
	}
	code, raw := p.Do(t, http.MethodPost, "/api/tasks", body, &out)
	if code != http.StatusOK || out.TaskID == "" {
		t.Fatalf("create task: %d %s", code, raw)
	}
	return out.TaskID
}

// Task is the subset of the task view tests look at.
type Task struct {
	ID               string           `json:"id"`
	Status           string           `json:"status"`
	CurrentStage     *string          `json:"current_stage"`
	Progress         float64          `json:"progress"`
	FailureReason    *string          `json:"failure_reason"`
	Error            *string          `json:"error"`
	FilesCount       int              `json:"files_count"`
	ArtifactsCount   int              `json:"artifacts_count"`
	Iterations       int              `json:"iterations"`
	MaxIterations    int              `json:"max_iterations"`
	PendingQuestions []map[string]any `json:"pending_questions"`
	ProvidedAnswers  map[string]any   `json:"provided_answers"`
	TokensIn         int64            `json:"tokens_in"`
	TokensOut        int64            `json:"tokens_out"`
	Result           map[string]any   `json:"result"`
	CodexHash        *string          `json:"codex_hash"`
}

// GetTask reads a task.
func (p *Platform) GetTask(t testing.TB, id string) Task {
	t.Helper()
	var v Task
	code, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id, nil, &v)
	if code != http.StatusOK {
		t.Fatalf("get task: %d %s", code, raw)
	}
	return v
}

// WaitStatus polls until the task reaches one of statuses (or fails the test).
func (p *Platform) WaitStatus(t testing.TB, id string, timeout time.Duration, statuses ...string) Task {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last Task
	for time.Now().Before(deadline) {
		last = p.GetTask(t, id)
		for _, s := range statuses {
			if last.Status == s {
				return last
			}
		}
		if last.Status == "failed" || last.Status == "completed" || last.Status == "cancelled" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	reason := ""
	if last.FailureReason != nil {
		reason = *last.FailureReason
	}
	msg := ""
	if last.Error != nil {
		msg = *last.Error
	}
	t.Fatalf("task %s: status %s (reason %q, error %q), want %v", id, last.Status, reason, msg, statuses)
	return last
}

type quiet struct{}

func (quiet) Debug(string, ...interface{}) {}
func (quiet) Info(string, ...interface{})  {}
func (quiet) Warn(string, ...interface{})  {}
func (quiet) Error(string, ...interface{}) {}
