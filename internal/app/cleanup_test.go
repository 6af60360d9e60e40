package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// TestRetentionCleanup seeds expired and fresh tasks and workspaces, runs the
// cleanup workflow in small batches, and checks the schedule that repeats it.
func TestRetentionCleanup(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"TASK_TTL_DAYS": "1", "WORKSPACE_TTL_DAYS": "1"}})
	ctx := t.Context()
	var expired, fresh []string
	mk := func(age time.Duration) string {
		ended := time.Now().Add(-age)
		created, err := p.App.Store.CreateTask(ctx, store.Task{ID: uuid.NewString(), Status: task.StatusCompleted,
			Description: "old", OwnerKeyHash: "someone", UserID: "u", CreatedAt: ended, CompletedAt: &ended})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.App.Store.PutFiles(ctx, created.ID, []store.File{{Path: "a.py", Content: []byte("x")}}, nil, store.FileLimits{}); err != nil {
			t.Fatal(err)
		}
		ws := filepath.Join(p.Config.WorkspaceRoot, created.ID)
		if err := os.MkdirAll(ws, 0o700); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(ws, old, old); err != nil {
			t.Fatal(err)
		}
		return created.ID
	}
	for i := 0; i < 5; i++ {
		expired = append(expired, mk(49*time.Hour))
	}
	fresh = append(fresh, mk(time.Hour), mk(23*time.Hour))
	// Waiting for answers for longer than the TTL: its workflow still runs,
	// so its row must stay.
	waiting, err := p.App.Store.CreateTask(ctx, store.Task{ID: uuid.NewString(), Status: task.StatusNeedsInput,
		Description: "waiting", OwnerKeyHash: "someone", UserID: "u", CreatedAt: time.Now().Add(-49 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	fresh = append(fresh, waiting.ID)
	// A symlink at the top of WORKSPACE_ROOT must never be followed.
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "keep.txt"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(p.Config.WorkspaceRoot, uuid.NewString())
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}

	run, err := p.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "cleanup-test", TaskQueue: p.Config.TemporalTaskQueue},
		task.CleanupWorkflowName, task.PurgeIn{TaskTTLDays: 1, WorkspaceTTLDays: 1, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	var out task.PurgeOut
	if err := run.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if out.Tasks != 5 || out.Files != 5 || out.Workspaces != 5 {
		t.Fatalf("purge result %+v, want 5 tasks, 5 files, 5 workspaces", out)
	}
	for _, id := range expired {
		if _, err := p.App.Store.GetTask(ctx, id); err == nil {
			t.Errorf("expired task %s survived", id)
		}
		if _, err := os.Stat(filepath.Join(p.Config.WorkspaceRoot, id)); !os.IsNotExist(err) {
			t.Errorf("expired workspace %s survived", id)
		}
	}
	for _, id := range fresh {
		if _, err := p.App.Store.GetTask(ctx, id); err != nil {
			t.Errorf("fresh task %s was purged", id)
		}
	}
	if b, err := os.ReadFile(filepath.Join(outside, "keep.txt")); err != nil || string(b) != "keep" {
		t.Fatal("cleanup followed a symlink out of WORKSPACE_ROOT")
	}

	p.App.EnsureCleanupSchedule(ctx, p.Client)
	p.App.EnsureCleanupSchedule(ctx, p.Client) // idempotent
	desc, err := p.Client.ScheduleClient().GetHandle(ctx, "cleanup-"+p.Config.TemporalTaskQueue).Describe(ctx)
	if err != nil {
		t.Fatalf("cleanup schedule: %v", err)
	}
	if iv := desc.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != 24*time.Hour {
		t.Fatalf("schedule spec %+v", desc.Schedule.Spec)
	}
	if code, _ := p.Do(t, http.MethodGet, "/health", nil, nil); code != 200 {
		t.Fatal("platform unhealthy after cleanup")
	}
	_, metrics := p.Do(t, http.MethodGet, "/metrics", nil, nil)
	for _, line := range []string{`aiplatform_retention_purged_total{kind="tasks"} 5`, `aiplatform_retention_purged_total{kind="workspaces"} 5`} {
		if !strings.Contains(string(metrics), line) {
			t.Errorf("metrics lack %q", line)
		}
	}
}
