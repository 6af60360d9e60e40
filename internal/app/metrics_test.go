package app_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/metrics/metricstest"
	"ai-platform/internal/pricing"
)

// scrapeMetrics GETs /metrics the way Prometheus (or curl) would.
func scrapeMetrics(t *testing.T, p *apptest.Platform) metricstest.Families {
	t.Helper()
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return metricstest.Parse(t, string(body))
}

// TestMetricsAfterTasks runs two tasks through one slot, trips the download
// rate limit and reads /metrics: every family an operator relies on is there
// with real, non-zero values.
func TestMetricsAfterTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"MAX_CONCURRENT_TASKS": "1",
		"RATE_LIMIT_DOWNLOADS_PER_MIN": "1"}})
	// The first task holds the only slot for a few seconds, so the second
	// waits in the queue.
	first := p.CreateTask(t, map[string]any{"template_id": "python_cli",
		"description": "A command line tool that counts words and lines in text files [mock:slow=1]"})
	second := p.CreateTask(t, map[string]any{"template_id": "python_cli",
		"description": "A command line tool that prints the longest line of each text file"})
	if v, _ := scrapeMetrics(t, p).Sum("aiplatform_queue_length", nil); v < 1 {
		t.Errorf("aiplatform_queue_length = %v while a task waits for the slot", v)
	}
	p.WaitStatus(t, first, 5*time.Minute, "completed")
	p.WaitStatus(t, second, 5*time.Minute, "completed")
	// One download a minute: the second is refused.
	for i, want := range []int{http.StatusOK, http.StatusTooManyRequests} {
		if code, _ := p.Do(t, http.MethodGet, "/api/tasks/"+first+"/download.zip", nil, nil); code != want {
			t.Fatalf("download %d: status %d, want %d", i+1, code, want)
		}
	}

	nonZero := []struct {
		name   string
		labels map[string]string
	}{
		{"aiplatform_http_requests_total", map[string]string{"method": "POST", "route": "/api/tasks", "status": "200"}},
		{"aiplatform_http_requests_total", map[string]string{"route": "/api/tasks/:task_id"}},
		{"aiplatform_http_request_duration_seconds", map[string]string{"route": "/api/tasks"}},
		{"aiplatform_tasks_created_total", nil},
		{"aiplatform_rate_limited_total", map[string]string{"scope": "download"}},
		{"aiplatform_tasks", map[string]string{"status": "completed"}},
		{"aiplatform_llm_requests_total", map[string]string{"provider": "mock", "outcome": "ok"}},
		{"aiplatform_llm_request_duration_seconds", map[string]string{"provider": "mock"}},
		{"aiplatform_llm_tokens_total", map[string]string{"direction": "input"}},
		{"aiplatform_llm_tokens_total", map[string]string{"direction": "output"}},
		// The mock reports the default model, which the built-in table prices.
		{"aiplatform_llm_tokens_total", map[string]string{"model": "gpt-4o-mini", "stage": "research"}},
		{"aiplatform_llm_cost_usd_total", map[string]string{"model": "gpt-4o-mini", "stage": "research"}},
		{"aiplatform_llm_cost_usd_total", map[string]string{"model": "gpt-4o-mini", "stage": "design"}},
		{"aiplatform_command_runs_total", nil},
		{"aiplatform_command_duration_seconds", nil},
		// The Temporal SDK's own metrics, flushed into the registry every second.
		{"temporal_workflow_completed_total", nil},
		{"temporal_activity_execution_latency_seconds", nil},
		{"temporal_request_total", nil},
	}
	var f metricstest.Families
	deadline := time.Now().Add(30 * time.Second)
	for {
		f = scrapeMetrics(t, p)
		missing := 0
		for _, c := range nonZero {
			if v, _ := f.Sum(c.name, c.labels); v <= 0 {
				missing++
				if time.Now().After(deadline) {
					t.Errorf("%s%v is zero or absent", c.name, c.labels)
				}
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if v, _ := f.Sum("aiplatform_tasks_created_total", nil); v != 2 {
		t.Errorf("aiplatform_tasks_created_total = %v, want 2", v)
	}
	if v, _ := f.Sum("aiplatform_tasks", map[string]string{"status": "completed"}); v != 2 {
		t.Errorf("aiplatform_tasks{completed} = %v, want 2", v)
	}
	if v, _ := f.Sum("aiplatform_rate_limited_total", map[string]string{"scope": "download"}); v != 1 {
		t.Errorf("aiplatform_rate_limited_total{download} = %v, want 1", v)
	}
	// Present at zero: nothing is queued now and creation was never limited.
	if _, ok := f.Sum("aiplatform_queue_length", nil); !ok {
		t.Error("aiplatform_queue_length is not exported")
	}
	if v, ok := f.Sum("aiplatform_rate_limited_total", map[string]string{"scope": "create_task"}); !ok || v != 0 {
		t.Errorf("aiplatform_rate_limited_total{create_task} = %v (present %v), want 0", v, ok)
	}

	// Cost: every llm_usage event is priced at the table for its tokens, a
	// task's cost_usd is the exact sum of its events, and the owner's day
	// (GET /api/usage) is the sum of both tasks.
	prices := pricing.Default()
	var allMicros int64
	for _, id := range []string{first, second} {
		var tv struct {
			CostUSD   float64 `json:"cost_usd"`
			TokensIn  int64   `json:"tokens_in"`
			TokensOut int64   `json:"tokens_out"`
		}
		p.Do(t, http.MethodGet, "/api/tasks/"+id, nil, &tv)
		var micros, in, out int64
		for _, e := range events(t, p, p.APIKey, id) {
			if e.Type != "llm_usage" {
				continue
			}
			model, _ := e.Payload["model"].(string)
			ti, _ := e.Payload["tokens_in"].(float64)
			to, _ := e.Payload["tokens_out"].(float64)
			want, known := prices.Cost(model, int64(ti), int64(to))
			if got := e.Payload["cost_usd"]; !known || got != want || want == 0 {
				t.Errorf("llm_usage %s on %s (%v in, %v out): cost_usd %v, want %v (priced %v)", e.Payload["stage"], model, ti, to, got, want, known)
			}
			micros += pricing.Micros(want)
			in, out = in+int64(ti), out+int64(to)
		}
		if in != tv.TokensIn || out != tv.TokensOut || tv.CostUSD != pricing.FromMicros(micros) {
			t.Errorf("task %s: %d/%d tokens, cost %v; its events add up to %d/%d tokens, %v", id, tv.TokensIn, tv.TokensOut,
				tv.CostUSD, in, out, pricing.FromMicros(micros))
		}
		allMicros += micros
	}
	var usage struct {
		Totals struct {
			CostUSD float64 `json:"cost_usd"`
		} `json:"totals"`
	}
	if code, raw := p.Do(t, http.MethodGet, "/api/usage?days=2", nil, &usage); code != 200 || usage.Totals.CostUSD != pricing.FromMicros(allMicros) {
		t.Errorf("usage %d %s; want a cost of %v", code, raw, pricing.FromMicros(allMicros))
	}
}
