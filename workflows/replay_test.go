package workflows

import (
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// The histories in testdata/ are real runs recorded on a dev server by
// TestRecordHistories in internal/app/durability (UPDATE_HISTORIES=1). Each
// is replayed here against the current workflow code: a change that would
// make a running workflow take a different path fails this test, and must
// then be put behind workflow.GetVersion (see README.md). Recorded files are
// never deleted or overwritten; new behaviour gets new files.

var quietLogger = sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

func recordedHistories(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	// These scenarios must keep a recorded history: together they take the
	// workflow through completion, pause, clarification, LLM failure,
	// cancellation, continue-as-new, the review rerun and the slots workflow.
	for _, want := range []string{"completed", "paused_unpaused", "clarified_resumed", "failed_llm_error",
		"cancelled_while_waiting", "continued_as_new_run01", "continued_as_new_run02", "review_rerun", "slots"} {
		if !slices.Contains(names, want) {
			t.Errorf("testdata/%s.json is missing", want)
		}
	}
	return files
}

func TestReplayRecordedHistories(t *testing.T) {
	for _, f := range recordedHistories(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			Register(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger, f); err != nil {
				t.Fatalf("replaying %s: %v", f, err)
			}
		})
	}
}

// TestReplayDetectsAChangedWorkflow shows the replay test can fail: a task
// workflow that skips the prepare step does not replay a recorded run.
func TestReplayDetectsAChangedWorkflow(t *testing.T) {
	changed := func(ctx workflow.Context, in task.Input) (task.Result, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		err := workflow.ExecuteActivity(ctx, task.ActResearch, task.StageIn{}).Get(ctx, nil)
		return task.Result{}, err
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: task.WorkflowName})
	err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger, filepath.Join("testdata", "completed.json"))
	// TMPRL1100 is the SDK's code for a nondeterminism error.
	if err == nil || !strings.Contains(err.Error(), "TMPRL1100") {
		t.Fatalf("replaying with a changed workflow: %v, want a nondeterminism error", err)
	}
}
