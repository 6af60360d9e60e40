package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"ai-platform/internal/testutil/logbuf"
)

// The browser tests (tests/e2e, node's test runner + playwright-core driving
// Debian's Chromium) run against a real `aiplatform run` started here on
// free ports, with its own data directory and a template whose file name,
// description and question carry markup.

const chromiumPath = "/usr/bin/chromium"

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), ".."))
}

// require skips the test when a prerequisite is missing, or fails it under CI.
func require(t *testing.T, ok bool, msg string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// xssTemplate is a project template whose description, question and a file
// name are markup; the browser must show them as text.
var xssTemplate = map[string]string{
	"template.json": `{
  "description": "<script>alert('tpl')</script><b>Markup probe</b> template.",
  "clarification_questions": [{
    "id": "xss_question",
    "text": "<img src=x onerror=alert(2)> Which <b>flavour</b>?",
    "type": "multi",
    "choices": ["<i>plain</i>", "<script>alert(3)</script>"],
    "required": true,
    "rationale": "<svg onload=alert(4)> is only text."
  }]
}
`,
	"<img src=x onerror=alert(1)>.md": "# Probe\n\n<script>alert(5)</script> stays text.\n",
	"README.md":                       "# Markup probe\n",
}

func copyTemplates(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if filepath.Ext(p) == ".go" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying templates: %v", err)
	}
	probe := filepath.Join(dst, "xss_probe")
	if err := os.MkdirAll(probe, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range xssTemplate {
		if err := os.WriteFile(filepath.Join(probe, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// startPlatform runs `aiplatform run` and returns its base URL and API key.
func startPlatform(t *testing.T, root string) (base, key, temporalUI string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "aiplatform")
	build := exec.Command("go", "build", "-o", bin, "./cmd/aiplatform")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	templates := filepath.Join(dir, "templates")
	copyTemplates(t, filepath.Join(root, "templates"), templates)
	keyBytes := make([]byte, 16)
	if _, err := rand.Read(keyBytes); err != nil {
		t.Fatal(err)
	}
	key = "e2e-" + hex.EncodeToString(keyBytes)
	port, uiPort := freePort(t), freePort(t)
	temporalUI = fmt.Sprintf("http://127.0.0.1:%d", uiPort)
	cmd := exec.Command(bin, "run")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("PORT=%d", port),
		fmt.Sprintf("TEMPORAL_DEV_PORT=%d", freePort(t)),
		fmt.Sprintf("TEMPORAL_UI_PORT=%d", uiPort),
		"TEMPORAL_BIN="+filepath.Join(root, "bin", "temporal"),
		"TEMPORAL_ADDRESS=",
		"DATA_DIR="+filepath.Join(dir, "data"),
		"WORKSPACE_ROOT="+filepath.Join(dir, "workspaces"),
		"TEMPLATES_ROOT="+templates,
		"APP_API_KEY="+key,
		// hybrid: API keys work as before, and the account tests use the
		// real /auth endpoints.
		"AUTH_MODE=hybrid",
		"AUTH_JWT_SECRET="+key+"-jwt-secret-for-e2e-tests",
		"ENVIRONMENT=development",
		"DATABASE_URL=",
		"LLM_PROVIDER=mock",
		// The mock streams in paced chunks as under `make run`, so the
		// live-output test (and its screenshot) sees a stage mid-stream.
		"LLM_MOCK_STREAM_DELAY_MS=4",
		"LOG_FORMAT=text",
		"LOG_LEVEL=warn",
	)
	logs := &logbuf.Buffer{} // the child's output, for the failure report
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting aiplatform run: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// SIGTERM lets the binary stop its worker and the dev server it started.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("aiplatform run output:\n%s", tail(logs.String(), 8000))
		}
	})
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(4 * time.Minute)
	for {
		select {
		case err := <-exited:
			t.Fatalf("aiplatform run exited early (%v):\n%s", err, tail(logs.String(), 8000))
		default:
		}
		resp, err := http.Get(base + "/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, key, temporalUI
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("aiplatform run not ready after 4 minutes:\n%s", tail(logs.String(), 8000))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func TestBrowserEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	root := repoRoot()
	node, err := exec.LookPath("node")
	require(t, err == nil, "node is not installed: install Node.js to run the browser tests")
	require(t, exists(chromiumPath), "Chromium is missing: apt-get install -y chromium")
	e2e := filepath.Join(root, "tests", "e2e")
	require(t, exists(filepath.Join(e2e, "node_modules", "playwright-core")), "tests/e2e/node_modules is missing: run `npm ci` in tests/e2e")
	require(t, exists(filepath.Join(root, "bin", "temporal")), "bin/temporal is missing: run `make temporal`")

	base, key, temporalUI := startPlatform(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	// Each test file runs in its own `node --test <file>`, one after the
	// other (they share the one platform started above). Naming the file
	// works on every Node with a test runner: Node 22+ read a directory
	// argument as a module to load, and Node 18 has no --test-concurrency.
	files, err := filepath.Glob(filepath.Join(e2e, "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no browser test files in %s (%v)", e2e, err)
	}
	env := append(os.Environ(), "E2E_BASE_URL="+base, "E2E_API_KEY="+key, "E2E_CHROMIUM="+chromiumPath,
		"E2E_TEMPORAL_UI="+temporalUI)
	// E2E_SCREENSHOTS=<dir> (see `make screenshots`) saves the main screens.
	if dir := os.Getenv("E2E_SCREENSHOTS"); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, "E2E_SCREENSHOTS="+abs)
	}
	for _, file := range files {
		name := filepath.Base(file)
		run := exec.CommandContext(ctx, node, "--test", "--test-reporter=tap", name)
		run.Dir = e2e
		run.Env = env
		out := &logbuf.Buffer{}
		run.Stdout, run.Stderr = out, out
		err := run.Run()
		text := out.String()
		t.Logf("browser tests, %s:\n%s", name, text)
		if err != nil {
			t.Errorf("browser tests in %s failed: %v", name, err)
			continue
		}
		if !strings.Contains(text, "# fail 0") || strings.Contains(text, "# pass 0") {
			t.Errorf("browser tests in %s did not all run and pass", name)
		}
	}
}
