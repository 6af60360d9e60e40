package app_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/store/pgtest"
)

// TestTaskEndToEnd runs a task over HTTP on a real Temporal dev server, the
// worker and the API, with the offline mock LLM, to a genuine completed.
func TestTaskEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	p := apptest.Start(t, apptest.Options{})
	id := p.CreateTask(t, map[string]any{
		"description": "A command line tool that counts words and lines in text files",
		"template_id": "python_cli",
	})
	seen := map[string]bool{}
	deadline := time.Now().Add(3 * time.Minute)
	var task apptest.Task
	for time.Now().Before(deadline) {
		task = p.GetTask(t, id)
		seen[task.Status] = true
		if task.Status == "completed" || task.Status == "failed" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if task.Status != "completed" {
		t.Fatalf("task ended %s: %+v", task.Status, task)
	}
	if !seen["processing"] {
		t.Errorf("never observed processing; saw %v", seen)
	}
	if task.Progress != 1 || task.FilesCount < 5 || task.Iterations < 1 || task.MaxIterations != 12 || task.TokensIn == 0 {
		t.Errorf("unexpected final task %+v", task)
	}
	// Files exist in the workspace and in the API.
	ws := filepath.Join(p.Config.WorkspaceRoot, id)
	for _, f := range []string{"cli.py", "requirements.md", "architecture.md"} {
		if _, err := os.Stat(filepath.Join(ws, f)); err != nil {
			t.Errorf("workspace file %s: %v", f, err)
		}
	}
	var files struct {
		Total    int                 `json:"total"`
		ByType   map[string][]string `json:"by_type"`
		AllFiles []string            `json:"all_files"`
		Files    []map[string]any    `json:"files"`
	}
	if code, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/files", nil, &files); code != 200 || files.Total != task.FilesCount {
		t.Fatalf("files: %d %s", code, raw)
	}
	if len(files.ByType["code"]) == 0 || len(files.ByType["tests"]) == 0 {
		t.Errorf("by_type %v", files.ByType)
	}
	var events struct {
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	p.Do(t, http.MethodGet, "/api/tasks/"+id+"/events?order=asc&limit=1000", nil, &events)
	types := map[string]int{}
	for _, e := range events.Events {
		types[e.Type]++
	}
	for _, want := range []string{"TaskCreated", "StageStarted", "codex_loaded", "llm_usage", "command_started",
		"command_finished", "review_finished", "TaskCompleted"} {
		if types[want] == 0 {
			t.Errorf("no %s event; got %v", want, types)
		}
	}
	if types["TaskCreated"] != 1 || types["TaskCompleted"] != 1 {
		t.Errorf("duplicated lifecycle events: %v", types)
	}
	checkPostProcessing(t, p, id, task)
	// The zip holds the project and a manifest.
	code, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/download.zip", nil, nil)
	if code != 200 {
		t.Fatalf("zip: %d", code)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	if !names["task_"+id+"/manifest.json"] || !names["task_"+id+"/cli.py"] {
		t.Errorf("zip entries %v", names)
	}
	// The workflow is visible under its documented id.
	desc, err := p.Client.DescribeWorkflow(t.Context(), "task-"+id, "")
	if err != nil || desc.WorkflowType.Name != "TaskWorkflow" {
		t.Fatalf("describe task-%s: %v", id, err)
	}
}

// TestTaskEndToEndPostgres is the same journey on the PostgreSQL store.
func TestTaskEndToEndPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"DATABASE_URL": pgtest.Schema(t)}})
	id := p.CreateTask(t, map[string]any{"description": "A REST API that stores bookmarks with tags",
		"template_id": "python_fastapi"})
	task := p.WaitStatus(t, id, 3*time.Minute, "completed")
	if task.FilesCount < 5 || task.TokensIn == 0 {
		t.Fatalf("task %+v", task)
	}
	var page struct {
		Total int `json:"total"`
	}
	if code, _ := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/artifacts?type=review_report", nil, &page); code != 200 || page.Total == 0 {
		t.Fatalf("review reports: %d", page.Total)
	}
	code, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/download.zip", nil, nil)
	if code != 200 || len(raw) < 1000 {
		t.Fatalf("zip %d (%d bytes)", code, len(raw))
	}
}

// checkPostProcessing reads the artifacts a completed task ends with and
// checks what each must hold: the patch against the template baseline, the
// git export built from it, and the reproducibility manifest.
func checkPostProcessing(t *testing.T, p *apptest.Platform, id string, tk apptest.Task) {
	t.Helper()
	latest := func(typ string, into any) {
		t.Helper()
		var page struct {
			Artifacts []struct {
				Type    string          `json:"type"`
				Payload json.RawMessage `json:"payload"`
			} `json:"artifacts"`
		}
		if code, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/artifacts?type="+typ+"&limit=1", nil, &page); code != 200 || len(page.Artifacts) != 1 {
			t.Fatalf("artifact %s: %d %s", typ, code, raw)
		}
		if err := json.Unmarshal(page.Artifacts[0].Payload, into); err != nil {
			t.Fatalf("artifact %s: %v", typ, err)
		}
	}
	var patch struct {
		Diff         string `json:"diff"`
		ChangedFiles []struct {
			Path       string `json:"path"`
			ChangeType string `json:"change_type"`
		} `json:"changed_files"`
		Stats map[string]int `json:"stats"`
	}
	latest("patch_diff", &patch)
	changed := map[string]string{}
	for _, c := range patch.ChangedFiles {
		changed[c.Path] = c.ChangeType
	}
	// requirements.md is new; cli.py comes from the template and is rewritten.
	if changed["requirements.md"] != "added" || changed["cli.py"] != "modified" || !strings.Contains(patch.Diff, "+++ b/requirements.md") ||
		patch.Stats["changed_total"] != len(patch.ChangedFiles) || patch.Stats["diff_lines"] == 0 {
		t.Errorf("patch_diff: changed %v, stats %v, diff starts %.200q", changed, patch.Stats, patch.Diff)
	}
	var export struct {
		Files    map[string]string `json:"files"`
		Download string            `json:"download"`
	}
	latest("git_export", &export)
	for _, f := range []string{"patch.diff", "apply.sh", "README_APPLY.md", "changed_files.json"} {
		if export.Files[f] == "" {
			t.Errorf("git_export lacks %s: %v", f, slices.Collect(maps.Keys(export.Files)))
		}
	}
	if export.Files["patch.diff"] != patch.Diff || export.Download != "/api/tasks/"+id+"/git-export.zip" {
		t.Errorf("git_export: the patch differs from patch_diff's, or download %q", export.Download)
	}
	var repro map[string]any
	latest("repro_manifest", &repro)
	for _, k := range []string{"go_version", "python_version", "sandbox", "codex_version", "codex_hash", "template_hash",
		"llm_provider", "review_summary", "worker_build"} {
		if v, ok := repro[k]; !ok || v == nil || v == "" {
			t.Errorf("repro_manifest.%s missing: %v", k, repro)
		}
	}
	if tk.CodexHash == nil || repro["codex_hash"] != *tk.CodexHash || repro["template_id"] != "python_cli" || repro["llm_provider"] != "mock" {
		t.Errorf("repro_manifest: codex_hash %v (task %v), template %v, provider %v", repro["codex_hash"], tk.CodexHash,
			repro["template_id"], repro["llm_provider"])
	}
	if rs, _ := repro["review_summary"].(map[string]any); rs["passed"] != true {
		t.Errorf("repro_manifest.review_summary %v", repro["review_summary"])
	}
}
