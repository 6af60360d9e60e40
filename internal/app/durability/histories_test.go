package durability_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/task"
)

// TestRecordHistories records the histories that workflows/replay_test.go
// replays in `make test`: real runs on a dev server of a completed task, a
// paused and unpaused one, one clarified and resumed, a failed one, a
// cancelled one, a continued-as-new one (every run), a rerun review, the
// slots semaphore, budget stops (raised, declined) and plan approval
// (revised then approved, rejected). It runs only when asked:
//
//	UPDATE_HISTORIES=1 go test -run TestRecordHistories ./internal/app/durability/
//
// writes the scenarios that have no file yet; UPDATE_HISTORIES=overwrite
// replaces them all. Recorded histories are kept on purpose: they prove that
// the current workflow code still replays runs of older code. After a
// workflow change (behind workflow.GetVersion), record the new behaviour
// under a new name instead of overwriting the old one; HISTORIES_PREFIX
// (say "release19_") names a whole set after the release that wrote it.
func TestRecordHistories(t *testing.T) {
	mode := os.Getenv("UPDATE_HISTORIES")
	if mode == "" {
		t.Skip("set UPDATE_HISTORIES=1 to record workflows/testdata histories")
	}
	out := filepath.Join(apptest.RepoRoot(), "workflows", "testdata")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"MAX_CONCURRENT_TASKS": "4"}})
	save := func(name, wfID, runID string) {
		t.Helper()
		path := filepath.Join(out, os.Getenv("HISTORIES_PREFIX")+name+".json")
		if _, err := os.Stat(path); err == nil && mode != "overwrite" {
			t.Logf("%s exists; kept", path)
			return
		}
		raw, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(
			&historypb.History{Events: history(t, p.Client, wfID, runID)})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", path, len(raw))
	}
	post := func(id, action string, body any) {
		t.Helper()
		if code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/"+action, body, nil); code >= 300 {
			t.Fatalf("%s: %d %s", action, code, raw)
		}
	}
	create := func(description, template string) string {
		return p.CreateTask(t, map[string]any{"description": description, "template_id": template})
	}

	completed := create("A command line tool that counts words and lines in text files", "python_cli")

	clarified := create("Word counter [mock:clarify]", "python_cli")
	p.WaitStatus(t, clarified, 2*time.Minute, "needs_input")
	post(clarified, "input", map[string]any{"answers": map[string]any{"task_details": "Count words per file"}})
	post(clarified, "input", map[string]any{"answers": map[string]any{"scope": "standard", "output_format": "json"}})
	post(clarified, "resume", nil)

	paused := create("A library that validates and stores user records [mock:slow=1]", "python_lib")
	post(paused, "pause", nil)
	p.WaitStatus(t, paused, 2*time.Minute, "paused")
	post(paused, "unpause", nil)

	failed := create("A command line tool that counts words [mock:llm-error]", "python_cli")

	retried := create("A command line tool that counts words [mock:llm-error]", "python_cli")
	p.WaitStatus(t, retried, 2*time.Minute, "failed")
	post(retried, "retry", nil)

	cancelled := create("Word counter", "python_cli")
	p.WaitStatus(t, cancelled, 2*time.Minute, "needs_input")
	post(cancelled, "cancel", nil)

	// A small threshold continues as new between steps and, after the first
	// answer, in the middle of the clarification wait.
	continued := createDirect(t, p, "Word counter [mock:clarify]", "python_cli", func(in *task.Input) { in.ContinueAsNewAfter = 2 })
	p.WaitStatus(t, continued, 2*time.Minute, "needs_input")
	waiting := len(runs(t, p.Client, task.WorkflowID(continued)))
	post(continued, "input", map[string]any{"answers": map[string]any{"task_details": "Count words per file"}})
	waitFor(t, time.Minute, "a continue-as-new while waiting", func() bool {
		return len(runs(t, p.Client, task.WorkflowID(continued))) > waiting
	})
	post(continued, "input", map[string]any{"answers": map[string]any{"scope": "minimal"}})
	post(continued, "resume", nil)

	// The budget gate (raised, declined) and plan approval (revised then
	// approved, rejected).
	answerOnly := func(id string, v any) {
		t.Helper()
		tk := p.WaitStatus(t, id, 2*time.Minute, "needs_input")
		post(id, "input", map[string]any{"answers": map[string]any{tk.PendingQuestions[0]["id"].(string): v}, "auto_resume": true})
	}
	budgeted := p.CreateTask(t, map[string]any{"description": "A command line tool that counts words", "template_id": "python_cli", "budget_usd": 0.0002})
	answerOnly(budgeted, map[string]any{"budget_usd": 1})
	declined := p.CreateTask(t, map[string]any{"description": "A command line tool that counts words", "template_id": "python_cli", "budget_tokens": 500})
	answerOnly(declined, "decline")
	approved := p.CreateTask(t, map[string]any{"description": "A command line tool that counts words", "template_id": "python_cli", "approve_plan": true})
	answerOnly(approved, "revise: add a --lines option")
	waitFor(t, 2*time.Minute, "the revised plan", func() bool {
		tk := p.GetTask(t, approved)
		return tk.Status == "needs_input" && len(tk.PendingQuestions) == 1 && tk.PendingQuestions[0]["id"] == "plan-2"
	})
	answerOnly(approved, "approve")
	rejected := p.CreateTask(t, map[string]any{"description": "A command line tool that counts words", "template_id": "python_cli", "approve_plan": true})
	answerOnly(rejected, "reject")

	for id, want := range map[string]string{completed: "completed", clarified: "completed", paused: "completed",
		failed: "failed", cancelled: "cancelled", continued: "completed", retried: "failed",
		budgeted: "completed", declined: "failed", approved: "completed", rejected: "cancelled"} {
		p.WaitStatus(t, id, 3*time.Minute, want)
	}
	post(completed, "rerun-review", nil)
	waitFor(t, 2*time.Minute, "the rerun review", func() bool {
		desc, err := p.Client.DescribeWorkflow(ctxT(t), task.ReviewWorkflowID(completed), "")
		return err == nil && desc.Status.String() == "Completed"
	})

	save("completed", task.WorkflowID(completed), "")
	save("clarified_resumed", task.WorkflowID(clarified), "")
	save("paused_unpaused", task.WorkflowID(paused), "")
	save("failed_llm_error", task.WorkflowID(failed), "")
	save("cancelled_while_waiting", task.WorkflowID(cancelled), "")
	save("retried_llm_error", task.WorkflowID(retried), "")
	for i, run := range runs(t, p.Client, task.WorkflowID(continued)) {
		save(fmt.Sprintf("continued_as_new_run%02d", i+1), task.WorkflowID(continued), run)
	}
	save("review_rerun", task.ReviewWorkflowID(completed), "")
	save("budget_raised", task.WorkflowID(budgeted), "")
	save("budget_declined", task.WorkflowID(declined), "")
	save("plan_revised_approved", task.WorkflowID(approved), "")
	save("plan_rejected", task.WorkflowID(rejected), "")
	save("slots", task.SlotsWorkflowID(p.Config.TemporalTaskQueue), "")
}
