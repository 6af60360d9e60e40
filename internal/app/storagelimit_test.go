package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
)

// storageLimitDescription is the task both runs of TestStorageLimitEndToEnd
// perform, so the mock LLM writes the same files.
const storageLimitDescription = "A command line tool that counts words and lines in text files"

// TestStorageLimitEndToEnd runs a python_cli task with MAX_TASK_BYTES one
// byte below what the same task stores without a limit: the task must fail
// with storage_limit_exceeded and the documented message, and every file
// stored before the refused write must be intact.
func TestStorageLimitEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	// What the task stores when nothing limits it.
	free := apptest.Start(t, apptest.Options{Env: map[string]string{"MAX_TASK_BYTES": "0"}})
	ref := free.CreateTask(t, map[string]any{"description": storageLimitDescription, "template_id": "python_cli"})
	free.WaitStatus(t, ref, 3*time.Minute, "completed")
	row, err := free.App.Store.GetTask(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if row.FilesBytes < 1000 {
		t.Fatalf("the unlimited task stored only %d bytes", row.FilesBytes)
	}
	limit := row.FilesBytes - 1

	// The same task on a worker whose limit is one byte short (same Temporal
	// server, its own task queue and store).
	p := apptest.Start(t, apptest.Options{Temporal: free.Temporal,
		Env: map[string]string{"MAX_TASK_BYTES": strconv.FormatInt(limit, 10)}})
	id := p.CreateTask(t, map[string]any{"description": storageLimitDescription, "template_id": "python_cli"})
	tk := p.WaitStatus(t, id, 3*time.Minute, "failed")
	if tk.FailureReason == nil || *tk.FailureReason != "storage_limit_exceeded" {
		t.Fatalf("failure_reason %v, want storage_limit_exceeded (task %+v)", tk.FailureReason, tk)
	}
	if tk.Error == nil {
		t.Fatal("no error message")
	}
	m := regexp.MustCompile(`^Task storage limit exceeded \((\d+) > (\d+) bytes\)$`).FindStringSubmatch(*tk.Error)
	if m == nil {
		t.Fatalf("error %q, want \"Task storage limit exceeded (N > M bytes)\"", *tk.Error)
	}
	t.Logf("unlimited: %d files, %d bytes; limited to %d: %q with %d files kept",
		row.FilesCount, row.FilesBytes, limit, *tk.Error, tk.FilesCount)
	n, _ := strconv.ParseInt(m[1], 10, 64)
	if m[2] != strconv.FormatInt(limit, 10) || n <= limit {
		t.Errorf("error %q: want N > M and M = MAX_TASK_BYTES = %d", *tk.Error, limit)
	}

	// What was stored before the refused write is intact: every file reads
	// back with the size and SHA-256 it was listed with, and nothing of the
	// refused write went in (the total is within the limit and matches the row).
	var files struct {
		Total int `json:"total"`
		Files []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	if code, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/files", nil, &files); code != http.StatusOK {
		t.Fatalf("files: %d %s", code, raw)
	}
	if files.Total == 0 || files.Total != tk.FilesCount {
		t.Fatalf("%d files listed, task says %d", files.Total, tk.FilesCount)
	}
	var total int64
	for _, f := range files.Files {
		code, body := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/files/"+f.Path+"?raw=1", nil, nil)
		if code != http.StatusOK {
			t.Errorf("%s: %d", f.Path, code)
			continue
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(body)) != f.Size {
			t.Errorf("%s: read %d bytes with sha256 %x, listed %d bytes with %s", f.Path, len(body), sum, f.Size, f.SHA256)
		}
		total += int64(len(body))
	}
	stored, err := p.App.Store.GetTask(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if total != stored.FilesBytes || total > limit {
		t.Errorf("files hold %d bytes, the task row says %d, the limit is %d", total, stored.FilesBytes, limit)
	}
	// The stored files are the ones the worker's workspace would be rebuilt from.
	for _, f := range files.Files {
		got, err := p.App.Store.GetFile(t.Context(), id, f.Path)
		if err != nil {
			t.Errorf("store %s: %v", f.Path, err)
			continue
		}
		if sum := sha256.Sum256(got.Content); hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("store %s: content does not match its sha256", f.Path)
		}
	}
}

// TestMaxTaskFilesIsTheStoreLimit: the store's file limit is MAX_TASK_FILES
// alone. The codex's limitations.max_total_files bounds the design's plan,
// not the store, so a codex limit below what the template already holds
// must not fail the task, and MAX_TASK_FILES=0 means no store limit.
func TestMaxTaskFilesIsTheStoreLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	raw, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), "internal", "codex", "codex.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["limitations"].(map[string]any)["max_total_files"] = 3
	raw, err = json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	codexPath := filepath.Join(t.TempDir(), "codex.json")
	if err := os.WriteFile(codexPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"CODEX_PATH": codexPath, "MAX_TASK_FILES": "0"}})
	id := p.CreateTask(t, map[string]any{"description": storageLimitDescription, "template_id": "python_cli"})
	tk := p.WaitStatus(t, id, 3*time.Minute, "completed")
	if tk.FilesCount <= 3 {
		t.Fatalf("the task stored %d files; the test needs more than the codex's 3", tk.FilesCount)
	}
}
