package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"ai-platform/internal/app"
	"ai-platform/internal/config"
)

// platform is the worker and the API running in this process, as
// internal/app/apptest starts them for the integration tests.
type platform struct {
	Store  string
	Config config.Config
	App    *app.App
	Client client.Client
	api    *apiClient
	worker worker.Worker
	cancel context.CancelFunc
	done   sync.WaitGroup
	drop   func()
}

// platformEnv is the configuration every benchmark platform shares; the
// caller adds the store, the Temporal address and suite settings.
func platformEnv(root, dir string) map[string]string {
	return map[string]string{
		"DATA_DIR": dir, "WORKSPACE_ROOT": filepath.Join(dir, "workspaces"), "PORT": "0", "LOG_LEVEL": "warn",
		"TEMPLATES_ROOT": filepath.Join(root, "templates"), "ENVIRONMENT": "development",
		"TEMPORAL_TASK_QUEUE": "bench-" + uuid.NewString()[:8],
	}
}

// startPlatform starts a worker and the API against Temporal at address.
// env overrides platformEnv; logs (warn and up) go to dir/platform.log.
func (b *bench) startPlatform(ctx context.Context, storeKind string, env map[string]string) (*platform, error) {
	return b.startPlatformAt(ctx, storeKind, b.temporal, env)
}

// startPlatformAt is startPlatform against another Temporal.
func (b *bench) startPlatformAt(ctx context.Context, storeKind, address string, env map[string]string) (*platform, error) {
	dir, err := os.MkdirTemp(b.work, "platform-")
	if err != nil {
		return nil, err
	}
	all := platformEnv(b.root, dir)
	all["TEMPORAL_ADDRESS"] = address
	p := &platform{Store: storeKind, drop: func() {}}
	if storeKind == storePostgres {
		url, drop, err := newSchema(ctx, b.pgURL)
		if err != nil {
			return nil, err
		}
		all["DATABASE_URL"], p.drop = url, drop
	}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := all[k]; return v, ok })
	if err != nil {
		p.drop()
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "platform.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.drop()
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(logf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	fail := func(err error) (*platform, error) {
		p.stop()
		return nil, err
	}
	if p.App, err = app.Open(pctx, cfg, log); err != nil {
		return fail(err)
	}
	p.Config = cfg
	if p.Client, err = app.Dial(pctx, cfg, log, address, 30*time.Second); err != nil {
		return fail(err)
	}
	w, err := p.App.NewWorker(pctx, p.Client)
	if err != nil {
		return fail(err)
	}
	if err := w.Start(); err != nil {
		return fail(fmt.Errorf("worker: %w", err))
	}
	p.worker = w
	srv, err := p.App.APIServer(pctx, p.Client)
	if err != nil {
		return fail(err)
	}
	ready := make(chan string, 1)
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		if err := p.App.ServeHTTP(pctx, srv.Handler(), "127.0.0.1:0", ready); err != nil {
			log.Error("api", "error", err)
		}
	}()
	select {
	case addr := <-ready:
		p.api = newAPIClient("http://"+addr, 64)
	case <-time.After(30 * time.Second):
		return fail(errors.New("the API did not start within 30 s"))
	}
	return p, nil
}

// stop shuts the API and the worker down and drops the Postgres schema.
func (p *platform) stop() {
	if p.cancel != nil {
		p.cancel()
	}
	p.done.Wait()
	if p.worker != nil {
		p.worker.Stop()
	}
	if p.Client != nil {
		p.Client.Close()
	}
	if p.App != nil {
		_ = p.App.Close()
	}
	p.drop()
}

// apiClient speaks the platform's HTTP API with one API key (one tenant).
type apiClient struct {
	URL  string
	Key  string
	http *http.Client
}

func newAPIClient(url string, conns int) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns*2, conns*2
	return &apiClient{URL: url, Key: "bench-" + uuid.NewString()[:8], http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// do sends a request and decodes a JSON reply into out (when non-nil).
func (a *apiClient) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL+path, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-API-Key", a.Key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// taskView is the part of GET /api/tasks/{id} the benchmark reads.
type taskView struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason"`
	Error         string `json:"error"`
}

func (a *apiClient) createTask(ctx context.Context, desc string) (string, error) {
	var out struct {
		TaskID string `json:"task_id"`
	}
	if _, err := a.do(ctx, http.MethodPost, "/api/tasks", map[string]any{"description": desc, "template_id": "python_cli"}, &out); err != nil {
		return "", err
	}
	return out.TaskID, nil
}

func (a *apiClient) getTask(ctx context.Context, id string) (taskView, error) {
	var v taskView
	_, err := a.do(ctx, http.MethodGet, "/api/tasks/"+id, nil, &v)
	return v, err
}

func (a *apiClient) cancelTask(ctx context.Context, id string) error {
	_, err := a.do(ctx, http.MethodPost, "/api/tasks/"+id+"/cancel", map[string]any{}, nil)
	return err
}

// waitStatus polls GET /api/tasks/{id} every `every` until the task reaches
// want; a terminal status other than want is an error.
func (a *apiClient) waitStatus(ctx context.Context, id, want string, every, timeout time.Duration) (taskView, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		v, err := a.getTask(ctx, id)
		if err != nil {
			return v, err
		}
		if v.Status == want {
			return v, nil
		}
		switch v.Status {
		case "completed", "failed", "cancelled":
			return v, fmt.Errorf("task %s ended %s (%s: %s), want %s", id, v.Status, v.FailureReason, v.Error, want)
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("task %s still %s after %s, want %s", id, v.Status, timeout, want)
		case <-time.After(every):
		}
	}
}
