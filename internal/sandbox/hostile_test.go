package sandbox_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/config"
	"ai-platform/internal/runner"
	"ai-platform/internal/sandbox"
	"ai-platform/internal/sandbox/sandboxtest"
)

const (
	llmSecret   = "sk-HOSTILE-TEST-llm-key-0123456789"
	adminSecret = "admin-HOSTILE-TEST-key-0123456789"
)

// hostileSetup is the world the hostile code attacks: a data directory with a
// secrets file, another task's workspace, a stand-in worker process holding
// secrets in its environment, listeners for the API and Temporal, and the
// real PostgreSQL and Redis where they run.
type hostileSetup struct {
	root, ws, dataDir, otherWS string
	workerPID                  int
	targets                    map[string]any
}

func listen(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func newHostileSetup(t *testing.T, extraUnix [][2]string) *hostileSetup {
	return newHostileSetupIn(t, sandboxtest.PublicDir(t), extraUnix)
}

// retarget replaces a placeholder path among the targets once it is known.
func (h *hostileSetup) retarget(t *testing.T, placeholder, value string) {
	for _, u := range h.targets["unix"].([][]any) {
		if u[1] == placeholder {
			u[1] = value
		}
	}
	b, err := json.Marshal(h.targets)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(h.ws, "targets.json"), b, 0o644))
}

func newHostileSetupIn(t *testing.T, root string, extraUnix [][2]string) *hostileSetup {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	h := &hostileSetup{root: root}
	h.ws = filepath.Join(h.root, "task-a")
	h.otherWS = filepath.Join(h.root, "task-b")
	h.dataDir = filepath.Join(h.root, "data")
	for _, d := range []string{h.ws, h.otherWS, filepath.Join(h.dataDir, "secrets")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// World-readable on purpose: the sandbox, not file modes, must keep
	// the commands out.
	must(t, os.WriteFile(filepath.Join(h.dataDir, "secrets", "api_key_hash_secret"), []byte(adminSecret), 0o644))
	must(t, os.WriteFile(filepath.Join(h.otherWS, "main.py"), []byte("SECRET = '"+llmSecret+"'\n"), 0o644))
	src, err := os.ReadFile(filepath.Join(sandboxtest.RepoRoot(), "internal", "sandbox", "testdata", "hostile.py"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(h.ws, "hostile.py"), src, 0o644))

	worker := exec.Command("sleep", "300")
	worker.Env = []string{"LLM_API_KEY=" + llmSecret, "ADMIN_API_KEY=" + adminSecret}
	must(t, worker.Start())
	t.Cleanup(func() { _ = worker.Process.Kill(); _ = worker.Wait() })
	h.workerPID = worker.Process.Pid

	tcp := [][]any{{"the API", "127.0.0.1", listen(t)}, {"Temporal", "127.0.0.1", listen(t)},
		{"PostgreSQL", "127.0.0.1", 5432}, {"Redis", "127.0.0.1", 6379}}
	unix := [][]any{}
	for _, u := range append([][2]string{{"PostgreSQL's socket", "/var/run/postgresql/.s.PGSQL.5432"}}, extraUnix...) {
		unix = append(unix, []any{u[0], u[1]})
	}
	h.targets = map[string]any{
		"secrets":              []string{llmSecret, adminSecret},
		"worker_pid":           h.workerPID,
		"data_dir":             h.dataDir,
		"secrets_file":         filepath.Join(h.dataDir, "secrets", "api_key_hash_secret"),
		"other_workspace_file": filepath.Join(h.otherWS, "main.py"),
		"tcp":                  tcp,
		"unix":                 unix,
		"write": [][]any{{"into DATA_DIR", filepath.Join(h.dataDir, "pwned")},
			{"into another workspace", filepath.Join(h.otherWS, "pwned")},
			{"into /usr", "/usr/pwned-by-hostile-test"}, {"into /etc", "/etc/pwned-by-hostile-test"}},
	}
	b, err := json.Marshal(h.targets)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(h.ws, "targets.json"), b, 0o644))
	return h
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// attack runs hostile.py through ex and returns its report.
func (h *hostileSetup) attack(t *testing.T, ex runner.Executor) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := ex.Run(ctx, runner.Spec{Argv: []string{"python3", "hostile.py", "targets.json"}, Dir: h.ws, Purpose: "tests"})
	if !res.Ran || res.ExitCode == nil || *res.ExitCode != 0 {
		t.Fatalf("hostile.py did not run: %+v", res)
	}
	_, js, ok := strings.Cut(res.Stdout, "HOSTILE-REPORT ")
	if !ok {
		t.Fatalf("no report: %q %q", res.Stdout, res.Stderr)
	}
	var rep map[string]string
	must(t, json.Unmarshal([]byte(strings.TrimSpace(js)), &rep))
	for name, outcome := range rep {
		t.Logf("%s (%s): %s", name, ex.Sandbox(), outcome)
	}
	return rep
}

