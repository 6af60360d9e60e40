package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ai-platform/api"
	"ai-platform/internal/config"
	"ai-platform/internal/metrics"
	"ai-platform/internal/metrics/metricstest"
	"ai-platform/internal/task"
)

func scrape(t *testing.T, m *metrics.Metrics) metricstest.Families {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	return metricstest.Parse(t, rec.Body.String())
}

type counts struct {
	n   map[task.Status]int
	err error
}

func (c counts) CountTasksByStatus(context.Context) (map[task.Status]int, error) { return c.n, c.err }

func TestObservationsReachTheRegistry(t *testing.T) {
	m := metrics.New(nil)
	t.Cleanup(func() { _ = m.Close() })
	m.ObserveRequest("POST", "/api/tasks", 200, 30*time.Millisecond)
	m.ObserveRequest("POST", "/api/tasks", 200, 10*time.Millisecond)
	m.ObserveRequest("GET", "/api/tasks/:task_id", 404, time.Millisecond)
	m.RateLimitScopes("create_task", "download")
	m.RateLimited("create_task")
	m.TaskCreated()
	m.LLMRequest("mock", "mock-model", "research", "ok", 120, 30, 0.000036, 2*time.Second)
	m.LLMRequest("mock", "mock-model", "design", "error", 0, 0, 0, time.Second)
	m.LLMRequest("openai", "gpt-4o", "research", "ok", 1000, 100, 0.0035, time.Second)
	m.CommandRun("tests", "passed", 3*time.Second)
	m.CommandRun("lint", "failed", time.Second)
	m.WatchTasks(counts{n: map[task.Status]int{task.StatusQueued: 2, task.StatusCompleted: 5, "archived": 1}}, time.Second)
	m.WatchTasks(counts{}, time.Second) // a second registration is a no-op, not a panic

	f := scrape(t, m)
	cases := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"aiplatform_http_requests_total", map[string]string{"route": "/api/tasks", "status": "200"}, 2},
		{"aiplatform_http_requests_total", map[string]string{"status": "404"}, 1},
		{"aiplatform_http_request_duration_seconds", map[string]string{"method": "POST"}, 2},
		{"aiplatform_rate_limited_total", map[string]string{"scope": "create_task"}, 1},
		{"aiplatform_rate_limited_total", map[string]string{"scope": "download"}, 0},
		{"aiplatform_tasks_created_total", nil, 1},
		{"aiplatform_llm_requests_total", map[string]string{"provider": "mock", "outcome": "ok"}, 1},
		{"aiplatform_llm_requests_total", map[string]string{"stage": "design", "outcome": "error"}, 1},
		{"aiplatform_llm_tokens_total", map[string]string{"direction": "input"}, 1120},
		{"aiplatform_llm_tokens_total", map[string]string{"direction": "output", "model": "mock-model", "stage": "research"}, 30},
		{"aiplatform_llm_tokens_total", map[string]string{"direction": "output", "model": "gpt-4o"}, 100},
		{"aiplatform_llm_cost_usd_total", map[string]string{"model": "mock-model", "stage": "research"}, 0.000036},
		{"aiplatform_llm_cost_usd_total", map[string]string{"model": "mock-model", "stage": "design"}, 0},
		{"aiplatform_llm_cost_usd_total", map[string]string{"model": "gpt-4o", "stage": "research"}, 0.0035},
		{"aiplatform_llm_request_duration_seconds", map[string]string{"model": "mock-model"}, 2},
		{"aiplatform_command_runs_total", map[string]string{"purpose": "tests", "outcome": "passed"}, 1},
		{"aiplatform_command_duration_seconds", nil, 2},
		{"aiplatform_tasks", map[string]string{"status": "queued"}, 2},
		{"aiplatform_tasks", map[string]string{"status": "completed"}, 5},
		{"aiplatform_tasks", map[string]string{"status": "paused"}, 0},
		{"aiplatform_tasks", map[string]string{"status": "archived"}, 1},
		{"aiplatform_queue_length", nil, 2},
	}
	for _, c := range cases {
		got, ok := f.Sum(c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := f.Sum("go_goroutines", nil); !ok {
		t.Error("the Go runtime collector is missing")
	}
	// Cost carries model and stage only: no tenant, no provider.
	for _, s := range f["aiplatform_llm_cost_usd_total"].GetMetric() {
		var names []string
		for _, l := range s.GetLabel() {
			names = append(names, l.GetName())
		}
		if strings.Join(names, ",") != "model,stage" {
			t.Errorf("aiplatform_llm_cost_usd_total has labels %v, want model and stage", names)
		}
	}
}

func TestStoreOutageLeavesOtherMetricsServed(t *testing.T) {
	m := metrics.New(nil)
	t.Cleanup(func() { _ = m.Close() })
	m.TaskCreated()
	m.WatchTasks(counts{err: errors.New("connection refused")}, time.Second)
	f := scrape(t, m)
	if _, ok := f.Sum("aiplatform_tasks", nil); ok {
		t.Error("task gauges reported although the store failed")
	}
	if v, _ := f.Sum("aiplatform_tasks_created_total", nil); v != 1 {
		t.Errorf("tasks_created_total = %v, want 1", v)
	}
}

func TestTemporalHandlerFeedsTheRegistry(t *testing.T) {
	m := metrics.New(nil)
	m.Temporal().WithTags(map[string]string{"namespace": "default"}).Counter("temporal_request").Inc(3)
	m.Temporal().Timer("temporal_request_latency").Record(20 * time.Millisecond)
	// Close flushes the tally scope into the registry.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	f := scrape(t, m)
	if v, ok := f.Sum("temporal_request_total", map[string]string{"namespace": "default"}); v != 3 {
		t.Errorf("temporal_request_total = %v (present %v), want 3", v, ok)
	}
	if v, _ := f.Sum("temporal_request_latency_seconds", nil); v != 1 {
		t.Errorf("temporal_request_latency_seconds count = %v, want 1 (families: %d temporal_*)", v, f.Prefixed("temporal_"))
	}
}

// deny refuses every request.
type deny struct{}

func (deny) Allow(context.Context, string, string) (api.RateDecision, error) {
	return api.RateDecision{Enabled: true, Allowed: false, Limit: 1, Reset: time.Now().Add(time.Minute)}, nil
}

func TestAPIReportsRequestsAndRateLimits(t *testing.T) {
	m := metrics.New(nil)
	t.Cleanup(func() { _ = m.Close() })
	cfg, err := config.Load(func(string) (string, bool) { return "", false }) // the defaults
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIKeyHashSecret = strings.Repeat("k", 32)
	srv := api.New(api.Deps{Config: cfg, Limiter: deny{}, Metrics: m,
		Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/tasks", strings.NewReader(`{"description":"x"}`))
	req.Header.Set("X-API-Key", "some-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", resp.StatusCode)
	}
	f := scrape(t, m)
	if v, _ := f.Sum("aiplatform_rate_limited_total", map[string]string{"scope": api.ScopeCreate}); v != 1 {
		t.Errorf("rate_limited_total = %v, want 1", v)
	}
	if v, _ := f.Sum("aiplatform_http_requests_total", map[string]string{"route": "/api/tasks", "status": "429"}); v != 1 {
		t.Errorf("http_requests_total{429} = %v, want 1", v)
	}
}
