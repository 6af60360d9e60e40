package app_test

import (
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/llm"
	"ai-platform/internal/sandbox/sandboxtest"
)

// hostileConftest runs the attacks of hostile.py when pytest starts and
// prints the report past pytest's output capture, as a hostile project
// would print whatever it wanted.
const hostileConftest = `import json
import os
import sys

_root = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _root)
import hostile  # noqa: E402

_report = {}


def pytest_sessionstart(session):
    _report.update(hostile.main(os.path.join(_root, "targets.json")))


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line("HOSTILE-REPORT " + json.dumps(_report, sort_keys=True))
`

// hostileModel is an OpenAI-compatible server whose coder adds the hostile
// files to the offline mock's project: the model's output is the attacker.
type hostileModel struct {
	mock    llm.Provider
	hostile []byte
	mu      sync.Mutex
	targets []byte // set once the platform's ports are known
}

func (m *hostileModel) setTargets(b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.targets = b
}

func (m *hostileModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Model    string        `json:"model"`
		Messages []llm.Message `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	resp, err := m.mock.Complete(r.Context(), llm.Request{Messages: body.Messages, Attempt: 2})
	if err != nil {
		http.Error(w, `{"error":{"message":"mock failed"}}`, http.StatusBadRequest)
		return
	}
	text := resp.Text
	var brief struct {
		Stage string `json:"stage"`
	}
	_ = json.Unmarshal([]byte(body.Messages[len(body.Messages)-1].Content), &brief)
	var code llm.CodeReply
	if brief.Stage == "code" && json.Unmarshal([]byte(text), &code) == nil && len(code.Files) > 0 {
		m.mu.Lock()
		targets := m.targets
		m.mu.Unlock()
		code.Files = append(code.Files,
			llm.FileContent{Path: "hostile.py", Content: string(m.hostile)},
			llm.FileContent{Path: "targets.json", Content: string(targets)},
			llm.FileContent{Path: "conftest.py", Content: hostileConftest})
		b, _ := json.Marshal(code)
		text = string(b)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-hostile", "object": "chat.completion", "created": time.Now().Unix(), "model": body.Model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": text}}},
		"usage": map[string]any{"prompt_tokens": resp.Usage.InputTokens, "completion_tokens": resp.Usage.OutputTokens,
			"total_tokens": resp.Usage.InputTokens + resp.Usage.OutputTokens},
	})
}

// TestHostileModelOutput: a model that writes hostile code, through the whole
// pipeline, in both shapes commands run in: the worker's own bubblewrap
// sandbox (`aiplatform run`) and the sandbox service process (production).
// Every attack must be blocked, no secret may appear anywhere, and the task
// still ends normally.
func TestHostileModelOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	for _, shape := range []string{"worker bwrap", "sandbox service"} {
		t.Run(strings.ReplaceAll(shape, " ", "_"), func(t *testing.T) {
			runHostileTask(t, shape == "sandbox service")
		})
	}
}

func runHostileTask(t *testing.T, service bool) {
	wsRoot := filepath.Join(sandboxtest.PublicDir(t), "workspaces")
	dataDir := sandboxtest.PublicDir(t)
	if err := os.MkdirAll(wsRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	// Another tenant's workspace, and a stand-in process that holds the
	// platform's secrets in its environment, as the worker does.
	other := filepath.Join(wsRoot, "00000000-other-task")
	must(t, os.MkdirAll(other, 0o755))
	must(t, os.WriteFile(filepath.Join(other, "main.py"), []byte("KEY = '"+llmKey+"'\n"), 0o644))
	holder := exec.Command("sleep", "600")
	holder.Env = []string{"LLM_API_KEY=" + llmKey, "APP_API_KEY=" + appKey}
	must(t, holder.Start())
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })

	env := map[string]string{"LLM_PROVIDER": "openai", "LLM_API_KEY": llmKey, "LLM_MODEL": "test-model",
		"APP_API_KEY": appKey, "WORKSPACE_ROOT": wsRoot, "DATA_DIR": dataDir, "COMMAND_SANDBOX": "bwrap"}
	var svc *sandboxtest.Service
	if service {
		svc = sandboxtest.Start(t, wsRoot)
		env["COMMAND_SANDBOX_SOCKET"] = svc.Socket
	}
	model := &hostileModel{mock: llm.NewMock("test-model")}
	var err error
	model.hostile, err = os.ReadFile(filepath.Join(apptest.RepoRoot(), "internal", "sandbox", "testdata", "hostile.py"))
	must(t, err)
	srv := httptest.NewServer(model)
	defer srv.Close()
	env["LLM_BASE_URL"] = srv.URL + "/v1"

	// The targets are known before the platform starts except its own
	// ports; the API's and Temporal's are filled in after Start, before the
	// first code reply.
	p := apptest.Start(t, apptest.Options{Env: env})
	p.APIKey = appKey
	apiPort := portOf(t, p.URL)
	temporalPort := portOf(t, "tcp://"+p.Temporal)
	unix := [][]any{{"PostgreSQL's socket", "/var/run/postgresql/.s.PGSQL.5432"}}
	if svc != nil {
		unix = append(unix, []any{"the sandbox service's socket", svc.Socket})
	}
	targets := map[string]any{
		"secrets_hex":          []string{hex.EncodeToString([]byte(llmKey)), hex.EncodeToString([]byte(appKey))},
		"worker_pid":           os.Getpid(),
		"data_dir":             dataDir,
		"secrets_file":         filepath.Join(dataDir, "secrets", "api_key_hash_secret"),
		"other_workspace_file": filepath.Join(other, "main.py"),
		"tcp": [][]any{{"the API", "127.0.0.1", apiPort}, {"Temporal", "127.0.0.1", temporalPort},
			{"PostgreSQL", "127.0.0.1", 5432}, {"Redis", "127.0.0.1", 6379}},
		"unix": unix,
		"write": [][]any{{"into DATA_DIR", filepath.Join(dataDir, "pwned")},
			{"into another workspace", filepath.Join(other, "pwned")}, {"into /usr", "/usr/pwned-by-hostile-task"}},
	}
	b, err := json.MarshalIndent(targets, "", "  ")
	must(t, err)
	model.setTargets(b)
	if _, err := os.Stat(filepath.Join(dataDir, "secrets", "api_key_hash_secret")); err != nil {
		t.Fatalf("no secrets file to attack: %v", err)
	}

	id := p.CreateTask(t, map[string]any{"description": "A CLI that tracks books I have read", "template_id": "python_cli"})
	tk := p.WaitStatus(t, id, 5*time.Minute, "completed", "failed")

	var page struct {
		Artifacts []struct {
			Payload struct {
				Purpose string `json:"purpose"`
				Stdout  string `json:"stdout"`
				Sandbox string `json:"sandbox"`
				UID     *int   `json:"uid"`
			} `json:"payload"`
		} `json:"artifacts"`
	}
	p.Do(t, http.MethodGet, "/api/tasks/"+id+"/artifacts?type=command_log&limit=1000", nil, &page)
	reports := 0
	for _, a := range page.Artifacts {
		wantSandbox := "bwrap"
		if service {
			wantSandbox = "service:bwrap"
		}
		if a.Payload.Sandbox != wantSandbox {
			t.Errorf("a %s command ran under sandbox %q, want %q", a.Payload.Purpose, a.Payload.Sandbox, wantSandbox)
		}
		if a.Payload.UID == nil || *a.Payload.UID == 0 {
			t.Errorf("a %s command ran as uid %v", a.Payload.Purpose, a.Payload.UID)
		}
		_, js, ok := strings.Cut(a.Payload.Stdout, "HOSTILE-REPORT ")
		if !ok {
			continue
		}
		reports++
		js, _, _ = strings.Cut(js, "\n")
		var rep map[string]string
		if err := json.Unmarshal([]byte(js), &rep); err != nil {
			t.Fatalf("report %q: %v", js, err)
		}
		want := 10 + len(targets["tcp"].([][]any)) + len(unix) + len(targets["write"].([][]any))
		if len(rep) != want {
			t.Errorf("%d attacks reported, want %d", len(rep), want)
		}
		for name, outcome := range rep {
			if !strings.HasPrefix(outcome, "blocked") {
				t.Errorf("%s: %s", name, outcome)
			}
		}
	}
	if reports == 0 {
		t.Fatalf("no pytest run printed the hostile report (task %s, %v); command logs: %d", tk.Status, tk.Error, len(page.Artifacts))
	}
	for _, w := range targets["write"].([][]any) {
		if _, err := os.Stat(w[1].(string)); err == nil {
			t.Errorf("%s: %s exists", w[0], w[1])
		}
	}
	if tk.Status != "completed" {
		t.Errorf("the task ended %s (%v); the hostile files are lint-clean and its tests pass", tk.Status, tk.Error)
	}
	scan := newLeakScanner(llmKey, appKey)
	scan.scanStore(t, p.App.Store)
	scan.report(t)
}

func portOf(t *testing.T, raw string) int {
	u, err := url.Parse(raw)
	must(t, err)
	_, port, err := net.SplitHostPort(u.Host)
	must(t, err)
	n, err := strconv.Atoi(port)
	must(t, err)
	return n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
