package durability_test

import (
	"net/http"
	"testing"
	"time"

	"ai-platform/internal/task"
)

// TestSignalBurstWhileWaiting sends the answers, a duplicate answer, the
// resume and a duplicate resume back to back with the client (no API checks
// in between), so most arrive while the workflow is still recording the
// first: none is lost, duplicates change nothing, the task resumes once.
func TestSignalBurstWhileWaiting(t *testing.T) {
	s := newStack(t, nil)
	id := s.create("Word counter [mock:clarify]", "python_cli")
	s.api.WaitStatus(t, id, 2*time.Minute, "needs_input")
	ctx := ctxT(t)
	wfID := task.WorkflowID(id)
	burst := []struct {
		name string
		arg  any
	}{
		{task.SignalInput, task.InputSignal{Answers: map[string]any{"task_details": "Count words per file"}}},
		{task.SignalInput, task.InputSignal{Answers: map[string]any{"task_details": "Count words per file"}}},
		{task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "standard"}}},
		{task.SignalResume, task.ResumeSignal{}},
		{task.SignalResume, task.ResumeSignal{}},
	}
	for _, sig := range burst {
		if err := s.api.Client.SignalWorkflow(ctx, wfID, "", sig.name, sig.arg); err != nil {
			t.Fatal(err)
		}
	}
	done := s.api.WaitStatus(t, id, 3*time.Minute, "completed")
	if done.ProvidedAnswers["task_details"] != "Count words per file" || done.ProvidedAnswers["scope"] != "standard" {
		t.Errorf("answers %v", done.ProvidedAnswers)
	}
	o := collect(t, s.api.App.Store, id)
	checkExactlyOnce(t, o)
	types := o.eventTypes()
	if types["clarification_received"] != 3 || types["task_resumed"] != 1 || types["clarification_requested"] != 1 {
		t.Errorf("clarification events %v", types)
	}
	// Late duplicates are refused by the API and ignored by Temporal.
	for _, path := range []string{"/input", "/resume"} {
		s.post("/api/tasks/"+id+path, map[string]any{"answers": map[string]any{"scope": "minimal"}}, http.StatusConflict)
	}
}

// TestPauseWhileBusy pauses a task while its design LLM call runs (3 s): the
// signal is not lost (the task pauses once the call returns), repeated
// pause and unpause requests are harmless, and the task completes with
// every stage run once.
func TestPauseWhileBusy(t *testing.T) {
	s := newStack(t, nil)
	id := s.create("A command line tool that counts words and lines in text files [mock:slow=3]", "python_cli")
	ctx := ctxT(t)
	waitFor(t, 2*time.Minute, "the design activity", func() bool {
		_, ok := startedActivity(ctx, s.api.Client, task.WorkflowID(id), task.ActDesign)
		return ok
	})
	s.post("/api/tasks/"+id+"/pause", nil, http.StatusAccepted)
	if _, ok := startedActivity(ctx, s.api.Client, task.WorkflowID(id), task.ActDesign); !ok {
		t.Fatal("the design finished before the pause was sent; the test needs it busy")
	}
	s.post("/api/tasks/"+id+"/pause", nil, http.StatusAccepted)
	paused := s.api.WaitStatus(t, id, 2*time.Minute, "paused")
	if paused.CurrentStage == nil || *paused.CurrentStage != "paused" {
		t.Fatalf("paused task %+v", paused)
	}
	s.post("/api/tasks/"+id+"/pause", nil, http.StatusOK)
	s.post("/api/tasks/"+id+"/unpause", nil, http.StatusAccepted)
	// A second unpause is accepted or, once the first took effect, refused.
	if code, raw := s.api.Do(t, http.MethodPost, "/api/tasks/"+id+"/unpause", nil, nil); code != http.StatusAccepted && code != http.StatusConflict {
		t.Fatalf("second unpause: %d %s", code, raw)
	}
	s.api.WaitStatus(t, id, 3*time.Minute, "completed")
	o := collect(t, s.api.App.Store, id)
	checkExactlyOnce(t, o)
	types := o.eventTypes()
	if types["task_paused"] != 1 || types["task_unpaused"] != 1 {
		t.Errorf("pause events %v", types)
	}
	stages := map[string]int{}
	for _, p := range o.payloads("StageStarted") {
		stages[p["stage"].(string)]++
	}
	for _, st := range []string{"research", "design", "implementation", "review"} {
		if stages[st] != 1 {
			t.Errorf("stage %s started %d times (%v)", st, stages[st], stages)
		}
	}
}
