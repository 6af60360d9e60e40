package workflows

import (
	"testing"
	"time"

	"ai-platform/internal/task"
)

// TestUnpausedTaskShowsTheStageItResumes: a task paused during
// implementation shows stage paused, and once unpaused it is queued in the
// implementation stage again (not a clarification stage it never was in).
func TestUnpausedTaskShowsTheStageItResumes(t *testing.T) {
	h := newHarness(t)
	paused := false
	h.onCode = func(task.CodeIn) {
		if !paused {
			paused = true
			h.env.SignalWorkflow(task.SignalPause, nil)
		}
	}
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(task.SignalUnpause, nil) }, time.Hour)
	h.run(task.Input{})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var stages []string
	h.mu.Lock()
	for _, u := range h.updates {
		if u.Stage != nil && (u.Status == task.StatusPaused || u.Status == task.StatusQueued) {
			stages = append(stages, string(u.Status)+":"+*u.Stage)
		}
	}
	h.mu.Unlock()
	want := []string{"paused:" + task.StagePaused, "queued:" + task.StageImplement}
	if len(stages) != 2 || stages[0] != want[0] || stages[1] != want[1] {
		t.Fatalf("pause and unpause updates %v, want %v", stages, want)
	}
}
