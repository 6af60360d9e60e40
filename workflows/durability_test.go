package workflows

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// chain runs TaskWorkflow and every run it continues as new into, each in a
// fresh test environment prepared by setup, and returns the harnesses in run
// order; the last one holds the outcome.
func chain(t *testing.T, in task.Input, setup func(h *harness, run int)) []*harness {
	t.Helper()
	var runs []*harness
	for i := 0; i < 60; i++ {
		h := newHarness(t)
		setup(h, i)
		h.run(in)
		runs = append(runs, h)
		var can *workflow.ContinueAsNewError
		if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
			return runs
		}
		var next task.Input
		if err := decodeInput(can, &next); err != nil {
			t.Fatal(err)
		}
		in = next
	}
	t.Fatalf("still continuing as new after %d runs", len(runs))
	return nil
}

func codeTargets(runs []*harness) [][]string {
	var out [][]string
	for _, h := range runs {
		for _, in := range h.codeIns {
			out = append(out, in.Task.TargetFiles)
		}
	}
	return out
}

// TestContinueAsNewKeepsWrittenFiles forces continue-as-new after every
// couple of steps: no planned file is implemented twice, and the chain ends
// exactly as a single run does.
func TestContinueAsNewKeepsWrittenFiles(t *testing.T) {
	single := newHarness(t)
	single.run(task.Input{})
	if err := single.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := codeTargets([]*harness{single})
	for _, every := range []int{1, 2, 3, 5} {
		runs := chain(t, task.Input{ContinueAsNewAfter: every}, func(*harness, int) {})
		last := runs[len(runs)-1]
		if err := last.env.GetWorkflowError(); err != nil {
			t.Fatalf("every %d: %v", every, err)
		}
		if len(runs) < 3 {
			t.Fatalf("every %d: only %d runs", every, len(runs))
		}
		if got := codeTargets(runs); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("every %d: code iterations\n got %v\nwant %v", every, got, want)
		}
		if last.finishIn == nil || last.finishIn.Status != task.StatusCompleted || last.finishIn.Iterations != len(want) {
			t.Fatalf("every %d: finish %+v", every, last.finishIn)
		}
	}
}

// TestContinueAsNewWhileWaitingKeepsQuestions continues as new in the middle
// of the clarification wait (after the first of two answers): the next run
// still reports needs_input with the same questions and the first answer,
// does not ask again, and goes on only after the second answer and a resume.
func TestContinueAsNewWhileWaitingKeepsQuestions(t *testing.T) {
	detail := task.Question{ID: "detail", Text: "Any detail?", Type: task.QuestionText, Required: true}
	asked := 0
	var seen []task.State
	runs := chain(t, task.Input{ContinueAsNewAfter: 1}, func(h *harness, run int) {
		h.clarify = func(in task.ClarifyIn) []task.Question {
			if slices.Contains(in.Asked, "scope") {
				return nil
			}
			asked++
			return []task.Question{question, detail}
		}
		h.env.RegisterDelayedCallback(func() {
			st := h.query()
			seen = append(seen, st)
			if st.Status != task.StatusNeedsInput {
				return
			}
			if _, ok := st.ProvidedAnswers["scope"]; !ok {
				h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "small"}})
				return
			}
			h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"detail": "more"}})
			h.env.SignalWorkflow(task.SignalResume, task.ResumeSignal{})
		}, time.Hour)
	})
	last := runs[len(runs)-1]
	if err := last.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if asked != 1 {
		t.Fatalf("questions asked %d times, want once", asked)
	}
	waiting := 0
	for _, st := range seen {
		if st.Status == task.StatusNeedsInput {
			waiting++
			if len(st.PendingQuestions) != 2 || st.RequestedAt == "" {
				t.Fatalf("a waiting run lost its questions: %+v", st)
			}
		}
	}
	if waiting != 2 {
		t.Fatalf("want the wait to span two runs, saw states %+v", seen)
	}
	st := last.query()
	if st.ProvidedAnswers["scope"] != "small" || st.ProvidedAnswers["detail"] != "more" || last.finishIn.Status != task.StatusCompleted {
		t.Fatalf("final state %+v finish %+v", st, last.finishIn)
	}
	var recorded []task.AnswersIn
	for _, h := range runs {
		recorded = append(recorded, h.answers...)
	}
	if len(recorded) != 2 || recorded[1].Merged["scope"] != "small" || recorded[1].Merged["detail"] != "more" {
		t.Fatalf("answers recorded %+v", recorded)
	}
}

// TestResumeWhileBusyPublishingQuestionsIsKept sends the answer and the
// resume while the workflow is still busy in the activity that publishes
// needs_input (the API may see needs_input in the query by then): neither
// signal is lost.
func TestResumeWhileBusyPublishingQuestionsIsKept(t *testing.T) {
	h := newHarness(t)
	h.askOnce(question)
	h.onUpdate = func(u task.Update) {
		if u.Status == task.StatusNeedsInput {
			h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "large"}})
			h.env.SignalWorkflow(task.SignalResume, task.ResumeSignal{})
		}
	}
	h.run(task.Input{TaskTTLDays: 7})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if h.finishIn == nil || h.finishIn.Status != task.StatusCompleted {
		t.Fatalf("finish %+v", h.finishIn)
	}
}

// TestDuplicateSignalsAreHarmless repeats every clarification signal and
// sends more after the resume: one resume, answers recorded per signal, and
// the late ones change nothing.
func TestDuplicateSignalsAreHarmless(t *testing.T) {
	h := newHarness(t)
	h.askOnce(question)
	h.env.RegisterDelayedCallback(func() {
		for range 2 {
			h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "small"}, AutoResume: true})
			h.env.SignalWorkflow(task.SignalResume, task.ResumeSignal{})
		}
	}, time.Hour)
	h.onCode = func(task.CodeIn) {
		h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "large"}})
		h.env.SignalWorkflow(task.SignalResume, task.ResumeSignal{})
	}
	h.run(task.Input{})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for _, u := range h.updates {
		for _, e := range u.Events {
			if e.Type == "task_resumed" {
				resumed++
			}
		}
	}
	if resumed != 1 || h.count(task.ActClarify) != 2 || h.finishIn.Status != task.StatusCompleted {
		t.Fatalf("resumed %d times, clarify %d, finish %+v", resumed, h.count(task.ActClarify), h.finishIn)
	}
	if st := h.query(); st.ProvidedAnswers["scope"] != "small" {
		t.Fatalf("late answers changed the task: %+v", st.ProvidedAnswers)
	}
}
