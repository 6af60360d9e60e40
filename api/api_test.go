package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/mocks"

	"ai-platform/docs"
	"ai-platform/internal/config"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
)

type fixture struct {
	t      *testing.T
	srv    *Server
	store  *store.Memory
	client *mocks.Client
	cfg    config.Config
}

func newFixture(t *testing.T, env map[string]string) *fixture {
	t.Helper()
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIKeyHashSecret = "test-secret-test-secret-test-secret"
	st, err := store.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := workspace.LoadCatalog(fstest.MapFS{
		"python_cli/cli.py":        {Data: []byte("print('hi')\n")},
		"python_cli/template.json": {Data: []byte(`{"description": "CLI"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &mocks.Client{}
	f := &fixture{t: t, store: st, client: c, cfg: cfg}
	f.srv = New(Deps{Config: cfg, Store: st, Temporal: c, Catalog: catalog,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return f
}

func (f *fixture) do(method, path, key string, body any, headers ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, req)
	return w
}

func (f *fixture) expectStart() {
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("task-x")
	f.client.On("ExecuteWorkflow", mock.Anything, mock.Anything, task.WorkflowName, mock.Anything).Return(run, nil)
}

func detail(t *testing.T, w *httptest.ResponseRecorder) any {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", w.Body.String(), err)
	}
	return body["detail"]
}

func (f *fixture) create(key, desc string) string {
	f.t.Helper()
	w := f.do("POST", "/api/tasks", key, map[string]any{"description": desc})
	if w.Code != 200 {
		f.t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return out["task_id"].(string)
}

func TestCreateTaskValidation(t *testing.T) {
	f := newFixture(t, map[string]string{"MAX_DESCRIPTION_CHARS": "20"})
	f.expectStart()
	cases := []struct {
		name   string
		body   any
		status int
		detail string
	}{
		{"no body", nil, 422, "JSON object"},
		{"not json", "{", 422, "not valid JSON"},
		{"wrong type", map[string]any{"description": 5}, 422, `"description"`},
		{"missing description", map[string]any{}, 400, "description is required"},
		{"blank description", map[string]any{"description": "   "}, 400, "must not be empty"},
		{"one over the limit", map[string]any{"description": strings.Repeat("é", 21)}, 400, "21 characters; the limit is 20"},
		{"unknown template", map[string]any{"description": "ok", "template_id": "nope"}, 400, "Template not found"},
		{"traversal template", map[string]any{"description": "ok", "template_id": "../python_cli"}, 400, "Template not found"},
		{"exactly at the limit", map[string]any{"description": strings.Repeat("é", 20)}, 200, ""},
		{"template with spaces", map[string]any{"description": "ok", "template_id": " python_cli "}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do("POST", "/api/tasks", "k1", tc.body)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.detail != "" {
				if d, _ := detail(t, w).(string); !strings.Contains(d, tc.detail) {
					t.Fatalf("detail %q does not contain %q", d, tc.detail)
				}
			}
		})
	}
}

func TestCreateTaskResponseAndIdempotency(t *testing.T) {
	f := newFixture(t, nil)
	f.expectStart()
	w := f.do("POST", "/api/tasks", "k1", map[string]any{"description": "build a thing", "template_id": "python_cli"},
		"Idempotency-Key", "abc", "X-Request-ID", "req-123")
	if w.Code != 200 || w.Header().Get("X-Request-ID") != "req-123" {
		t.Fatalf("%d %s %v", w.Code, w.Body, w.Header())
	}
	var first map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &first)
	if first["status"] != "queued" || first["message"] != "Task queued for processing" || first["progress"] != 0.0 ||
		first["estimated_time"] != 60.0 {
		t.Fatalf("response %v", first)
	}
	w2 := f.do("POST", "/api/tasks", "k1", map[string]any{"description": "build a thing"}, "Idempotency-Key", "abc")
	var second map[string]any
	_ = json.Unmarshal(w2.Body.Bytes(), &second)
	if second["task_id"] != first["task_id"] {
		t.Fatalf("idempotent create made a second task: %v vs %v", second, first)
	}
	// Another key with the same idempotency key is another task.
	w3 := f.do("POST", "/api/tasks", "k2", map[string]any{"description": "build a thing"}, "Idempotency-Key", "abc")
	var third map[string]any
	_ = json.Unmarshal(w3.Body.Bytes(), &third)
	if third["task_id"] == first["task_id"] {
		t.Fatal("idempotency keys must be scoped to the owner")
	}
	page, _ := f.store.ListTasks(t.Context(), store.TaskFilter{Limit: 10})
	if page.Total != 2 {
		t.Fatalf("want 2 tasks, got %d", page.Total)
	}
	ev, _ := f.store.ListEvents(t.Context(), first["task_id"].(string), store.ListOptions{Type: "TaskCreated"})
	if ev.Total != 1 {
		t.Fatalf("TaskCreated events: %d", ev.Total)
	}
}

func TestCreateTaskWhenTemporalIsDown(t *testing.T) {
	f := newFixture(t, nil)
	f.client.On("ExecuteWorkflow", mock.Anything, mock.Anything, task.WorkflowName, mock.Anything).
		Return(nil, serviceerror.NewUnavailable("connection refused"))
	w := f.do("POST", "/api/tasks", "k1", map[string]any{"description": "build a thing"})
	if w.Code != 503 || w.Header().Get("Retry-After") != "5" {
		t.Fatalf("status %d, Retry-After %q: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if d, _ := detail(t, w).(string); !strings.Contains(d, "Temporal") || strings.Contains(d, "connection refused") {
		t.Fatalf("detail %q must explain without leaking internals", d)
	}
	page, _ := f.store.ListTasks(t.Context(), store.TaskFilter{Limit: 10})
	if len(page.Items) != 1 || page.Items[0].Status != task.StatusFailed || page.Items[0].FailureReason != "workflow_start_failed" {
		t.Fatalf("the unstarted task must not stay queued: %+v", page.Items)
	}
}

func TestAuthAndOwnership(t *testing.T) {
	f := newFixture(t, map[string]string{"APP_API_KEY": "right-key"})
	f.expectStart()
	if w := f.do("GET", "/api/tasks", "", nil); w.Code != 401 || detail(t, w) != "API key required" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w := f.do("GET", "/api/tasks", "wrong", nil); w.Code != 401 || detail(t, w) != "Invalid API key" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	id := f.create("right-key", "a task")
	if w := f.do("GET", "/api/tasks/"+id, "right-key", nil); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	body := f.do("GET", "/api/tasks/"+id, "right-key", nil).Body.String()
	for _, leak := range []string{"owner_key_hash", "client_ip", "right-key"} {
		if strings.Contains(body, leak) {
			t.Fatalf("task JSON exposes %s: %s", leak, body)
		}
	}
	// Open tenancy: another key cannot see the task, exactly like a missing one.
	g := newFixture(t, nil)
	g.expectStart()
	gid := g.create("alice", "a task")
	missing := g.do("GET", "/api/tasks/00000000-0000-4000-8000-000000000000", "bob", nil)
	other := g.do("GET", "/api/tasks/"+gid, "bob", nil)
	malformed := g.do("GET", "/api/tasks/not-a-uuid", "bob", nil)
	for _, w := range []*httptest.ResponseRecorder{missing, other, malformed} {
		if w.Code != 404 || w.Body.String() != missing.Body.String() {
			t.Fatalf("want identical 404s, got %d %s", w.Code, w.Body)
		}
	}
	for _, p := range []string{"/events", "/artifacts", "/state", "/files", "/files/cli.py", "/questions", "/patch",
		"/download.zip", "/git-export.zip"} {
		if w := g.do("GET", "/api/tasks/"+gid+p, "bob", nil); w.Code != 404 {
			t.Errorf("GET %s by another owner: %d", p, w.Code)
		}
	}
	for _, p := range []string{"/input", "/resume", "/rerun-review", "/cancel", "/pause", "/unpause", "/retry", "/download"} {
		if w := g.do("POST", "/api/tasks/"+gid+p, "bob", map[string]any{}); w.Code != 404 {
			t.Errorf("POST %s by another owner: %d", p, w.Code)
		}
	}
}

func TestListParametersAreValidated(t *testing.T) {
	f := newFixture(t, nil)
	f.expectStart()
	id := f.create("k", "a task")
	for i := 0; i < 5; i++ {
		_, _ = f.store.AppendEvent(t.Context(), store.Event{ID: uuidFor(t, i), TaskID: id, Type: "x", Payload: json.RawMessage(`{}`)})
	}
	cases := []struct {
		q      string
		status int
	}{
		{"?limit=0", 400}, {"?limit=1001", 400}, {"?limit=-1", 400}, {"?limit=abc", 400},
		{"?order=up", 400}, {"?cursor=zzz", 400}, {"?limit=1000", 200}, {"?limit=1&order=asc", 200},
	}
	for _, tc := range cases {
		if w := f.do("GET", "/api/tasks/"+id+"/events"+tc.q, "k", nil); w.Code != tc.status {
			t.Errorf("%s: %d, want %d (%s)", tc.q, w.Code, tc.status, w.Body)
		}
	}
	// Pagination walks every event exactly once.
	seen := map[string]bool{}
	cursor := ""
	for page := 0; page < 10; page++ {
		w := f.do("GET", "/api/tasks/"+id+"/events?type=x&limit=2&order=asc&cursor="+cursor, "k", nil)
		var body struct {
			Total      int                 `json:"total"`
			Events     []map[string]string `json:"events"`
			NextCursor *string             `json:"next_cursor"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if body.Total != 5 {
			t.Fatalf("total %d", body.Total)
		}
		for _, e := range body.Events {
			if seen[e["id"]] {
				t.Fatalf("event %s twice", e["id"])
			}
			seen[e["id"]] = true
		}
		if body.NextCursor == nil {
			break
		}
		cursor = *body.NextCursor
	}
	if len(seen) != 5 {
		t.Fatalf("paged %d of 5 events", len(seen))
	}
	if w := f.do("GET", "/api/tasks?limit=101", "k", nil); w.Code != 400 {
		t.Errorf("task list limit: %d", w.Code)
	}
	if w := f.do("GET", "/api/tasks?status=running", "k", nil); w.Code != 400 {
		t.Errorf("task list status: %d", w.Code)
	}
}

func TestFileAccessIsExact(t *testing.T) {
	f := newFixture(t, nil)
	f.expectStart()
	id := f.create("k", "a task")
	err := f.store.PutFiles(t.Context(), id, []store.File{
		{Path: "app/main.py", Content: []byte("print(1)\n")},
		{Path: "bin.dat", Content: []byte{0xff, 0x00, 0xfe}},
	}, nil, store.FileLimits{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path   string
		status int
	}{
		{"app/main.py", 200}, {"main.py", 404}, {"app/main", 404}, {"app/../app/main.py", 400},
		{"%2e%2e/etc/passwd", 400}, {"app%5cmain.py", 400}, {"bin.dat", 200},
	}
	for _, tc := range cases {
		w := f.do("GET", "/api/tasks/"+id+"/files/"+tc.path, "k", nil)
		if w.Code != tc.status {
			t.Errorf("%s: %d, want %d (%s)", tc.path, w.Code, tc.status, w.Body)
		}
	}
	var bin map[string]any
	_ = json.Unmarshal(f.do("GET", "/api/tasks/"+id+"/files/bin.dat", "k", nil).Body.Bytes(), &bin)
	if bin["encoding"] != "base64" || bin["content"] != "/wD+" || bin["size"] != 3.0 {
		t.Fatalf("binary file %v", bin)
	}
	raw := f.do("GET", "/api/tasks/"+id+"/files/bin.dat?raw=1", "k", nil)
	if !bytes.Equal(raw.Body.Bytes(), []byte{0xff, 0x00, 0xfe}) {
		t.Fatalf("raw bytes %v", raw.Body.Bytes())
	}
}

func TestClarificationEndpointsGuardState(t *testing.T) {
	f := newFixture(t, nil)
	f.expectStart()
	id := f.create("k", "a task")
	// A finished task: no Temporal call is needed to refuse answers.
	_, _ = f.store.UpdateTask(t.Context(), id, func(row *store.Task) error { row.Status = task.StatusCompleted; return nil })
	w := f.do("POST", "/api/tasks/"+id+"/input", "k", map[string]any{"answers": map[string]any{"x": "y"}})
	if d, _ := detail(t, w).(map[string]any); w.Code != 409 || d["error"] != "task_not_awaiting_input" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w := f.do("POST", "/api/tasks/"+id+"/resume", "k", nil); w.Code != 409 {
		t.Fatalf("resume: %d %s", w.Code, w.Body)
	}
	// A waiting task: validated against its row, with no query to the
	// workflow (the client has no QueryWorkflow expectation: a query fails
	// the test).
	qs := []task.Question{
		{ID: "scope", Type: task.QuestionChoice, Choices: []string{"a", "b"}, Required: true},
		{ID: "tags", Type: task.QuestionMulti, Choices: []string{"x", "y"}, Required: false},
	}
	_, _ = f.store.UpdateTask(t.Context(), id, func(row *store.Task) error {
		row.Status, row.PendingQuestions, row.ResumeFromStage = task.StatusNeedsInput, qs, task.StageDesign
		return nil
	})
	w = f.do("POST", "/api/tasks/"+id+"/input", "k", map[string]any{"answers": map[string]any{"scope": "c", "tags": "x", "nope": 1}})
	d, _ := detail(t, w).(map[string]any)
	if w.Code != 400 || d["error"] != "invalid_answers" || len(d["invalid"].([]any)) != 3 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w = f.do("POST", "/api/tasks/"+id+"/resume", "k", nil)
	d, _ = detail(t, w).(map[string]any)
	if w.Code != 400 || d["error"] != "missing_answers" || d["missing"].([]any)[0] != "scope" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	f.client.On("SignalWorkflow", mock.Anything, task.WorkflowID(id), "", task.SignalInput, mock.Anything).Return(nil)
	w = f.do("POST", "/api/tasks/"+id+"/input", "k", map[string]any{"answers": map[string]any{"scope": "a"}, "auto_resume": true})
	var ok map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &ok)
	if w.Code != 200 || ok["status"] != "queued" || ok["resume_from_stage"] != task.StageDesign {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	// auto_resume wrote the answer and queued into the row: a second /input
	// or /resume is refused at once, as the workflow no longer waits.
	row, _ := f.store.GetTask(t.Context(), id)
	if row.Status != task.StatusQueued || row.ProvidedAnswers["scope"] != "a" {
		t.Fatalf("row after auto_resume: %s %v", row.Status, row.ProvidedAnswers)
	}
	if w := f.do("POST", "/api/tasks/"+id+"/input", "k", map[string]any{"answers": map[string]any{"tags": []string{"x"}}}); w.Code != 409 {
		t.Fatalf("input after auto_resume: %d %s", w.Code, w.Body)
	}
	if w := f.do("POST", "/api/tasks/"+id+"/resume", "k", nil); w.Code != 409 {
		t.Fatalf("resume after auto_resume: %d %s", w.Code, w.Body)
	}
	f.client.AssertNumberOfCalls(t, "SignalWorkflow", 1)
}

// TestOpenAPIListsEveryRoute fails when a registered route is missing from
// docs/openapi.yaml.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	f := newFixture(t, nil)
	raw, err := docs.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	for _, r := range f.srv.Engine().Routes() {
		if strings.HasPrefix(r.Path, "/app/") || strings.HasPrefix(r.Path, "/assets/") {
			continue // static UI files
		}
		p := param.ReplaceAllString(strings.Replace(r.Path, "*path", "{path}", 1), "{$1}")
		ops, ok := doc.Paths[p]
		if !ok {
			t.Errorf("route %s %s is missing from docs/openapi.yaml (as %s)", r.Method, r.Path, p)
			continue
		}
		if _, ok := ops[strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s has no %s operation in docs/openapi.yaml", r.Method, r.Path, r.Method)
		}
	}
}

func TestCORSAndHeaders(t *testing.T) {
	f := newFixture(t, map[string]string{"ALLOWED_ORIGINS": "https://ui.example, *"})
	w := f.do("OPTIONS", "/api/tasks", "", nil, "Origin", "https://ui.example", "Access-Control-Request-Method", "POST")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://ui.example" ||
		!strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "Retry-After") ||
		!strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "X-Request-ID") {
		t.Fatalf("preflight %d %v", w.Code, w.Header())
	}
	w = f.do("GET", "/health", "", nil, "Origin", "https://evil.example")
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("an unlisted origin must not be allowed (and * is ignored)")
	}
	if w.Header().Get("X-Request-ID") == "" || !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("headers %v", w.Header())
	}
	w = f.do("GET", "/health", "", nil, "X-Request-ID", "bad id\nwith newline")
	if strings.Contains(w.Header().Get("X-Request-ID"), " ") {
		t.Fatal("unsafe request ids must be replaced")
	}
}

