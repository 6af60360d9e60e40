package workflows

import (
	"slices"
	"testing"

	"ai-platform/internal/task"
)

// startedEvents are the payloads of the StageStarted events the run asked
// UpdateTask to append, in order.
func (h *harness) startedEvents() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	for _, u := range h.updates {
		for _, e := range u.Events {
			if e.Type == task.EventStageStarted {
				out = append(out, e.Payload)
			}
		}
	}
	return out
}

// TestRetryContinuesAtTheResumePoint: a retried run (generation > 0, no
// checkpoint) asks the ResumePoint activity where it continues, takes over
// the stored answers, research and plan, and names the step in its first
// StageStarted event.
func TestRetryContinuesAtTheResumePoint(t *testing.T) {
	planned := []task.PlannedFile{
		{Path: "app/core.py", Component: "Core", Kind: "source"},
		{Path: "tests/test_core.py", Component: "Core", Kind: "test"},
		{Path: "README.md", Component: "Docs", Kind: "docs"},
	}
	cases := []struct {
		name      string
		rp        task.ResumePoint
		wantCalls []string
		wantCoded [][]string
	}{
		{
			name: "nothing stored: research again",
			rp:   task.ResumePoint{Step: task.StepResearch},
			wantCalls: []string{task.ActPrepare, task.ActResumePoint, task.ActAcquireSlot, task.ActResearch, task.ActClarify,
				task.ActDesign, task.ActCode, task.ActReviewChecks + ":iteration", task.ActCode, task.ActReviewChecks + ":iteration",
				task.ActReviewCritique + ":final", task.ActReviewChecks + ":final", task.ActFinish},
			wantCoded: [][]string{{"app/core.py", "tests/test_core.py"}, {"README.md"}},
		},
		{
			name: "research stored: the gate, then design",
			rp:   task.ResumePoint{Step: task.StepGate, Researched: true, Answers: map[string]any{"scope": "small"}},
			wantCalls: []string{task.ActPrepare, task.ActResumePoint, task.ActClarify, task.ActAcquireSlot,
				task.ActDesign, task.ActCode, task.ActReviewChecks + ":iteration", task.ActCode, task.ActReviewChecks + ":iteration",
				task.ActReviewCritique + ":final", task.ActReviewChecks + ":final", task.ActFinish},
			wantCoded: [][]string{{"app/core.py", "tests/test_core.py"}, {"README.md"}},
		},
		{
			name: "design stored: only the files not yet written",
			rp: task.ResumePoint{Step: task.StepImplement, Researched: true, Answers: map[string]any{"scope": "small"},
				Files: planned, Done: []string{"app/core.py", "tests/test_core.py"}},
			wantCalls: []string{task.ActPrepare, task.ActResumePoint, task.ActAcquireSlot, task.ActCode,
				task.ActReviewChecks + ":iteration", task.ActReviewCritique + ":final", task.ActReviewChecks + ":final", task.ActFinish},
			wantCoded: [][]string{{"README.md"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var asked []task.ResumeIn
			h.resume = func(in task.ResumeIn) (task.ResumePoint, error) {
				asked = append(asked, in)
				return tc.rp, nil
			}
			h.run(task.Input{Generation: 1})
			if err := h.env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(h.calls, tc.wantCalls) {
				t.Fatalf("calls\n got %v\nwant %v", h.calls, tc.wantCalls)
			}
			var coded [][]string
			for _, in := range h.codeIns {
				coded = append(coded, in.Task.TargetFiles)
			}
			if !slices.EqualFunc(coded, tc.wantCoded, slices.Equal) {
				t.Fatalf("coded %v, want %v", coded, tc.wantCoded)
			}
			if len(asked) != 1 || asked[0].Step.Key != "g1/s2" {
				t.Fatalf("resume point asked %+v, want once with step g1/s2", asked)
			}
			started := h.startedEvents()
			if len(started) == 0 || started[0]["stage"] != task.StageInitializing || started[0]["retry_from"] != tc.rp.Step {
				t.Fatalf("first StageStarted %v, want initializing with retry_from %s", started, tc.rp.Step)
			}
			for _, p := range started[1:] {
				if _, ok := p["retry_from"]; ok {
					t.Fatalf("only the first StageStarted names the resume point: %v", started)
				}
			}
			if st := h.query(); tc.rp.Answers != nil && st.ProvidedAnswers["scope"] != "small" {
				t.Fatalf("stored answers not taken over: %+v", st.ProvidedAnswers)
			}
		})
	}
}

// TestRetryWithACheckpointFromTheAPI: a retry started by an earlier release
// carries the resume point in its checkpoint; it continues there without
// asking the store.
func TestRetryWithACheckpointFromTheAPI(t *testing.T) {
	h := newHarness(t)
	cp := &task.Checkpoint{Stage: task.StepPrepare, RetryFrom: task.StepImplement, Answers: map[string]any{},
		Research: &task.ResearchOut{}, Files: h.design.Files, Done: []string{"app/core.py", "tests/test_core.py"}}
	h.run(task.Input{Generation: 1, Checkpoint: cp})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []string{task.ActPrepare, task.ActAcquireSlot, task.ActCode, task.ActReviewChecks + ":iteration",
		task.ActReviewCritique + ":final", task.ActReviewChecks + ":final", task.ActFinish}
	if !slices.Equal(h.calls, want) {
		t.Fatalf("calls\n got %v\nwant %v", h.calls, want)
	}
	if started := h.startedEvents(); len(started) == 0 || started[0]["retry_from"] != nil {
		t.Fatalf("StageStarted events %v", started)
	}
}

// TestRetryWithAnUnknownResumePointFails: a resume point the workflow has no
// step for ends the run as an internal error instead of looping.
func TestRetryWithAnUnknownResumePointFails(t *testing.T) {
	h := newHarness(t)
	h.resume = func(task.ResumeIn) (task.ResumePoint, error) { return task.ResumePoint{Step: "deploy"}, nil }
	h.run(task.Input{Generation: 2})
	if h.finishIn == nil || h.finishIn.FailureReason != task.ReasonInternalError {
		t.Fatalf("finish %+v", h.finishIn)
	}
	if h.count(task.ActResearch)+h.count(task.ActCode) != 0 {
		t.Fatalf("calls %v", h.calls)
	}
}