// expectContained checks every attack was blocked and nothing reached the host.
func (h *hostileSetup) expectContained(t *testing.T, rep map[string]string) {
	t.Helper()
	want := 10 + len(h.targets["tcp"].([][]any)) + len(h.targets["unix"].([][]any)) + len(h.targets["write"].([][]any))
	if len(rep) != want {
		t.Errorf("%d attacks reported, want %d: %v", len(rep), want, rep)
	}
	for name, outcome := range rep {
		if !strings.HasPrefix(outcome, "blocked") {
			t.Errorf("%s: %s", name, outcome)
		}
	}
	for _, w := range h.targets["write"].([][]any) {
		if _, err := os.Stat(w[1].(string)); err == nil {
			t.Errorf("%s: %s exists on the host", w[0], w[1])
			_ = os.Remove(w[1].(string))
		}
	}
	if _, err := os.Stat(filepath.Join(h.ws, "__pycache__")); err == nil {
		t.Error("the command wrote into the task workspace")
	}
}

func localRunner(t *testing.T, mode string) *runner.Runner {
	scratch := sandboxtest.PublicDir(t)
	r, err := runner.New(runner.Config{Allowed: []string{"python3"}, Timeout: time.Minute, MaxOutput: 1 << 20,
		Sandbox: mode, ScratchRoot: scratch})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("runner (%s): %v", mode, err)
		}
		t.Skipf("runner (%s) not usable here: %v", mode, err)
	}
	return r
}

// The sandbox as `aiplatform run` uses it: a runner inside the worker.
func TestHostileCodeLocalSandbox(t *testing.T) {
	h := newHostileSetup(t, nil)
	h.expectContained(t, h.attack(t, localRunner(t, config.SandboxBwrap)))
}

// The same attacks without a sandbox must show escapes: the suite can fail.
func TestHostileCodeSuiteDetectsEscapes(t *testing.T) {
	h := newHostileSetup(t, nil)
	rep := h.attack(t, localRunner(t, config.SandboxNone))
	for _, name := range []string{"connect to the API", "connect to Temporal", "see the worker process",
		"reach an outside address (interfaces and routes)"} {
		if !strings.HasPrefix(rep[name], "SUCCEEDED") {
			t.Errorf("unsandboxed, %q should succeed: %s", name, rep[name])
		}
	}
}

// The production shape: `aiplatform sandbox` started as in its container (no
// platform environment, no network namespace of the host's, the workspaces
// read-only), driven by the worker's client over its Unix socket.
func TestHostileCodeSandboxService(t *testing.T) {
	// The service's own socket is one more target.
	var svc *sandboxtest.Service
	root := sandboxtest.PublicDir(t)
	h := newHostileSetupIn(t, root, [][2]string{{"the sandbox service's own socket", "SOCKET"}})
	svc = sandboxtest.Start(t, root, "ALLOWED_COMMANDS=python3")
	h.retarget(t, "SOCKET", svc.Socket)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := sandbox.Dial(ctx, svc.Socket, root)
	if err != nil {
		t.Fatal(err)
	}
	if client.Sandbox() != "service:"+config.SandboxBwrap {
		t.Fatalf("service sandbox %q: %s", client.Sandbox(), client.SandboxNote())
	}
	h.expectContained(t, h.attack(t, client))

	// The service itself has no network but loopback.
	probe := exec.Command("nsenter", "--net=/proc/"+strconv.Itoa(svc.PID)+"/ns/net", "--",
		"python3", "-c", "import socket; print([n for _, n in socket.if_nameindex()])")
	if out, err := probe.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "['lo']" {
		t.Errorf("the service's network namespace: %s %v", out, err)
	}
}

// The resource attacks through the sandbox service process: each is stopped
// by the service's runner and reported back to the worker.
func TestResourceAttacksThroughTheService(t *testing.T) {
	root := sandboxtest.PublicDir(t)
	ws := filepath.Join(root, "task-r")
	must(t, os.Mkdir(ws, 0o755))
	svc := sandboxtest.Start(t, root, "ALLOWED_COMMANDS=python3", "COMMAND_MAX_PROCESSES=32",
		"COMMAND_WORKSPACE_MAX_MB=16", "COMMAND_WORKSPACE_MAX_FILES=2000", "COMMAND_TIMEOUT_SECONDS=20")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, err := sandbox.Dial(ctx, svc.Socket, root)
	must(t, err)
	tests := []struct {
		name, code string
		check      func(runner.Result) bool
	}{
		{"fork bomb", `import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError:
    print("refused after", n)`, func(r runner.Result) bool { return strings.HasPrefix(r.Stdout, "refused after") }},
		{"2 GiB file", `f = open('big', 'wb')
for _ in range(2048):
    f.write(b'x' * (1 << 20))`, func(r runner.Result) bool { return r.QuotaExceeded }},
		{"15000-deep tree", `import os
for i in range(15000):
    os.mkdir('d')
    os.chdir('d')`, func(r runner.Result) bool { return r.QuotaExceeded }},
	}
	for _, tt := range tests {
		start := time.Now()
		res := client.Run(ctx, runner.Spec{Argv: []string{"python3", "-c", tt.code}, Dir: ws})
		if !tt.check(res) {
			t.Errorf("%s not contained: error=%q quota=%v stdout=%q", tt.name, res.Error, res.QuotaExceeded, res.Stdout)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("%s took %v", tt.name, took)
		}
	}
	if entries, _ := os.ReadDir(ws); len(entries) != 0 {
		t.Errorf("the task workspace holds %d entries", len(entries))
	}
}