func uuidFor(t *testing.T, i int) string {
	t.Helper()
	return "00000000-0000-4000-8000-00000000000" + string(rune('0'+i))
}

var _ = gin.H{}
var _ = http.StatusOK

// downStore is a store whose database has gone away.
type downStore struct{ store.Store }

func (downStore) GetTask(context.Context, string) (store.Task, error) {
	return store.Task{}, fmt.Errorf("postgres: get task: %w", store.ErrUnavailable)
}

func (downStore) ListTasks(context.Context, store.TaskFilter) (store.Page[store.Task], error) {
	return store.Page[store.Task]{}, fmt.Errorf("postgres: list: %w", store.ErrUnavailable)
}

func (downStore) CreateTask(context.Context, store.Task) (store.Task, error) {
	return store.Task{}, fmt.Errorf("postgres: create: %w", store.ErrUnavailable)
}

func TestStoreOutageIs503(t *testing.T) {
	f := newFixture(t, nil)
	f.srv = New(Deps{Config: f.cfg, Store: downStore{f.store}, Temporal: f.client,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/tasks/00000000-0000-4000-8000-000000000000"}, {"GET", "/api/tasks"}, {"POST", "/api/tasks"},
	} {
		w := f.do(r.method, r.path, "k", map[string]any{"description": "x"})
		if w.Code != 503 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "database is not reachable") || strings.Contains(w.Body.String(), "postgres:") {
			t.Errorf("%s %s: %d %s", r.method, r.path, w.Code, w.Body)
		}
	}
}

