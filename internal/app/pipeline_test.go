package app_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
)

func requirePython(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import pytest").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with pytest is required in CI: %v", err)
		}
		t.Skip("python3 with pytest is not installed")
	}
}

// unzip extracts a task zip into dir and returns the project root inside it.
func unzip(t *testing.T, raw []byte, dir string) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	root := ""
	for _, f := range zr.File {
		if strings.Contains(f.Name, "..") || strings.HasPrefix(f.Name, "/") {
			t.Fatalf("unsafe zip entry %q", f.Name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if f.FileInfo().IsDir() {
			if root == "" {
				root = dst
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, f.Mode()|0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestEveryTemplateCompletes runs one task per template (and one without a
// template) with the offline mock, then unpacks each zip and runs its tests
// with the system Python, outside the platform.
func TestEveryTemplateCompletes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	p := apptest.Start(t, apptest.Options{})
	cases := map[string]string{
		"python_cli":     "A command line tool that counts words, lines and characters in text files",
		"python_fastapi": "A REST API to keep a list of books with titles and authors",
		"python_lib":     "A small library that validates and normalises customer records",
		"":               "A tracker for daily habits with streak counting and a summary report",
	}
	ids := map[string]string{}
	for tmpl, desc := range cases {
		body := map[string]any{"description": desc}
		if tmpl != "" {
			body["template_id"] = tmpl
		}
		ids[tmpl] = p.CreateTask(t, body)
	}
	var wg sync.WaitGroup
	for tmpl, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task := p.WaitStatus(t, id, 4*time.Minute, "completed")
			if task.Result["review_summary"] == nil {
				t.Errorf("%s: no review summary in result", tmpl)
			}
		}()
	}
	wg.Wait()
	for tmpl, id := range ids {
		code, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/download.zip", nil, nil)
		if code != 200 {
			t.Fatalf("%s zip: %d", tmpl, code)
		}
		root := unzip(t, raw, t.TempDir())
		cmd := exec.Command("/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%q: the unpacked project's tests fail: %v\n%s", tmpl, err, out)
		}
	}
}

type scenario struct {
	marker string
	status string
	reason string
	check  func(t *testing.T, p *apptest.Platform, id string)
}

func countEvents(t *testing.T, p *apptest.Platform, id, typ string) int {
	t.Helper()
	var page struct {
		Total int `json:"total"`
	}
	p.Do(t, http.MethodGet, "/api/tasks/"+id+"/events?limit=1&type="+typ, nil, &page)
	return page.Total
}

func reviewStatuses(t *testing.T, p *apptest.Platform, id string) []string {
	t.Helper()
	var page struct {
		Artifacts []struct {
			Payload struct {
				Status string `json:"status"`
				Kind   string `json:"kind"`
			} `json:"payload"`
		} `json:"artifacts"`
	}
	p.Do(t, http.MethodGet, "/api/tasks/"+id+"/artifacts?type=review_report&order=asc&limit=1000", nil, &page)
	var out []string
	for _, a := range page.Artifacts {
		out = append(out, a.Payload.Kind+":"+a.Payload.Status)
	}
	return out
}

// TestMockScenarios drives every branch of the pipeline offline through the
// mock's documented markers.
func TestMockScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	// The sleepy scenario's tests sleep 20 s; 8 s stops them while leaving
	// the other scenarios' pytest runs room on a loaded CI machine (3 s
	// timed out there with the race detector and other packages running).
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"COMMAND_TIMEOUT_SECONDS": "8"}})
	scenarios := []scenario{
		{marker: "[mock:review-fail-once]", status: "completed", check: func(t *testing.T, p *apptest.Platform, id string) {
			rs := reviewStatuses(t, p, id)
			if len(rs) == 0 || rs[0] != "iteration:rejected" {
				t.Errorf("the first review should reject the planted bug: %v", rs)
			}
		}},
		{marker: "[mock:llm-error]", status: "failed", reason: "llm_provider_error"},
		{marker: "[mock:llm-transient]", status: "completed", check: func(t *testing.T, p *apptest.Platform, id string) {
			if countEvents(t, p, id, "llm_error") == 0 {
				t.Error("the transient failure should be recorded as llm_error")
			}
		}},
		{marker: "[mock:invalid-json]", status: "completed"},
		{marker: "[mock:invalid-always]", status: "failed", reason: "llm_invalid_response"},
		{marker: "[mock:fail-always]", status: "failed", reason: "max_iterations_exhausted", check: func(t *testing.T, p *apptest.Platform, id string) {
			if task := p.GetTask(t, id); task.Iterations != task.MaxIterations {
				t.Errorf("iterations %d of %d", task.Iterations, task.MaxIterations)
			}
		}},
		{marker: "[mock:sleepy-tests=20]", status: "failed", reason: "command_timeout"},
		{marker: "[mock:review-reject]", status: "failed", reason: "review_failed"},
		{marker: "[mock:clarify]", status: "needs_input"},
	}
	ids := make([]string, len(scenarios))
	for i, s := range scenarios {
		ids[i] = p.CreateTask(t, map[string]any{"description": "A tool that tracks reading lists " + s.marker,
			"template_id": "python_cli"})
	}
	for i, s := range scenarios {
		t.Run(s.marker, func(t *testing.T) {
			task := p.WaitStatus(t, ids[i], 5*time.Minute, s.status)
			reason := ""
			if task.FailureReason != nil {
				reason = *task.FailureReason
			}
			if reason != s.reason {
				t.Errorf("failure_reason %q, want %q (error: %v)", reason, s.reason, task.Error)
			}
			if s.status == "failed" && (task.Error == nil || *task.Error == "") {
				t.Error("a failed task must say what went wrong")
			}
			if s.check != nil {
				s.check(t, p, ids[i])
			}
		})
	}
}

