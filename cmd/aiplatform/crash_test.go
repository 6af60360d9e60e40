package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
)

// devServerRecord is what `run` writes to DATA_DIR/temporal.db.pid
// (internal/devserver): the dev server's pid and start time.
type devServerRecord struct {
	Pid       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
}

// running reports whether pid is the process started at start and not a
// zombie (which holds neither the port nor the database).
func running(pid int, start uint64) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 || f[0] == "Z" {
		return false
	}
	got, err := strconv.ParseUint(f[19], 10, 64)
	return err == nil && got == start
}

// TestKill9ThenRestart: `aiplatform run` killed with SIGKILL takes its
// Temporal dev server with it (no orphan holding the port), and a second
// `run` on the same DATA_DIR starts, still lists the task created before
// the kill, and finishes it.
func TestKill9ThenRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	temporalBin := filepath.Join(apptest.RepoRoot(), "bin", "temporal")
	if _, err := os.Stat(temporalBin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("bin/temporal is missing: run `make temporal`")
		}
		t.Skip("bin/temporal is missing: run `make temporal`")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	env := map[string]string{
		"PORT": strconv.Itoa(port), "DATA_DIR": dir, "WORKSPACE_ROOT": filepath.Join(dir, "workspaces"),
		"TEMPLATES_ROOT": filepath.Join(apptest.RepoRoot(), "templates"), "LOG_LEVEL": "info",
		"TEMPORAL_BIN": temporalBin, "TEMPORAL_DEV_PORT": strconv.Itoa(freePort(t)),
		"TEMPORAL_UI_PORT": strconv.Itoa(freePort(t)),
	}
	pidFile := filepath.Join(dir, "temporal.db.pid")

	first := start(t, bin, dir, env, "run")
	waitHealthy(t, base, first)
	id := createTask(t, base, "A command line tool that counts words and lines in text files [mock:slow=5]")
	pollTask(t, base, id, time.Minute, func(status, stage string) bool { return status == "processing" && stage != "" })

	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("no dev server pid file: %v", err)
	}
	var dev devServerRecord
	if err := json.Unmarshal(b, &dev); err != nil || dev.Pid <= 0 {
		t.Fatalf("pid file %q: %v", b, err)
	}
	if !running(dev.Pid, dev.StartTime) {
		t.Fatalf("the pid file names pid %d, which is not running", dev.Pid)
	}
	// The dev server's own process group cannot save it either: the parent
	// alone is killed, as the OOM killer or `kill -9 <pid>` would.
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 10*time.Second)
	killed := time.Now()
	for running(dev.Pid, dev.StartTime) {
		if time.Since(killed) > 5*time.Second {
			t.Fatalf("the dev server (pid %d) still runs 5s after its parent was killed", dev.Pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("dev server gone %s after the parent's SIGKILL", time.Since(killed).Round(time.Millisecond))

	second := start(t, bin, dir, env, "run")
	restarted := time.Now()
	waitHealthy(t, base, second)
	t.Logf("second run ready in %.1fs", time.Since(restarted).Seconds())
	var list struct {
		Tasks []struct {
			TaskID string `json:"task_id"`
		} `json:"tasks"`
	}
	getJSON(t, base+"/api/tasks", &list)
	found := false
	for _, tk := range list.Tasks {
		found = found || tk.TaskID == id
	}
	if !found {
		t.Fatalf("task %s created before the kill is not listed after the restart (%d tasks)", id, len(list.Tasks))
	}
	pollTask(t, base, id, 5*time.Minute, func(status, _ string) bool {
		if status == "failed" || status == "cancelled" {
			t.Fatalf("task %s ended %s after the restart; output:\n%s", id, status, second.output())
		}
		return status == "completed"
	})
	t.Logf("task completed %.1fs after the restart", time.Since(restarted).Seconds())

	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := second.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("second run: exit code %d, want 0; output:\n%s", code, second.output())
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("the pid file outlived a clean stop: %v", err)
	}
}
