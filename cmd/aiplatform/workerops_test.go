package main

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/metrics/metricstest"
	"ai-platform/internal/store/pgtest"
)

// TestWorkerOpsAndBusyMetricsPort runs `aiplatform api` and `aiplatform
// worker` as separate processes on one PostgreSQL store and dev server:
//
//   - a worker whose METRICS_PORT is taken warns (naming the port and the
//     variable), keeps running and completes a task, and stops with 0;
//   - a worker with its own port answers /health (200, and `aiplatform
//     healthcheck worker` exits 0) and /metrics with the Temporal SDK's and
//     the platform's metrics of the task it ran;
//   - `aiplatform healthcheck worker` exits 1 once nothing answers.
func TestWorkerOpsAndBusyMetricsPort(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	pg := pgtest.Schema(t)
	bin := buildBinary(t)
	temporal := apptest.DevServer(t, "")
	dir := t.TempDir()
	apiPort := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(apiPort)
	env := func(extra ...string) map[string]string {
		m := map[string]string{
			"DATABASE_URL": pg, "TEMPORAL_ADDRESS": temporal.FrontendHostPort(),
			"TEMPORAL_TASK_QUEUE": "workerops-" + strconv.Itoa(apiPort), "API_KEY_HASH_SECRET": "workerops-secret",
			"DATA_DIR": dir, "WORKSPACE_ROOT": filepath.Join(dir, "workspaces"), "ENVIRONMENT": "test",
			"TEMPLATES_ROOT": filepath.Join(apptest.RepoRoot(), "templates"), "LOG_LEVEL": "info",
			"PORT": strconv.Itoa(apiPort),
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	api := start(t, bin, dir, env(), "api")
	waitHealthy(t, base, api)

	// Something else holds the port on every interface, as a second worker
	// on the host would.
	busy, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	crowded := start(t, bin, dir, env("METRICS_PORT", busyPort), "worker")
	waitLog(t, crowded, time.Minute, "METRICS_PORT "+busyPort)
	id := createTask(t, base, "A command line tool that counts words and lines in text files")
	waitCompleted(t, base, id, crowded)
	out := crowded.output()
	for _, want := range []string{"METRICS_PORT " + busyPort, "cannot be used", "runs on without them", "own METRICS_PORT"} {
		if !strings.Contains(out, want) {
			t.Errorf("the busy-port warning lacks %q:\n%s", want, out)
		}
	}
	stopProc(t, crowded)

	port := strconv.Itoa(freePort(t))
	w := start(t, bin, dir, env("METRICS_PORT", port), "worker")
	ops := "http://127.0.0.1:" + port
	waitLog(t, w, time.Minute, "worker serving /metrics and /health")
	if code, body := get(t, ops+"/health"); code != http.StatusOK || !strings.Contains(body, `"healthy"`) {
		t.Fatalf("worker /health: %d %s", code, body)
	}
	if code := runHealthcheck(t, bin, dir, port); code != 0 {
		t.Fatalf("healthcheck worker against a live worker: exit %d", code)
	}
	id2 := createTask(t, base, "A command line tool that counts words and lines in text files")
	waitCompleted(t, base, id2, w)
	code, body := get(t, ops+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("worker /metrics: %d", code)
	}
	f := metricstest.Parse(t, body)
	for _, name := range []string{
		"temporal_request_total", "temporal_activity_execution_latency_seconds", "temporal_workflow_completed_total",
		"aiplatform_llm_requests_total", "aiplatform_llm_tokens_total", "aiplatform_command_runs_total",
	} {
		if v, ok := f.Sum(name, nil); !ok || v <= 0 {
			t.Errorf("worker /metrics: %s = %v (present %v), want > 0", name, v, ok)
		}
	}
	if f.Prefixed("go_") == 0 || f.Prefixed("process_") == 0 {
		t.Error("worker /metrics lacks the Go runtime and process metrics")
	}
	stopProc(t, w)
	if code := runHealthcheck(t, bin, dir, port); code != 1 {
		t.Errorf("healthcheck worker with no worker: exit %d, want 1", code)
	}
	stopProc(t, api)
}

// waitLog waits until the process's output contains s.
func waitLog(t *testing.T, p *proc, timeout time.Duration, s string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.output(), s) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("exited (%v) before logging %q:\n%s", err, s, p.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log after %s:\n%s", s, timeout, p.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitCompleted polls the task until completed, failing on another end or
// when the worker p exits.
func waitCompleted(t *testing.T, base, id string, p *proc) {
	t.Helper()
	pollTask(t, base, id, 5*time.Minute, func(status, _ string) bool {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("the worker exited (%v) with task %s %s:\n%s", err, id, status, p.output())
		default:
		}
		if status == "failed" || status == "cancelled" {
			t.Fatalf("task %s ended %s:\n%s", id, status, p.output())
		}
		return status == "completed"
	})
}

// stopProc sends SIGTERM and expects exit code 0.
func stopProc(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0:\n%s", code, p.output())
	}
}

// runHealthcheck runs `aiplatform healthcheck worker` for METRICS_PORT port.
func runHealthcheck(t *testing.T, bin, dir, port string) int {
	t.Helper()
	hc := start(t, bin, dir, map[string]string{"METRICS_PORT": port, "DATA_DIR": dir}, "healthcheck", "worker")
	return hc.wait(t, 30*time.Second)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
