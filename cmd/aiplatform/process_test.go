package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
)

// buildBinary builds the binary the way the Dockerfile does (static, no cgo).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aiplatform")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a running aiplatform child process.
type proc struct {
	cmd  *exec.Cmd
	done chan error
	log  string
}

// start runs `aiplatform args...` with exactly env (plus PATH and HOME), its
// output in a file under dir; the test's cleanup kills it if still running.
func start(t *testing.T, bin, dir string, env map[string]string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, fmt.Sprintf("aiplatform-%d.log", time.Now().UnixNano()))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir // no stray .env
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), log: logPath}
	go func() {
		p.done <- cmd.Wait()
		logf.Close()
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait returns the exit code, failing the test after timeout.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("waiting: %v", err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("still running after %s; log:\n%s", timeout, p.output())
		return -1
	}
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// TestWorkerGivesUpOnUnreachableTemporal: a worker whose Temporal never
// answers exits 1 with a message naming the address, after the bounded wait.
func TestWorkerGivesUpOnUnreachableTemporal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	address := "127.0.0.1:" + strconv.Itoa(freePort(t)) // closed: nothing listens there
	p := start(t, bin, dir, map[string]string{"TEMPORAL_ADDRESS": address, "STARTUP_WAIT_SECONDS": "2",
		"DATA_DIR": dir, "LOG_LEVEL": "error"}, "worker")
	if code := p.wait(t, 2*time.Minute); code != 1 {
		t.Fatalf("exit code %d, want 1; output:\n%s", code, p.output())
	}
	out := p.output()
	for _, want := range []string{"aiplatform: cannot reach Temporal at " + address, "STARTUP_WAIT_SECONDS"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestSIGTERMDuringTaskThenRestart stops `aiplatform run` with SIGTERM in
// the middle of a task and starts it again: the process exits 0, and the
// task, carried by Temporal, completes after the restart.
func TestSIGTERMDuringTaskThenRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	bin := buildBinary(t)
	temporal := apptest.DevServer(t, "") // outlives both runs of the platform
	dir := t.TempDir()
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	env := map[string]string{
		"TEMPORAL_ADDRESS": temporal.FrontendHostPort(), "TEMPORAL_TASK_QUEUE": "sigterm-" + strconv.Itoa(port),
		"PORT": strconv.Itoa(port), "DATA_DIR": dir, "WORKSPACE_ROOT": filepath.Join(dir, "workspaces"),
		"TEMPLATES_ROOT": filepath.Join(apptest.RepoRoot(), "templates"), "LOG_LEVEL": "info",
	}
	first := start(t, bin, dir, env, "run")
	waitHealthy(t, base, first)
	id := createTask(t, base, "A command line tool that counts words and lines in text files [mock:slow=5]")
	pollTask(t, base, id, time.Minute, func(status, stage string) bool { return status == "processing" && stage != "" })

	sent := time.Now()
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := first.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, first.output())
	}
	t.Logf("`run` exited 0 %.1fs after SIGTERM", time.Since(sent).Seconds())
	if _, err := http.Get(base + "/health"); err == nil {
		t.Error("the API still answers after the process exited")
	}

	second := start(t, bin, dir, env, "run")
	waitHealthy(t, base, second)
	pollTask(t, base, id, 5*time.Minute, func(status, _ string) bool {
		if status == "failed" || status == "cancelled" {
			t.Fatalf("task %s ended %s after the restart; output:\n%s", id, status, second.output())
		}
		return status == "completed"
	})
	var events struct {
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	getJSON(t, base+"/api/tasks/"+id+"/events?order=asc&limit=1000", &events)
	completed := 0
	for _, e := range events.Events {
		if e.Type == "TaskCompleted" {
			completed++
		}
	}
	if completed != 1 {
		t.Errorf("%d TaskCompleted events, want 1", completed)
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := second.wait(t, 90*time.Second); code != 0 {
		t.Errorf("second run: exit code %d, want 0", code)
	}
}

const apiKey = "sigterm-test-key"

func waitHealthy(t *testing.T, base string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("exited early (%v):\n%s", err, p.output())
		default:
		}
		if resp, err := http.Get(base + "/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("not ready after 2 minutes:\n%s", p.output())
}

func createTask(t *testing.T, base, description string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"description": description, "template_id": "python_cli"})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/tasks", bytes.NewReader(body))
	req.Header.Set("X-API-Key", apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		TaskID string `json:"task_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.TaskID == "" {
		t.Fatalf("create: %d %v %+v", resp.StatusCode, err, out)
	}
	return out.TaskID
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-API-Key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// pollTask reads the task until done(status, stage) holds.
func pollTask(t *testing.T, base, id string, timeout time.Duration, done func(status, stage string) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var v struct {
		Status       string  `json:"status"`
		CurrentStage *string `json:"current_stage"`
	}
	for time.Now().Before(deadline) {
		getJSON(t, base+"/api/tasks/"+id, &v)
		stage := ""
		if v.CurrentStage != nil {
			stage = *v.CurrentStage
		}
		if done(v.Status, stage) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("task %s: still %s after %s", id, v.Status, timeout)
}
