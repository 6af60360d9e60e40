package cli

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
)

// platform starts the real API + worker + Temporal dev server with a fixed
// API key, so a wrong key is a 401.
func platform(t *testing.T) (*apptest.Platform, Env) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import pytest").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with pytest is required in CI: %v", err)
		}
		t.Skip("python3 with pytest is not installed")
	}
	const key = "cli-test-key-0123456789"
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"APP_API_KEY": key}})
	p.APIKey = key
	return p, envOf(t, map[string]string{"AIPLATFORM_URL": p.URL, "AIPLATFORM_API_KEY": key})
}

// runCtx runs the client with a generous deadline so a hang fails the test.
func runCtx(t *testing.T, env Env, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := Run(ctx, args, strings.NewReader(stdin), &out, &errOut, env)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

func expect(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.out, r.errOut)
	}
	for _, w := range want {
		if !strings.Contains(r.out+r.errOut, w) {
			t.Fatalf("output lacks %q\nstdout:\n%s\nstderr:\n%s", w, r.out, r.errOut)
		}
	}
}

var createdRe = regexp.MustCompile(`Created task ([0-9a-f-]{36})`)

func createdID(t *testing.T, r result) string {
	t.Helper()
	m := createdRe.FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("no task id in %q", r.out)
	}
	return m[1]
}

func decode[T any](t *testing.T, raw string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("--json output does not decode: %v\n%s", err, raw)
	}
	return v
}

