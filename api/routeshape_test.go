package api

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// shape maps a path in a JSON document to the JSON types allowed there.
// A path is dot-separated object keys; a key ending in "[]" steps into every
// element of the array it names ("events[].id"). A type is one of string,
// number, bool, object, array, null, or []T (an array whose every element
// is of type T); alternatives are separated by "|" ("string|null").
type shape map[string]string

// jsonType names the JSON type of a value decoded by encoding/json.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "unknown"
}

// typeIs reports whether v has one of the alternatives of want.
func typeIs(v any, want string) bool {
	for _, alt := range strings.Split(want, "|") {
		if elem, ok := strings.CutPrefix(alt, "[]"); ok {
			arr, isArr := v.([]any)
			if isArr && !slices.ContainsFunc(arr, func(e any) bool { return jsonType(e) != elem }) {
				return true
			}
			continue
		}
		if jsonType(v) == alt {
			return true
		}
	}
	return false
}

// lookup returns every value at path in doc; where a key is missing it
// returns the path up to that key instead.
func lookup(doc any, path string) (vals []any, missing []string) {
	cur := []any{doc}
	walked := ""
	for _, seg := range strings.Split(path, ".") {
		key, each := strings.CutSuffix(seg, "[]")
		walked = strings.TrimPrefix(walked+"."+key, ".")
		var next []any
		for _, v := range cur {
			obj, ok := v.(map[string]any)
			if !ok {
				missing = append(missing, walked+" (parent is "+jsonType(v)+")")
				continue
			}
			val, ok := obj[key]
			if !ok {
				missing = append(missing, walked)
				continue
			}
			if !each {
				next = append(next, val)
				continue
			}
			arr, ok := val.([]any)
			if !ok {
				missing = append(missing, walked+"[] (is "+jsonType(val)+")")
				continue
			}
			next = append(next, arr...)
		}
		cur = next
	}
	return cur, missing
}

// shapeErrors lists every path of want that is missing from raw or holds a
// value of another type, and every key of absent present at the top level.
func shapeErrors(raw []byte, want shape, absent ...string) []string {
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return []string{fmt.Sprintf("body %q is not JSON: %v", raw, err)}
	}
	var errs []string
	for _, p := range slices.Sorted(maps.Keys(want)) {
		vals, missing := lookup(doc, p)
		for _, m := range missing {
			errs = append(errs, p+": missing "+m)
		}
		for _, v := range vals {
			if !typeIs(v, want[p]) {
				b, _ := json.Marshal(v)
				errs = append(errs, fmt.Sprintf("%s: %s is %s, want %s", p, b, jsonType(v), want[p]))
			}
		}
	}
	obj, _ := doc.(map[string]any)
	for _, k := range absent {
		if _, ok := obj[k]; ok {
			errs = append(errs, k+" must not be returned")
		}
	}
	return errs
}

// checkShape fails t with every error shapeErrors finds.
func checkShape(t *testing.T, raw []byte, want shape, absent ...string) {
	t.Helper()
	for _, e := range shapeErrors(raw, want, absent...) {
		t.Error(e)
	}
}

// taskShape is the task record of GET /api/tasks/{id}, of every entry of a
// task list, and of every WebSocket message.
var taskShape = shape{
	"id": "string", "user_id": "string", "owner_user_id": "string|null", "description": "string", "status": "string",
	"progress": "number", "current_stage": "string|null", "codex_version": "string", "template_id": "string|null",
	"template_hash": "string|null", "pending_questions": "array", "provided_answers": "object",
	"resume_from_stage": "string|null", "result": "object|null", "error": "string|null", "failure_reason": "string|null",
	"created_at": "string", "updated_at": "string", "completed_at": "string|null", "files_count": "number",
	"artifacts_count": "number", "iterations": "number", "max_iterations": "number", "time_taken_seconds": "number",
	"cost_usd": "number", "budget_usd": "number", "budget_tokens": "number", "approve_plan": "bool",
}

// taskSecrets are the task fields the API never returns.
var taskSecrets = []string{"owner_key_hash", "client_ip"}

