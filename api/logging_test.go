package api

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"ai-platform/internal/task"
	"ai-platform/internal/testutil/logbuf"
)

// TestTaskLogLinesCarryIDs checks that every log line of a task request,
// creation included, names the request, the task and its workflow, once.
func TestTaskLogLinesCarryIDs(t *testing.T) {
	f := newFixture(t, nil)
	var sink logbuf.Buffer
	f.srv = New(Deps{Config: f.cfg, Store: f.store, Temporal: f.client, Catalog: f.srv.Catalog,
		Logger: slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	f.expectStart()
	id := f.create("k1", "A command line tool that counts words in files")
	for _, path := range []string{"/api/tasks/" + id, "/api/tasks/" + id + "/events", "/api/tasks/" + id + "/files/missing.py"} {
		f.do("GET", path, "k1", nil, "X-Request-ID", "req-"+strings.ReplaceAll(path, "/", "."))
	}
	lines := sink.Lines()
	if len(lines) < 5 {
		t.Fatalf("expected a creation line and four access lines, got %d:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if rec["request_id"] == nil || rec["request_id"] == "" {
			t.Errorf("no request_id: %s", l)
		}
		if rec["route"] == "/api/tasks" && rec["method"] == "GET" {
			continue // a list names no task
		}
		if rec["task_id"] != id || rec["workflow_id"] != task.WorkflowID(id) {
			t.Errorf("line lacks task_id/workflow_id %s: %s", id, l)
		}
		if n := strings.Count(l, `"task_id":`); n != 1 {
			t.Errorf("task_id appears %d times: %s", n, l)
		}
	}
}
