package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/llm"
)

// waitEvent polls until the task has an event of typ whose payload contains sub.
func waitEvent(t *testing.T, p *apptest.Platform, id, typ, sub string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/events?limit=1000&type="+typ, nil, nil)
		if strings.Contains(string(raw), sub) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s event with %q within %s", typ, sub, timeout)
}

// processesIn lists pids whose working directory is dir or under it, or,
// for a dir ending in "-", starts with it.
func processesIn(dir string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/") || (strings.HasSuffix(dir, "-") && strings.HasPrefix(cwd, dir))) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func TestCancelWhileACommandRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"COMMAND_SANDBOX": "none"}})
	id := p.CreateTask(t, map[string]any{"description": "A tool that waits a long time in its tests [mock:sleepy-tests=60]"})
	waitEvent(t, p, id, "command_started", `"purpose":"tests"`, 3*time.Minute)
	// Commands run in a private copy of the workspace that the in-process
	// worker's runner makes under its scratch root, named after its pid.
	ws := filepath.Join(os.TempDir(), "aiplatform-runs", "run-"+strconv.Itoa(os.Getpid())+"-")
	// command_started is written just before the process starts.
	for deadline := time.Now().Add(time.Minute); len(processesIn(ws)) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the test command should be running in the workspace")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := 0; i < 2; i++ { // cancel is idempotent
		if code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/cancel", nil, nil); code != http.StatusAccepted && code != http.StatusOK {
			t.Fatalf("cancel: %d %s", code, raw)
		}
	}
	task := p.WaitStatus(t, id, time.Minute, "cancelled")
	if task.FailureReason == nil || *task.FailureReason != "cancelled_by_user" {
		t.Fatalf("cancelled task %+v", task)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(processesIn(ws)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if left := processesIn(ws); len(left) > 0 {
		t.Fatalf("the command's processes survived the cancel: %v", left)
	}
	if code, _ := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/cancel", nil, nil); code != http.StatusOK {
		t.Fatalf("cancel of a cancelled task: %d", code)
	}
	if countEvents(t, p, id, "task_cancelled") != 1 {
		t.Error("want exactly one task_cancelled event")
	}
}

func TestCancelWhileWaitingForAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	p := apptest.Start(t, apptest.Options{})
	id := p.CreateTask(t, map[string]any{"description": "notes app"})
	p.WaitStatus(t, id, time.Minute, "needs_input")
	if code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/cancel", nil, nil); code != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", code, raw)
	}
	p.WaitStatus(t, id, time.Minute, "cancelled")
	for _, path := range []string{"/input", "/resume", "/retry", "/pause"} {
		if code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+path, map[string]any{"answers": map[string]any{}}, nil); code != http.StatusConflict {
			t.Errorf("%s on a cancelled task: %d %s", path, code, raw)
		}
	}
}

// TestPauseSurvivesARestartOfEverything pauses a task, stops the API, the
// worker and the Temporal dev server, starts them again, and unpauses.
func TestPauseSurvivesARestartOfEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": filepath.Join(dir, "data"), "WORKSPACE_ROOT": filepath.Join(dir, "ws"),
		"TEMPORAL_TASK_QUEUE": "pause-test"}
	dbFile := filepath.Join(dir, "temporal.db")
	srv := apptest.DevServer(t, dbFile)
	p := apptest.Start(t, apptest.Options{Env: env, Temporal: srv.FrontendHostPort()})
	p.APIKey = "pause-key"
	id := p.CreateTask(t, map[string]any{"description": "A CLI for recipes that takes its time [mock:slow=1]",
		"template_id": "python_cli"})
	if code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/pause", nil, nil); code != http.StatusAccepted {
		t.Fatalf("pause: %d %s", code, raw)
	}
	p.WaitStatus(t, id, 2*time.Minute, "paused")
	p.Stop()
	_ = srv.Stop()

	srv2 := apptest.DevServer(t, dbFile)
	p2 := apptest.Start(t, apptest.Options{Env: env, Temporal: srv2.FrontendHostPort()})
	p2.APIKey = "pause-key"
	if task := p2.GetTask(t, id); task.Status != "paused" {
		t.Fatalf("after restart: %s", task.Status)
	}
	if code, raw := p2.Do(t, http.MethodPost, "/api/tasks/"+id+"/unpause", nil, nil); code != http.StatusAccepted {
		t.Fatalf("unpause: %d %s", code, raw)
	}
	p2.WaitStatus(t, id, 3*time.Minute, "completed")
	if countEvents(t, p2, id, "task_paused") != 1 || countEvents(t, p2, id, "task_unpaused") != 1 {
		t.Error("want one task_paused and one task_unpaused event")
	}
}