// prefixed returns s with every path prefixed by p.
func (s shape) prefixed(p string) shape {
	out := shape{}
	for k, v := range s {
		out[p+k] = v
	}
	return out
}

// with returns s plus more.
func (s shape) with(more shape) shape {
	out := shape{}
	for k, v := range s {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// shapeFixture is a server with an admin key, accounts, a completed task
// with files, events, artifacts and a state document (done), and a task
// waiting for answers (waiting), both owned by the API key "k".
type shapeFixture struct {
	*authFixture
	done, waiting string
}

func newShapeFixture(t *testing.T) *shapeFixture {
	t.Helper()
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "hybrid", "ADMIN_API_KEY": "admin-key"})
	f.expectStart()
	ctx := t.Context()
	done := f.do("POST", "/api/tasks", "k", map[string]any{"description": "a CLI", "user_id": "u1",
		"template_id": "python_cli"})
	if done.Code != 200 {
		t.Fatalf("create: %d %s", done.Code, done.Body)
	}
	var created struct {
		TaskID string `json:"task_id"`
	}
	_ = json.Unmarshal(done.Body.Bytes(), &created)
	id := created.TaskID
	if err := f.store.PutFiles(ctx, id, []store.File{
		{Path: "cli.py", Content: []byte("print('hi')\n")},
		{Path: "README.md", Content: []byte("# CLI\n")},
		{Path: "tests/test_cli.py", Content: []byte("def test(): pass\n")},
		{Path: "pyproject.toml", Content: []byte("[project]\n")},
		{Path: "data.bin", Content: []byte{0xff, 0x00, 0xfe}},
	}, nil, store.FileLimits{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := f.store.AppendEvent(ctx, store.Event{ID: "0b7d6e1c-0000-4000-8000-0000000000e1", TaskID: id,
		Type: "StageStarted", Payload: json.RawMessage(`{"stage":"research"}`), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.AppendArtifact(ctx, store.Artifact{ID: "0b7d6e1c-0000-4000-8000-0000000000a1", TaskID: id,
		Type: "review_report", ProducedBy: "reviewer", Payload: json.RawMessage(`{"passed":true}`), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	// The state document as the worker writes it, with keys beyond the
	// documented ones.
	if err := f.store.PutState(ctx, id, json.RawMessage(`{"status":"completed","progress":1,"current_stage":"completed",
		"active_role":"reviewer","codex_version":"1.0.0","iteration":2,"max_iterations":12,"container_state":"completed",
		"container_progress":1,"llm_usage_summary":{"total_tokens":10},"timestamps":{"updated_at":"2026-01-01T00:00:00Z"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpdateTask(ctx, id, func(row *store.Task) error {
		row.Status, row.CurrentStage, row.Progress, row.CompletedAt = task.StatusCompleted, "completed", 1, &now
		row.Result = json.RawMessage(`{"status":"completed"}`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	waiting := f.create("k", "another task")
	qs := []task.Question{{ID: "scope", Text: "Which scope?", Type: task.QuestionText, Required: true}}
	if _, err := f.store.UpdateTask(ctx, waiting, func(row *store.Task) error {
		row.Status, row.PendingQuestions, row.ResumeFromStage = task.StatusNeedsInput, qs, "design"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	val := &mocks.Value{}
	val.On("Get", mock.Anything).Run(func(args mock.Arguments) {
		*(args.Get(0).(*task.State)) = task.State{Status: task.StatusNeedsInput, PendingQuestions: qs,
			ProvidedAnswers: map[string]any{}, ResumeFromStage: "design"}
	}).Return(nil)
	f.client.On("QueryWorkflow", mock.Anything, task.WorkflowID(waiting), "", task.QueryState).Return(val, nil)
	f.client.On("SignalWorkflow", mock.Anything, task.WorkflowID(waiting), "", mock.Anything, mock.Anything).Return(nil)
	f.client.On("ExecuteWorkflow", mock.Anything, mock.Anything, task.ReviewWorkflowName, mock.Anything).
		Return(&mocks.WorkflowRun{}, nil)
	return &shapeFixture{authFixture: f, done: id, waiting: waiting}
}

// TestRouteShapes pins, route by route, the fields and JSON types of each
// response that clients written for this HTTP contract read literally (the
// browser app and scripts): names and types may only be added to, never
// renamed or retyped.
func TestRouteShapes(t *testing.T) {
	f := newShapeFixture(t)
	tp := func(id, rest string) string { return "/api/tasks/" + id + rest }
	cases := []struct {
		name         string
		method, path string
		key          string // X-API-Key; "" sends none
		body         any
		headers      []string
		status       int
		want         shape
		absent       []string
	}{
		{name: "root", method: "GET", path: "/", status: 200, want: shape{
			"message": "string", "version": "string", "status": "string", "endpoints": "object"}},
		{name: "health", method: "GET", path: "/health", status: 200, want: shape{
			"status": "string", "timestamp": "number", "active_tasks": "number", "active_connections": "number"}},
		{name: "ops status", method: "GET", path: "/ops/status", key: "admin-key", status: 200, want: shape{
			"generated_at": "string", "active_tasks": "number", "average_duration_seconds": "number|null",
			"success_rate": "number|null", "fail_rate": "number|null", "success_count": "number", "fail_count": "number",
			"queued_count": "number", "running_count": "number", "completed_count": "number", "failed_count": "number",
			"queue_length": "number", "active_task_ids": "[]string",
			"usage_totals_last_24h.tokens_in": "number", "usage_totals_last_24h.tokens_out": "number",
			"usage_totals_last_24h.command_runs": "number", "usage_totals_last_24h.total_tokens": "number",
			"usage_totals_last_24h.cost_usd": "number", "top_keys_last_24h": "[]object", "top_failure_reasons": "[]object",
			"llm_usage_totals.total_tokens_in": "number", "llm_usage_totals.total_tokens_out": "number",
			"llm_usage_totals.total_tokens": "number", "llm_usage_totals.total_cost_usd": "number"}},
		{name: "templates", method: "GET", path: "/api/templates", key: "k", status: 200, want: shape{
			"templates": "[]object", "templates[].template_id": "string", "templates[].description": "string",
			"templates[].hash": "string"}},
		{name: "create task", method: "POST", path: "/api/tasks", key: "k", body: map[string]any{"description": "x"},
			status: 200, want: shape{"task_id": "string", "status": "string", "message": "string", "progress": "number",
				"estimated_time": "number"}},
		{name: "task", method: "GET", path: tp(f.done, ""), key: "k", status: 200, want: taskShape, absent: taskSecrets},
		{name: "questions", method: "GET", path: tp(f.waiting, "/questions"), key: "k", status: 200, want: shape{
			"task_id": "string", "pending_questions": "[]object", "pending_questions[].id": "string",
			"pending_questions[].text": "string", "pending_questions[].type": "string",
			"pending_questions[].choices": "array|null", "pending_questions[].required": "bool",
			"pending_questions[].rationale": "string", "provided_answers": "object", "resume_from_stage": "string|null",
			"requested_at": "string|null"}},
		{name: "input", method: "POST", path: tp(f.waiting, "/input"), key: "k",
			body: map[string]any{"answers": map[string]any{}}, status: 200, want: shape{"task_id": "string", "status": "string"}},
		{name: "resume with missing answers", method: "POST", path: tp(f.waiting, "/resume"), key: "k", status: 400,
			want: shape{"detail.error": "string", "detail.missing": "[]string"}},
		{name: "input and resume", method: "POST", path: tp(f.waiting, "/input"), key: "k",
			body: map[string]any{"answers": map[string]any{"scope": "all"}, "auto_resume": true}, status: 200,
			want: shape{"task_id": "string", "status": "string", "resume_from_stage": "string|null"}},
		{name: "rerun review", method: "POST", path: tp(f.done, "/rerun-review"), key: "k", status: 202,
			want: shape{"task_id": "string", "run_id": "string"}},
		{name: "events", method: "GET", path: tp(f.done, "/events?limit=200&order=desc"), key: "k", status: 200, want: shape{
			"task_id": "string", "total": "number", "events": "[]object", "events[].id": "string", "events[].type": "string",
			"events[].payload": "object", "events[].created_at": "string"}},
		{name: "bad order", method: "GET", path: tp(f.done, "/events?order=up"), key: "k", status: 400,
			want: shape{"detail": "string"}},
		{name: "artifacts", method: "GET", path: tp(f.done, "/artifacts?type=review_report"), key: "k", status: 200, want: shape{
			"task_id": "string", "total": "number", "artifacts": "[]object", "artifacts[].id": "string",
			"artifacts[].type": "string", "artifacts[].produced_by": "string", "artifacts[].payload": "object",
			"artifacts[].created_at": "string"}},
		{name: "state", method: "GET", path: tp(f.done, "/state"), key: "k", status: 200, want: shape{
			"task_id": "string", "state": "object", "state.status": "string", "state.progress": "number",
			"state.current_stage": "string", "state.active_role": "string", "state.current_task": "null",
			"state.codex_version": "string", "state.timestamps": "object", "state.timestamps.meta.llm_usage_summary": "object",
			"state.timestamps.meta.iteration": "number", "state.container_state": "string",
			"state.container_progress": "number", "updated_at": "string|null"}},
		{name: "state of a task without one", method: "GET", path: tp(f.waiting, "/state"), key: "k", status: 200, want: shape{
			"state.status": "string", "state.progress": "number", "state.current_stage": "string|null",
			"state.active_role": "null", "state.current_task": "null", "state.codex_version": "null",
			"state.timestamps": "null", "state.container_state": "null", "state.container_progress": "null",
			"updated_at": "null"}},
		{name: "files, with the browser client's parameters", method: "GET", path: tp(f.done, "/files?limit=1&order=desc"),
			key: "k", status: 200, want: shape{
				"total": "number", "all_files": "[]string", "by_type.code": "[]string", "by_type.config": "[]string",
				"by_type.docs": "[]string", "by_type.tests": "[]string", "by_type.other": "[]string",
				"files": "[]object", "files[].path": "string", "files[].size": "number", "files[].sha256": "string",
				"files[].mime_type": "string", "files[].language": "string", "files[].updated_at": "string",
				"next_cursor": "null"}},
		{name: "file content", method: "GET", path: tp(f.done, "/files/tests/test_cli.py"), key: "k", status: 200,
			want: shape{"path": "string", "content": "string", "size": "number", "language": "string"}},
		{name: "file not found", method: "GET", path: tp(f.done, "/files/nope.py"), key: "k", status: 404,
			want: shape{"detail": "string"}},
		{name: "user tasks", method: "GET", path: "/api/users/u1/tasks", key: "k", status: 200, want: shape{
			"user_id": "string", "tasks": "[]object", "total": "number", "limit": "number"}.with(taskShape.prefixed("tasks[].")),
			absent: taskSecrets},
		{name: "another owner's task", method: "GET", path: tp(f.done, ""), key: "other", status: 404,
			want: shape{"detail": "string"}},
		{name: "no credentials", method: "GET", path: tp(f.done, ""), status: 401, want: shape{"detail": "string"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(tc.method, tc.path, tc.key, tc.body, tc.headers...)
			if w.Code != tc.status {
				t.Fatalf("%s %s: status %d, want %d: %s", tc.method, tc.path, w.Code, tc.status, w.Body)
			}
			checkShape(t, w.Body.Bytes(), tc.want, tc.absent...)
		})
	}

	t.Run("files lists name every file whatever limit and order say", func(t *testing.T) {
		var b filesBody
		_ = json.Unmarshal(f.do("GET", tp(f.done, "/files?limit=1&order=desc"), "k", nil).Body.Bytes(), &b)
		want := []string{"README.md", "cli.py", "data.bin", "pyproject.toml", "tests/test_cli.py"}
		if !slices.Equal(b.AllFiles, want) || b.Total != 5 || len(b.Files) != 5 {
			t.Errorf("all_files %v, total %d, %d files", b.AllFiles, b.Total, len(b.Files))
		}
		wantByType := map[string][]string{"code": {"cli.py", "tests/test_cli.py"}, "config": {"pyproject.toml"},
			"docs": {"README.md"}, "tests": {"tests/test_cli.py"}, "other": {"data.bin"}}
		for cat, paths := range wantByType {
			if !slices.Equal(b.ByType[cat], paths) {
				t.Errorf("by_type[%s] = %v, want %v", cat, b.ByType[cat], paths)
			}
		}
	})

	for _, route := range []struct{ method, path, name string }{
		{"GET", "/download.zip", "task_" + f.done + ".zip"},
		{"POST", "/download", "task_" + f.done + ".zip"},
		{"GET", "/git-export.zip", "task_" + f.done + "_git_export.zip"},
	} {
		t.Run("zip "+route.method+" "+route.path, func(t *testing.T) {
			w := f.do(route.method, tp(f.done, route.path), "k", nil)
			if w.Code != 200 || w.Header().Get("Content-Type") != "application/zip" ||
				w.Header().Get("Content-Disposition") != `attachment; filename="`+route.name+`"` {
				t.Fatalf("%d %v", w.Code, w.Header())
			}
			zr, err := zip.NewReader(bytes.NewReader(w.Body.Bytes()), int64(w.Body.Len()))
			if err != nil {
				t.Fatal(err)
			}
			dir := "task_" + f.done + "/"
			names := map[string]*zip.File{}
			for _, e := range zr.File {
				names[e.Name] = e
			}
			if route.path == "/git-export.zip" {
				for _, n := range []string{"patch.diff", "apply.sh", "README_APPLY.md", "changed_files.json"} {
					if names[dir+"git_export/"+n] == nil {
						t.Errorf("git export lacks %s", n)
					}
				}
				return
			}
			if names[dir] == nil || names[dir+"cli.py"] == nil || names[dir+"manifest.json"] == nil {
				t.Fatalf("entries %v", names)
			}
			r, err := names[dir+"manifest.json"].Open()
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(r)
			checkShape(t, raw, shape{"task_id": "string", "status": "string", "created_at": "string", "updated_at": "string",
				"iterations": "number", "files_count": "number", "artifacts_count": "number", "api_base_url": "string",
				"files": "[]object", "files[].path": "string", "files[].size": "number", "files[].sha256": "string"})
		})
	}

	t.Run("websocket", func(t *testing.T) {
		srv := httptest.NewServer(f.srv.Handler())
		t.Cleanup(srv.Close)
		code, msg := wsDial(t, srv, f.done, http.Header{"X-Api-Key": {"k"}}, nil, "")
		if code != -1 {
			t.Fatalf("closed with %d", code)
		}
		checkShape(t, []byte(msg), taskShape, taskSecrets...)
		if code, reason := wsDial(t, srv, f.done, nil, nil, ""); code != 4401 || reason != "API key required" {
			t.Errorf("no credentials: %d %q", code, reason)
		}
		if code, reason := wsDial(t, srv, f.done, http.Header{"X-Api-Key": {"other"}}, nil, ""); code != 4404 || reason != "Task not found" {
			t.Errorf("another owner: %d %q", code, reason)
		}
	})

	t.Run("auth", func(t *testing.T) {
		token := shape{"access_token": "string", "token_type": "string", "expires_in": "number", "user.id": "string",
			"user.email": "string"}
		w := f.do("POST", "/auth/register", "", map[string]any{"email": "shape@example.com", "password": "password-123"})
		if w.Code != 200 {
			t.Fatalf("register: %d %s", w.Code, w.Body)
		}
		checkShape(t, w.Body.Bytes(), token)
		cookie := refreshCookieOf(w, f.cfg.RefreshCookieName)
		access := decodeToken(t, w).AccessToken
		w = f.do("POST", "/auth/login", "", map[string]any{"email": "shape@example.com", "password": "password-123"})
		if w.Code != 200 {
			t.Fatalf("login: %d %s", w.Code, w.Body)
		}
		checkShape(t, w.Body.Bytes(), token)
		if w = f.do("POST", "/auth/register", "", map[string]any{"email": "shape@example.com", "password": "password-123"}); w.Code != 409 {
			t.Errorf("second register: %d %s", w.Code, w.Body)
		}
		checkShape(t, w.Body.Bytes(), shape{"detail": "string"})
		w = f.do("POST", "/auth/refresh", "", nil, "Cookie", cookie.Name+"="+cookie.Value)
		if w.Code != 200 {
			t.Fatalf("refresh: %d %s", w.Code, w.Body)
		}
		checkShape(t, w.Body.Bytes(), token)
		w = f.do("GET", "/auth/me", "", nil, bearer(access)...)
		if w.Code != 200 {
			t.Fatalf("me: %d %s", w.Code, w.Body)
		}
		checkShape(t, w.Body.Bytes(), shape{"user.id": "string", "user.email": "string"})
		w = f.do("POST", "/auth/logout", "", nil)
		if w.Code != 200 || detail(t, w) != "Logged out" {
			t.Errorf("logout: %d %s", w.Code, w.Body)
		}
	})
}

// TestAuthRoutesInAPIKeyMode: with AUTH_MODE=apikey every /auth route
// refuses with "Auth mode disabled", 401 for /auth/me and 403 for the rest.
func TestAuthRoutesInAPIKeyMode(t *testing.T) {
	f := newFixture(t, map[string]string{"AUTH_MODE": "apikey"})
	cases := []struct {
		method, path string
		status       int
	}{
		{"POST", "/auth/register", 403},
		{"POST", "/auth/login", 403},
		{"POST", "/auth/refresh", 403},
		{"POST", "/auth/logout", 403},
		{"GET", "/auth/me", 401},
	}
	for _, tc := range cases {
		w := f.do(tc.method, tc.path, "", map[string]any{"email": "a@example.com", "password": "password-123"})
		if w.Code != tc.status || detail(t, w) != "Auth mode disabled" {
			t.Errorf("%s %s: %d %s, want %d Auth mode disabled", tc.method, tc.path, w.Code, w.Body, tc.status)
		}
	}
}

// TestShapeChecker: the checker behind TestRouteShapes tells matching
// documents from missing keys and wrong types, in nested objects and in
// every element of an array.
func TestShapeChecker(t *testing.T) {
	cases := []struct {
		doc     string
		want    shape
		absent  []string
		wantErr bool
	}{
		{`{"a":"x","b":[1,2],"c":{"d":null}}`, shape{"a": "string", "b": "[]number", "c.d": "string|null"}, nil, false},
		{`{"a":[{"p":"x"},{"p":"y"}]}`, shape{"a": "[]object", "a[].p": "string"}, nil, false},
		{`{"a":[]}`, shape{"a": "[]string"}, nil, false},
		{`{"a":[{"p":"x"},{"q":"y"}]}`, shape{"a[].p": "string"}, nil, true},
		{`{"a":[{"p":"x"},"s"]}`, shape{"a": "[]string"}, nil, true},
		{`{"a":1}`, shape{"a": "string"}, nil, true},
		{`{"a":null}`, shape{"a": "string"}, nil, true},
		{`{}`, shape{"a": "null"}, nil, true},
		{`{"a":{"b":1}}`, shape{"a.c": "number"}, nil, true},
		{`{"a":"x"}`, shape{"a.b": "number"}, nil, true},
		{`{"a":"x","owner_key_hash":"h"}`, shape{"a": "string"}, []string{"owner_key_hash"}, true},
	}
	for _, tc := range cases {
		errs := shapeErrors([]byte(tc.doc), tc.want, tc.absent...)
		if (len(errs) > 0) != tc.wantErr {
			t.Errorf("%s against %v (absent %v): errors %q", tc.doc, tc.want, tc.absent, errs)
		}
	}
}
