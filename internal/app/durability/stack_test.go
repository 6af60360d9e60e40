package durability_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/store/pgtest"
)

// stack is one platform under test: a dev server on a persistent SQLite
// file, a private PostgreSQL schema, the API in this process and the worker
// as a child process. Each part can be stopped and started again.
type stack struct {
	t       *testing.T
	dir     string
	dbFile  string
	pgURL   string
	appName string // application_name of the worker's database sessions
	queue   string
	wsRoot  string
	secret  string
	apiKey  string
	extra   map[string]string

	dev    *testsuite.DevServer
	addr   string
	api    *apptest.Platform
	worker *workerProc
	logf   *os.File
}

type workerProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// newStack starts a dev server, the API and a worker process; extra is
// configuration for both (MAX_CONCURRENT_TASKS, say).
func newStack(t *testing.T, extra map[string]string) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	apptest.TemporalBin(t)
	dir := t.TempDir()
	s := &stack{
		t: t, dir: dir, dbFile: filepath.Join(dir, "temporal.db"), pgURL: pgtest.Schema(t),
		appName: "aip-durability-" + randHex(4), queue: "durability-" + randHex(4),
		wsRoot: filepath.Join(dir, "workspaces"), secret: randHex(32), apiKey: "durability-key-" + randHex(4),
		extra: extra,
	}
	logf, err := os.Create(filepath.Join(dir, "worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.logf = logf
	t.Cleanup(func() {
		s.killWorker()
		if t.Failed() {
			s.dumpWorkerLog(80)
		}
		_ = logf.Close()
	})
	s.startDevServer()
	s.startAPI()
	s.startWorker()
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// config is what the API and the worker share.
func (s *stack) config() map[string]string {
	env := map[string]string{
		"DATABASE_URL": s.pgURL, "TEMPORAL_TASK_QUEUE": s.queue, "WORKSPACE_ROOT": s.wsRoot,
		"API_KEY_HASH_SECRET": s.secret, "TEMPLATES_ROOT": filepath.Join(apptest.RepoRoot(), "templates"),
		"LLM_PROVIDER": "mock", "ENVIRONMENT": "test",
	}
	for k, v := range s.extra {
		env[k] = v
	}
	return env
}

func (s *stack) startDevServer() {
	s.dev = apptest.DevServer(s.t, s.dbFile)
	s.addr = s.dev.FrontendHostPort()
}

func (s *stack) stopDevServer() {
	if err := s.dev.Stop(); err != nil {
		s.t.Logf("stopping the dev server: %v", err)
	}
}

func (s *stack) startAPI() {
	s.api = apptest.Start(s.t, apptest.Options{NoWorker: true, Temporal: s.addr, Env: s.config()})
	s.api.APIKey = s.apiKey
}

func (s *stack) stopAPI() { s.api.Stop() }

// startWorker runs `aiplatform worker` with the stack's configuration. Its
// working directory is empty, so no .env is read.
func (s *stack) startWorker() {
	s.t.Helper()
	env := s.config()
	env["TEMPORAL_ADDRESS"] = s.addr
	env["DATABASE_URL"] = pgtest.WithParam(s.t, s.pgURL, "application_name", s.appName)
	env["DATA_DIR"] = filepath.Join(s.dir, "worker-data")
	env["LOG_LEVEL"] = "info"
	cmd := exec.Command(workerBin, "worker")
	cmd.Dir = s.t.TempDir()
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	_, _ = s.logf.WriteString("=== worker start " + time.Now().Format(time.RFC3339Nano) + "\n")
	cmd.Stdout, cmd.Stderr = s.logf, s.logf
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting the worker: %v", err)
	}
	w := &workerProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(w.done)
	}()
	s.worker = w
}

// killWorker SIGKILLs the worker and waits until it is gone.
func (s *stack) killWorker() {
	if s.worker == nil {
		return
	}
	_ = s.worker.cmd.Process.Signal(syscall.SIGKILL)
	<-s.worker.done
	_, _ = s.logf.WriteString("=== worker killed " + time.Now().Format(time.RFC3339Nano) + "\n")
	s.worker = nil
}

// stopWorker asks the worker to shut down (SIGTERM) and waits for it.
func (s *stack) stopWorker() {
	if s.worker == nil {
		return
	}
	_ = s.worker.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.worker.done:
	case <-time.After(time.Minute):
		s.t.Errorf("the worker did not stop within a minute of SIGTERM")
		s.killWorker()
		return
	}
	s.worker = nil
}

func (s *stack) dumpWorkerLog(lines int) {
	f, err := os.Open(s.logf.Name())
	if err != nil {
		return
	}
	defer f.Close()
	var all []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	s.t.Logf("worker log (last %d lines):\n%s", len(all), strings.Join(all, "\n"))
}

// create makes a task over HTTP.
func (s *stack) create(description, template string) string {
	s.t.Helper()
	body := map[string]any{"description": description}
	if template != "" {
		body["template_id"] = template
	}
	return s.api.CreateTask(s.t, body)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