// TestClientAgainstThePlatform drives every command in-process against a
// running platform.
func TestClientAgainstThePlatform(t *testing.T) {
	p, env := platform(t)

	var id string
	t.Run("create --follow answers the questions and completes", func(t *testing.T) {
		r := runCtx(t, env, "Keep notes in a JSON file, list and search them\n2\n",
			"task", "create", "notes app", "--template", "python_cli", "--follow")
		expect(t, r, ExitOK, "[1/2] Please provide more detail", "Why: ", "1) text", "2) json", "Answers sent",
			"design", "implementation · iteration 1/", "[100%] completed", "completed in")
		id = createdID(t, r)
		task := p.GetTask(t, id)
		if task.ProvidedAnswers["output_format"] != "json" || !strings.Contains(task.ProvidedAnswers["task_details"].(string), "JSON file") {
			t.Fatalf("answers stored: %v", task.ProvidedAnswers)
		}
		t.Logf("transcript:\n%s", r.out)
	})
	needID := func(t *testing.T) {
		if id == "" {
			t.Skip("no completed task")
		}
	}

	t.Run("show, list and logs", func(t *testing.T) {
		needID(t)
		expect(t, runCtx(t, env, "", "task", "show", id), ExitOK, "Status:       completed", "Review:       approved")
		shown := decode[taskView](t, runCtx(t, env, "", "task", "show", id, "--json").out)
		if shown.ID != id || shown.Status != "completed" || shown.FilesCount == 0 {
			t.Fatalf("show --json: %+v", shown)
		}
		expect(t, runCtx(t, env, "", "task", "list"), ExitOK, "STATUS", id)
		page := decode[struct {
			Tasks []taskView `json:"tasks"`
		}](t, runCtx(t, env, "", "task", "list", "--status", "completed", "--limit", "5", "--json").out)
		if len(page.Tasks) == 0 || page.Tasks[0].ID != id {
			t.Fatalf("list --json: %+v", page)
		}
		expect(t, runCtx(t, env, "", "task", "list", "--status", "failed"), ExitOK, "No tasks.")
		expect(t, runCtx(t, env, "", "task", "logs", id), ExitOK, "TaskCreated", "clarification_requested",
			"answers to output_format, task_details", "tests: exit 0", "TaskCompleted")
		r := runCtx(t, env, "", "task", "logs", id, "--json")
		sc := bufio.NewScanner(strings.NewReader(r.out))
		n := 0
		for sc.Scan() {
			e := decode[event](t, sc.Text())
			if e.ID == "" || e.Type == "" {
				t.Fatalf("event line %q", sc.Text())
			}
			n++
		}
		var evs struct {
			Total int `json:"total"`
		}
		p.Do(t, http.MethodGet, "/api/tasks/"+id+"/events?limit=1", nil, &evs)
		if n != evs.Total {
			t.Fatalf("logs --json printed %d events, the task has %d", n, evs.Total)
		}
	})

	t.Run("files and download", func(t *testing.T) {
		needID(t)
		expect(t, runCtx(t, env, "", "task", "files", id), ExitOK, "PATH", "cli.py", "tests/test_cli.py", "python")
		listed := decode[struct {
			Total int `json:"total"`
		}](t, runCtx(t, env, "", "task", "files", id, "--json").out)
		var file struct {
			Content string `json:"content"`
		}
		p.Do(t, http.MethodGet, "/api/tasks/"+id+"/files/tests/test_cli.py", nil, &file)
		r := runCtx(t, env, "", "task", "files", id, "tests/test_cli.py")
		if r.code != ExitOK || r.out != file.Content || file.Content == "" {
			t.Fatalf("files PATH printed %q (exit %d), want %q", r.out, r.code, file.Content)
		}
		expect(t, runCtx(t, env, "", "task", "files", id, "nope.py"), ExitError, "not found (404): File not found")

		dir := t.TempDir()
		out := filepath.Join(dir, "t.zip")
		r = runCtx(t, env, "", "task", "download", id, "-o", out, "--json")
		saved := decode[struct {
			Path   string `json:"path"`
			Bytes  int64  `json:"bytes"`
			SHA256 string `json:"sha256"`
		}](t, r.out)
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		if saved.Path != out || saved.Bytes != int64(len(raw)) || saved.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("download --json %+v for %d bytes", saved, len(raw))
		}
		names := zipNames(t, raw)
		for _, want := range []string{"task_" + id + "/cli.py", "task_" + id + "/manifest.json"} {
			if !names[want] {
				t.Fatalf("zip lacks %s: %v", want, names)
			}
		}
		if len(names) < listed.Total {
			t.Fatalf("zip has %d entries for %d files", len(names), listed.Total)
		}
		r = runCtx(t, env, "", "task", "download", id, "--git-export", "-o", "-")
		if r.code != ExitOK || !zipNames(t, []byte(r.out))["task_"+id+"/git_export/patch.diff"] {
			t.Fatalf("git export to stdout: exit %d %q", r.code, r.errOut)
		}
	})

	t.Run("conflicts and errors", func(t *testing.T) {
		needID(t)
		expect(t, runCtx(t, env, "", "task", "answer", id), ExitOK, "is completed: no questions are pending")
		expect(t, runCtx(t, env, "", "task", "pause", id), ExitError, "conflict (409): The task has already ended as completed")
		expect(t, runCtx(t, env, "", "task", "retry", id), ExitError, "conflict (409): Only failed tasks can be retried")
		expect(t, runCtx(t, env, "", "task", "unpause", id), ExitError, "conflict (409): The task is not paused")
		unknown := "0f0f0f0f-0000-4000-8000-000000000000"
		for _, cmd := range []string{"show", "logs", "cancel", "files", "download", "answer"} {
			expect(t, runCtx(t, env, "", "task", cmd, unknown), ExitError, "not found (404): task "+unknown+" not found")
		}
		wrong := envOf(t, map[string]string{"AIPLATFORM_URL": p.URL, "AIPLATFORM_API_KEY": "wrong-key"})
		expect(t, runCtx(t, wrong, "", "task", "list"), ExitError, "not authenticated (401): Invalid API key", "Check AIPLATFORM_API_KEY")
		expect(t, runCtx(t, envOf(t, map[string]string{"AIPLATFORM_URL": p.URL}), "", "task", "show", id),
			ExitError, "not authenticated (401): API key required", "aiplatform login")
	})

	t.Run("pause, unpause and cancel", func(t *testing.T) {
		created := decode[struct {
			TaskID string `json:"task_id"`
		}](t, runCtx(t, env, "", "task", "create", "A CLI for recipes that takes its time [mock:slow=1]", "--json").out)
		cid := created.TaskID
		expect(t, runCtx(t, env, "", "task", "pause", cid), ExitOK, "Task "+cid+": pausing")
		p.WaitStatus(t, cid, 2*time.Minute, "paused")
		expect(t, runCtx(t, env, "", "task", "show", cid), ExitOK, "Status:       paused")
		expect(t, runCtx(t, env, "", "task", "unpause", cid), ExitOK, "Task "+cid+": queued")
		p.WaitStatus(t, cid, 2*time.Minute, "queued", "processing")
		// Pause again and cancel the paused task: the cancellation is recorded.
		expect(t, runCtx(t, env, "", "task", "pause", cid), ExitOK, "Task "+cid+": pausing")
		p.WaitStatus(t, cid, 2*time.Minute, "paused")
		expect(t, runCtx(t, env, "", "task", "cancel", cid), ExitOK, "Task "+cid+": cancelling")
		r := runCtx(t, env, "", "task", "logs", cid, "--follow")
		expect(t, r, ExitCancelled, "task_paused", "task_unpaused", "task_cancelled", "was cancelled")
		expect(t, runCtx(t, env, "", "task", "cancel", cid), ExitOK, "Task "+cid+": cancelled")
		expect(t, runCtx(t, env, "", "task", "retry", cid), ExitError, "conflict (409)")
		expect(t, runCtx(t, env, "", "task", "unpause", cid), ExitError, "conflict (409)")
	})

	t.Run("a failing task exits 3 and can be retried", func(t *testing.T) {
		r := runCtx(t, env, "", "task", "create", "A CLI that counts words in files [mock:llm-error]", "--template", "python_cli", "--follow")
		expect(t, r, ExitFailed, "failed (llm_provider_error)")
		fid := createdID(t, r)
		expect(t, runCtx(t, env, "", "task", "retry", fid), ExitOK, "Task "+fid+": queued (retry 1; `task logs "+fid+"` shows the step")
		expect(t, runCtx(t, env, "", "task", "logs", fid, "--follow"), ExitFailed, "task_retried",
			"initializing (retry continues at implementation)", "failed (llm_provider_error)")
	})

	t.Run("questions without answers exit 5, then task answer resumes", func(t *testing.T) {
		r := runCtx(t, env, "", "task", "create", "todo list [mock:clarify]", "--follow")
		expect(t, r, ExitNeedsInput, "waits for answers", "aiplatform task answer")
		qid := createdID(t, r)
		r = runCtx(t, env, "\nTrack todos with due dates\n9\nbroad\n3\n", "task", "answer", qid)
		expect(t, r, ExitOK, "an answer is required", "9 is not a choice", `"broad" is not a choice`, "Answers sent")
		r = runCtx(t, env, "", "task", "logs", qid, "--follow", "--json")
		if r.code != ExitOK {
			t.Fatalf("logs --follow after answering: exit %d %q", r.code, r.errOut)
		}
		types := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
			types[decode[event](t, line).Type] = true
		}
		if !types["clarification_received"] || !types["TaskCompleted"] {
			t.Fatalf("followed events %v", types)
		}
		task := p.GetTask(t, qid)
		if task.Status != "completed" || task.ProvidedAnswers["scope"] != "extended" ||
			task.ProvidedAnswers["task_details"] != "Track todos with due dates" {
			t.Fatalf("after logs --follow ended: %s, answers %v", task.Status, task.ProvidedAnswers)
		}
	})

	t.Run("create --follow on a pseudo-terminal", func(t *testing.T) { followOnATerminal(t, env) })

	t.Run("create --follow --json prints the final task", func(t *testing.T) {
		r := runCtx(t, env, "Count words per file and print a total\n\n", "task", "create", "word counter", "--template", "python_cli", "--follow", "--json")
		final := decode[taskView](t, r.out)
		if r.code != ExitOK || final.Status != "completed" || !strings.Contains(r.errOut, "[1/2]") {
			t.Fatalf("exit %d, final %+v, stderr %q", r.code, final, r.errOut)
		}
	})
}

