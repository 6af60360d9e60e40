package app

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	sdklog "go.temporal.io/sdk/log"

	"ai-platform/internal/config"
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

func TestOpenPostgresWaitsBoundedOnlyForUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now
	cases := []struct {
		name, url, want string
		retried         bool
	}{
		{"unreachable: retried until STARTUP_WAIT", "postgres://u@" + closed + "/db?sslmode=disable&connect_timeout=1",
			"PostgreSQL still unreachable after 2s", true},
		{"bad URL: no wait", "postgres://u@host:notaport/db", "invalid database URL", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := config.Config{DatabaseURL: c.url, StartupWait: 2 * time.Second}
			_, err := openPostgres(t.Context(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
			if waited := strings.Contains(logs.String(), "waiting for PostgreSQL"); waited != c.retried {
				t.Errorf("retried = %v, want %v; logs:\n%s", waited, c.retried, logs.String())
			}
		})
	}
}