// TestRerunReviewAndGitExport reruns the review of a finished task as its
// own workflow, and applies the git export to the template with git.
func TestRerunReviewAndGitExport(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	p := apptest.Start(t, apptest.Options{})
	slow := p.CreateTask(t, map[string]any{"description": "A slow one to check the guard [mock:slow=3]"})
	code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+slow+"/rerun-review", nil, nil)
	if code != http.StatusConflict || !strings.Contains(string(raw), "task_running") {
		t.Fatalf("rerun while running: %d %s", code, raw)
	}
	id := p.CreateTask(t, map[string]any{"description": "A CLI that converts temperatures between units",
		"template_id": "python_cli"})
	p.WaitStatus(t, id, 3*time.Minute, "completed")
	before := p.GetTask(t, id)
	var started struct {
		RunID  string `json:"run_id"`
		Status string `json:"status"`
	}
	if code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/rerun-review", nil, &started); code != http.StatusAccepted || started.RunID == "" {
		t.Fatalf("rerun: %d %s", code, raw)
	}
	deadline := time.Now().Add(2 * time.Minute)
	found := false
	for time.Now().Before(deadline) && !found {
		var page struct {
			Artifacts []struct {
				Payload struct {
					RunID  string `json:"run_id"`
					Kind   string `json:"kind"`
					Passed bool   `json:"passed"`
				} `json:"payload"`
			} `json:"artifacts"`
		}
		p.Do(t, http.MethodGet, "/api/tasks/"+id+"/artifacts?type=review_report&limit=5", nil, &page)
		for _, a := range page.Artifacts {
			if a.Payload.RunID == started.RunID && a.Payload.Kind == "rerun" && a.Payload.Passed {
				found = true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !found {
		t.Fatal("no passing review_report for the rerun")
	}
	after := p.GetTask(t, id)
	if after.Status != before.Status || after.Progress != before.Progress || after.Iterations != before.Iterations {
		t.Errorf("a rerun must not change the task: %+v vs %+v", before, after)
	}
	if n := countEvents(t, p, id, "review_finished"); n < 2 {
		t.Errorf("review_finished events: %d", n)
	}

	// The git export applies to a checkout of the template.
	code, raw = p.Do(t, http.MethodGet, "/api/tasks/"+id+"/git-export.zip", nil, nil)
	if code != 200 {
		t.Fatalf("git export: %d", code)
	}
	repo := t.TempDir()
	tmpl := filepath.Join(apptest.RepoRoot(), "templates", "python_cli")
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	if err := os.CopyFS(repo, os.DirFS(tmpl)); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(repo, "template.json"))
	git("add", "-A")
	git("commit", "-qm", "template")
	exportDir := filepath.Join(repo, "export")
	unzip(t, raw, exportDir)
	script := filepath.Join(exportDir, "task_"+id, "git_export", "apply.sh")
	cmd := exec.Command("bash", script)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apply.sh: %v\n%s", err, out)
	}
	var files struct {
		AllFiles []string `json:"all_files"`
	}
	p.Do(t, http.MethodGet, "/api/tasks/"+id+"/files", nil, &files)
	for _, path := range files.AllFiles {
		var file struct {
			Content string `json:"content"`
		}
		p.Do(t, http.MethodGet, "/api/tasks/"+id+"/files/"+path, nil, &file)
		got, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(path)))
		if err != nil || string(got) != file.Content {
			t.Errorf("%s differs after applying the patch (%v)", path, err)
		}
	}
}