func zipNames(t *testing.T, raw []byte) map[string]bool {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	return names
}

// TestLoginAgainstTheRealAuthServer logs in to a platform with user accounts
// (AUTH_MODE=hybrid), creates and follows a task as that user, refreshes
// through the rotated cookie, and logs out.
func TestLoginAgainstTheRealAuthServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"AUTH_MODE": "hybrid",
		"AUTH_JWT_SECRET": "cli-login-test-secret-0123456789abcdef", "AUTH_ACCESS_TOKEN_TTL_MINUTES": "1"}})
	code, raw := p.DoKey(t, "", http.MethodPost, "/auth/register", map[string]any{"email": "cli@example.com", "password": "long enough pw"}, nil)
	if code != http.StatusOK {
		t.Fatalf("register: %d %s", code, raw)
	}
	home := t.TempDir()
	env := envOf(t, map[string]string{"AIPLATFORM_URL": p.URL, "HOME": home})
	expect(t, runCtx(t, env, "cli@example.com\nwrong password\n", "login"), ExitError, "Invalid credentials")
	r := runCtx(t, env, "cli@example.com\nlong enough pw\n", "login")
	expect(t, r, ExitOK, "Logged in")
	if strings.Contains(r.out+r.errOut, "long enough pw") {
		t.Fatal("the password was printed")
	}
	r = runCtx(t, env, "", "task", "create", "A CLI that keeps a reading list in a JSON file", "--template", "python_cli", "--follow")
	expect(t, r, ExitOK)
	id := createdID(t, r)
	// The task belongs to the user: an API key cannot see it.
	if code, _ := p.DoKey(t, "some-key", http.MethodGet, "/api/tasks/"+id, nil, nil); code != http.StatusNotFound {
		t.Fatalf("an API key saw the user's task: %d", code)
	}
	// Force a refresh: the stored access token is made stale.
	credFile := filepath.Join(home, ".config", "aiplatform", "credentials.json")
	c := readCreds(t, credFile)
	oldRefresh := c.RefreshToken
	c.AccessExpires = time.Now().Add(-time.Minute)
	if _, err := saveCredentials(env, c); err != nil {
		t.Fatal(err)
	}
	expect(t, runCtx(t, env, "", "task", "show", id), ExitOK, "completed")
	if readCreds(t, credFile).RefreshToken == oldRefresh {
		t.Fatal("the refresh token was not rotated")
	}
	// Two client processes refreshing the same stale login at once: the
	// server rotates for one and tells the other refresh_token_rotated; the
	// other takes the winner's saved login. Both succeed.
	c = readCreds(t, credFile)
	c.AccessExpires = time.Now().Add(-time.Minute)
	if _, err := saveCredentials(env, c); err != nil {
		t.Fatal(err)
	}
	results := make(chan result, 2)
	for range 2 {
		go func() { results <- runCtx(t, env, "", "task", "show", id) }()
	}
	for range 2 {
		expect(t, <-results, ExitOK, "completed")
	}
	expect(t, runCtx(t, env, "", "task", "show", id), ExitOK, "completed")
	expect(t, runCtx(t, env, "", "logout"), ExitOK)
	if _, err := os.Stat(credFile); !os.IsNotExist(err) {
		t.Fatal("logout must remove the stored credentials")
	}
	r = runCtx(t, env, "", "task", "show", id)
	if r.code == ExitOK {
		t.Fatal("after logout the client must not be signed in")
	}
}
