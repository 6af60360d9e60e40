package app

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdklog "go.temporal.io/sdk/log"
)

func TestSDKLogLinesGetTheTaskID(t *testing.T) {
	const id = "3f0c1a2b-0000-4000-8000-000000000001"
	cases := []struct {
		name string
		log  func(l sdklog.Logger)
		want string // task_id, "" for none
	}{
		{"workflow logger (With)", func(l sdklog.Logger) {
			sdklog.With(l, "WorkflowID", "task-"+id, "RunID", "r1").Warn("releasing slot failed")
		}, id},
		{"inline keyvals", func(l sdklog.Logger) { l.Error("Activity error.", "WorkflowID", "review-"+id, "Attempt", 2) }, id},
		{"semaphore workflow", func(l sdklog.Logger) {
			sdklog.With(l, "WorkflowID", "slots-q").Warn("regrant not delivered", "workflow_id", "task-"+id)
		}, ""},
		{"no workflow", func(l sdklog.Logger) { l.Info("worker started") }, ""},
		{"nested With keeps one task_id", func(l sdklog.Logger) {
			sdklog.With(sdklog.With(l, "WorkflowID", "task-"+id), "ActivityID", "5").Info("x", "WorkflowID", "task-"+id)
		}, id},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			c.log(sdkLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
			line := strings.TrimSpace(buf.String())
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not JSON: %q", line)
			}
			if rec["component"] != "temporal-sdk" {
				t.Errorf("component = %v", rec["component"])
			}
			got, _ := rec["task_id"].(string)
			if got != c.want {
				t.Errorf("task_id = %q, want %q: %s", got, c.want, line)
			}
			if n := strings.Count(line, `"task_id":`); n > 1 {
				t.Errorf("task_id appears %d times: %s", n, line)
			}
		})
	}
}
