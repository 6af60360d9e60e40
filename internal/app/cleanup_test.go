package app_test

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/testutil/logbuf"
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

// TestCleanupScheduleFollowsConfig restarts with other TTLs and checks that
// the existing schedule's action takes them (a schedule otherwise keeps the
// arguments it was created with), that an operator's pause survives the
// update, and that turning retention off deletes the schedule.
func TestCleanupScheduleFollowsConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"TASK_TTL_DAYS": "30", "WORKSPACE_TTL_DAYS": "30"}})
	ctx := t.Context()
	id := "cleanup-" + p.Config.TemporalTaskQueue
	h := p.Client.ScheduleClient().GetHandle(ctx, id)
	var logs logbuf.Buffer
	// start is a worker start with these TTLs.
	start := func(taskTTL, wsTTL int) {
		t.Helper()
		a := *p.App
		a.Config.TaskTTLDays, a.Config.WorkspaceTTLDays = taskTTL, wsTTL
		a.Log = slog.New(slog.NewTextHandler(&logs, nil))
		a.EnsureCleanupSchedule(ctx, p.Client)
	}
	// wantArgs waits for the schedule to carry want (updates reach the
	// schedule's workflow as signals).
	wantArgs := func(want task.PurgeIn) client.ScheduleDescription {
		t.Helper()
		var last task.PurgeIn
		for deadline := time.Now().Add(15 * time.Second); ; {
			desc, err := h.Describe(ctx)
			if err != nil {
				t.Fatalf("describe %s: %v", id, err)
			}
			action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
			if !ok || len(action.Args) != 1 {
				t.Fatalf("schedule action %#v", desc.Schedule.Action)
			}
			if err := converter.GetDefaultDataConverter().FromPayload(action.Args[0].(*commonpb.Payload), &last); err != nil {
				t.Fatal(err)
			}
			if last == want {
				if iv := desc.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != 24*time.Hour {
					t.Fatalf("schedule spec %+v", desc.Schedule.Spec)
				}
				if action.Workflow != task.CleanupWorkflowName || action.TaskQueue != p.Config.TemporalTaskQueue {
					t.Fatalf("schedule action %+v", action)
				}
				return *desc
			}
			if time.Now().After(deadline) {
				t.Fatalf("schedule args %+v, want %+v\nlogs:\n%s", last, want, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wantGone := func() {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; {
			_, err := h.Describe(ctx)
			var missing *serviceerror.NotFound
			if errors.As(err, &missing) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("schedule %s still there (describe: %v)\nlogs:\n%s", id, err, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	start(30, 30)
	wantArgs(task.PurgeIn{TaskTTLDays: 30, WorkspaceTTLDays: 30, Batch: 500})

	start(90, 7) // TASK_TTL_DAYS raised: the old 30 would purge tasks now meant to be kept
	wantArgs(task.PurgeIn{TaskTTLDays: 90, WorkspaceTTLDays: 7, Batch: 500})
	if !strings.Contains(logs.String(), "cleanup schedule updated") || !strings.Contains(logs.String(), "previous_task_ttl_days=30") {
		t.Errorf("the update was not logged:\n%s", logs.String())
	}

	if err := h.Pause(ctx, client.SchedulePauseOptions{Note: "operator"}); err != nil {
		t.Fatal(err)
	}
	start(45, 45)
	if desc := wantArgs(task.PurgeIn{TaskTTLDays: 45, WorkspaceTTLDays: 45, Batch: 500}); !desc.Schedule.State.Paused {
		t.Error("the update unpaused the schedule an operator paused")
	}

	start(0, 0) // retention off
	wantGone()
	if !strings.Contains(logs.String(), "deleted the cleanup schedule") {
		t.Errorf("the deletion was not logged:\n%s", logs.String())
	}
	start(0, 0) // nothing left to delete: no warning
	if strings.Contains(logs.String(), "level=WARN msg=\"retention is off") {
		t.Errorf("second start with retention off warned:\n%s", logs.String())
	}

	start(10, 0)
	wantArgs(task.PurgeIn{TaskTTLDays: 10, WorkspaceTTLDays: 0, Batch: 500})
}
