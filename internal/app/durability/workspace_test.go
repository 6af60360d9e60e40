package durability_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ai-platform/internal/task"
)

// workspaceFiles hashes every regular file under dir, by slash path.
func workspaceFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "__pycache__" || n == ".pytest_cache" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// removeWorkspace deletes a workspace the worker may be writing into at that
// moment (an activity rebuilding it before its LLM call): os.RemoveAll then
// fails with "directory not empty" when a file appears behind it, so it
// tries again until the directory is gone.
func removeWorkspace(t *testing.T, ws string) {
	t.Helper()
	var err error
	for range 50 {
		if err = os.RemoveAll(ws); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("removing the workspace: %v", err)
}

// TestWorkspaceLostBetweenStages deletes the task's workspace directory
// while the design's LLM call runs and again while the second code
// iteration's call runs ([mock:slow] makes each take 3 s), as if those
// activities ran on a machine that never saw the task: they and the reviews
// after them rebuild the workspace from the store, nothing is retried, and
// the task completes with every file, on disk and in the store.
func TestWorkspaceLostBetweenStages(t *testing.T) {
	s := newStack(t, nil)
	id := s.create("A command line tool that counts words and lines in text files [mock:slow=3]", "python_cli")
	ctx := ctxT(t)
	wfID := task.WorkflowID(id)
	ws := filepath.Join(s.wsRoot, id)
	waitFor(t, 2*time.Minute, "the design activity", func() bool {
		_, ok := startedActivity(ctx, s.api.Client, wfID, task.ActDesign)
		return ok
	})
	if _, err := os.Stat(filepath.Join(ws, "requirements.md")); err != nil {
		t.Fatalf("the workspace should exist by now: %v", err)
	}
	removeWorkspace(t, ws)
	waitFor(t, 2*time.Minute, "the second code iteration", func() bool {
		if row, err := s.api.App.Store.GetTask(ctx, id); err != nil || row.Iterations != 2 {
			return false
		}
		_, ok := startedActivity(ctx, s.api.Client, wfID, task.ActCode)
		return ok
	})
	removeWorkspace(t, ws)
	s.api.WaitStatus(t, id, 3*time.Minute, "completed")
	o := collect(t, s.api.App.Store, id)
	checkExactlyOnce(t, o)
	for _, p := range []string{"cli.py", "requirements.md", "architecture.md", "textkit.py", "tests/test_textkit.py", "README.md"} {
		if _, ok := o.Files[p]; !ok {
			t.Errorf("stored files lack %s", p)
		}
	}
	// Nothing had to be retried: each activity rebuilt what it needed.
	for typ, n := range attempts(history(t, s.api.Client, wfID, "")) {
		if n != 1 {
			t.Errorf("%s took %d attempts", typ, n)
		}
	}
	disk := workspaceFiles(t, ws)
	for p, h := range o.Files {
		if disk[p] != h {
			t.Errorf("workspace copy of %s is missing or differs", p)
		}
	}
	for p := range disk {
		if _, ok := o.Files[p]; !ok {
			t.Errorf("workspace has %s, the store does not", p)
		}
	}
}