// TestAnswersDecidedOnTheRow: /questions, /input and /resume answer from
// the task row, so a busy Temporal (every query would fail) does not stop
// them; an accepted /input is in the row at once, so /resume right after it
// sees the answer; a signal Temporal refuses writes nothing.
func TestAnswersDecidedOnTheRow(t *testing.T) {
	f := newFixture(t, nil)
	f.expectStart()
	id := f.create("k", "a task")
	qs := []task.Question{{ID: "scope", Type: task.QuestionText, Required: true}}
	_, _ = f.store.UpdateTask(t.Context(), id, func(row *store.Task) error {
		row.Status, row.PendingQuestions = task.StatusNeedsInput, qs
		return nil
	})
	f.client.On("QueryWorkflow", mock.Anything, task.WorkflowID(id), "", task.QueryState).
		Return(nil, serviceerror.NewUnavailable("busy"))
	w := f.do("GET", "/api/tasks/"+id+"/questions", "k", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"scope"`) {
		t.Fatalf("questions: %d %s", w.Code, w.Body)
	}
	if w := f.do("POST", "/api/tasks/"+id+"/input", "k", map[string]any{"answers": map[string]any{"nope": "x"}}); w.Code != 400 {
		t.Fatalf("validation against the stored questions: %d %s", w.Code, w.Body)
	}
	// Temporal refuses the first signal: nothing is written, 503.
	f.client.On("SignalWorkflow", mock.Anything, task.WorkflowID(id), "", task.SignalInput, mock.Anything).
		Return(serviceerror.NewUnavailable("busy")).Once()
	if w := f.do("POST", "/api/tasks/"+id+"/input", "k", map[string]any{"answers": map[string]any{"scope": "x"}}); w.Code != 503 {
		t.Fatalf("input with Temporal down: %d %s", w.Code, w.Body)
	}
	if row, _ := f.store.GetTask(t.Context(), id); len(row.ProvidedAnswers) != 0 {
		t.Fatalf("a refused signal left answers in the row: %v", row.ProvidedAnswers)
	}
	f.client.On("SignalWorkflow", mock.Anything, task.WorkflowID(id), "", task.SignalInput, mock.Anything).Return(nil)
	if w := f.do("POST", "/api/tasks/"+id+"/input", "k", map[string]any{"answers": map[string]any{"scope": "x"}}); w.Code != 200 {
		t.Fatalf("input: %d %s", w.Code, w.Body)
	}
	w = f.do("GET", "/api/tasks/"+id+"/questions", "k", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"provided_answers":{"scope":"x"}`) || !strings.Contains(w.Body.String(), `"missing":[]`) {
		t.Fatalf("questions after input: %d %s", w.Code, w.Body)
	}
	// The workflow gone: 409 task_not_running, the row stays needs_input.
	f.client.On("SignalWorkflow", mock.Anything, task.WorkflowID(id), "", task.SignalResume, mock.Anything).
		Return(serviceerror.NewNotFound("gone")).Once()
	if w := f.do("POST", "/api/tasks/"+id+"/resume", "k", nil); w.Code != 409 || !strings.Contains(w.Body.String(), "task_not_running") {
		t.Fatalf("resume of a gone workflow: %d %s", w.Code, w.Body)
	}
	f.client.On("SignalWorkflow", mock.Anything, task.WorkflowID(id), "", task.SignalResume, mock.Anything).Return(nil)
	if w := f.do("POST", "/api/tasks/"+id+"/resume", "k", nil); w.Code != 200 {
		t.Fatalf("resume right after input: %d %s", w.Code, w.Body)
	}
	if row, _ := f.store.GetTask(t.Context(), id); row.Status != task.StatusQueued {
		t.Fatalf("row after resume: %s", row.Status)
	}
	f.client.AssertNotCalled(t, "QueryWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything)
}