// flakyCoder is an OpenAI-compatible server whose code stage answers 401
// until healed, so a task fails with llm_provider_error and can be retried.
type flakyCoder struct {
	mock   llm.Provider
	healed atomic.Bool
	calls  atomic.Int64
}

func (f *flakyCoder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Messages []llm.Message `json:"messages"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	f.calls.Add(1)
	if strings.Contains(body.Messages[len(body.Messages)-1].Content, `"stage": "code"`) && !f.healed.Load() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}`))
		return
	}
	resp, err := f.mock.Complete(r.Context(), llm.Request{Messages: body.Messages, Attempt: 2})
	if err != nil {
		http.Error(w, `{"error":{"message":"mock"}}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": "m",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": resp.Text}}},
		"usage":   map[string]any{"prompt_tokens": resp.Usage.InputTokens, "completion_tokens": resp.Usage.OutputTokens}})
}

func TestRetryAfterAnLLMFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	fake := &flakyCoder{mock: llm.NewMock("m")}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"LLM_PROVIDER": "openai", "LLM_BASE_URL": srv.URL + "/v1",
		"LLM_API_KEY": "sk-test-retry-0123456789"}})
	id := p.CreateTask(t, map[string]any{"description": "A library that parses dates in many formats", "template_id": "python_lib"})
	task := p.WaitStatus(t, id, 2*time.Minute, "failed")
	if task.FailureReason == nil || *task.FailureReason != "llm_provider_error" || !strings.Contains(*task.Error, "401") {
		t.Fatalf("failed task %+v", task)
	}
	if code, _ := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/unpause", nil, nil); code != http.StatusConflict {
		t.Errorf("unpause of a failed task: %d", code)
	}
	fake.healed.Store(true)
	var out struct {
		Status     string `json:"status"`
		Generation int    `json:"generation"`
	}
	if code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/retry", nil, &out); code != http.StatusAccepted {
		t.Fatalf("retry: %d %s", code, raw)
	}
	if out.Generation != 1 || out.Status != "queued" {
		t.Fatalf("retry answer %+v", out)
	}
	p.WaitStatus(t, id, 3*time.Minute, "completed")
	// The retried run works out where it continues and names it in its
	// first StageStarted event.
	if from := retriedFrom(t, p, id); from != "implementation" {
		t.Errorf("the retried run continued at %q, want implementation", from)
	}
	for _, typ := range []string{"research_summary", "architecture"} {
		var page struct {
			Total int `json:"total"`
		}
		p.Do(t, http.MethodGet, "/api/tasks/"+id+"/artifacts?type="+typ, nil, &page)
		if page.Total != 1 {
			t.Errorf("%s artifacts: %d (research and design must not be redone)", typ, page.Total)
		}
	}
	if countEvents(t, p, id, "task_retried") != 1 || countEvents(t, p, id, "TaskCreated") != 1 {
		t.Error("want one task_retried and one TaskCreated event")
	}
	if code, _ := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/retry", nil, nil); code != http.StatusConflict {
		t.Errorf("retry of a completed task: %d", code)
	}
}

// retriedFrom is the retry_from of the task's StageStarted events: the step
// a retried run chose to continue at ("" when no run was retried).
func retriedFrom(t *testing.T, p *apptest.Platform, id string) string {
	t.Helper()
	var page struct {
		Events []struct {
			Payload struct {
				RetryFrom string `json:"retry_from"`
			} `json:"payload"`
		} `json:"events"`
	}
	p.Do(t, http.MethodGet, "/api/tasks/"+id+"/events?type=StageStarted&order=asc&limit=1000", nil, &page)
	for _, e := range page.Events {
		if e.Payload.RetryFrom != "" {
			return e.Payload.RetryFrom
		}
	}
	return ""
}
