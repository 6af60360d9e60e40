package workflows

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/task"
)

// budgetStopErr is what an LLM stage returns when its next call does not fit
// in the task's budget.
func budgetStopErr(stage string) error {
	return temporal.NewNonRetryableApplicationError("budget", task.ErrTypeBudgetStop, nil, task.BudgetStop{
		Stage: stage, Limit: task.BudgetLimitUSD, SpentUSD: 0.02, BudgetUSD: 0.025, NeededUSD: 0.01, NeededTokens: 2000,
	})
}

// whenWaiting sends answer once the task waits on a question, recording
// the pending question it saw.
func (h *harness) whenWaiting(seen *[]task.Question, answer func(q task.Question) any) {
	h.onUpdate = func(u task.Update) {
		if u.Status != task.StatusNeedsInput || u.PendingQuestions == nil || len(*u.PendingQuestions) != 1 {
			return
		}
		q := (*u.PendingQuestions)[0]
		*seen = append(*seen, q)
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{q.ID: answer(q)}, AutoResume: true})
		}, time.Minute)
	}
}

func TestBudgetGate(t *testing.T) {
	tests := []struct {
		name       string
		answer     any
		wantStatus task.Status
		wantReason string
		wantCodes  int
	}{
		{name: "raise continues by re-running the stage", answer: map[string]any{"budget_usd": 1.0},
			wantStatus: task.StatusCompleted, wantCodes: 3},
		{name: "a number raises the limit that stopped", answer: 0.5, wantStatus: task.StatusCompleted, wantCodes: 3},
		{name: "decline fails budget_exhausted", answer: "decline", wantStatus: task.StatusFailed,
			wantReason: task.ReasonBudgetExhausted, wantCodes: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			code := h.code
			stopped := false
			h.code = func(in task.CodeIn) (task.CodeOut, error) {
				if !stopped {
					stopped = true
					return task.CodeOut{}, budgetStopErr(task.StageImplement)
				}
				return code(in)
			}
			var seen []task.Question
			h.whenWaiting(&seen, func(task.Question) any { return tc.answer })
			h.run(task.Input{})
			if h.finishIn == nil || h.finishIn.Status != tc.wantStatus || h.finishIn.FailureReason != tc.wantReason {
				t.Fatalf("finish %+v, want %s %q", h.finishIn, tc.wantStatus, tc.wantReason)
			}
			if len(seen) != 1 || seen[0].Type != task.QuestionBudget || seen[0].ID != "budget-1" || seen[0].Budget == nil ||
				seen[0].Budget.Stage != task.StageImplement {
				t.Fatalf("questions asked %+v", seen)
			}
			if got := h.count(task.ActCode); got != tc.wantCodes {
				t.Fatalf("code ran %d times, want %d", got, tc.wantCodes)
			}
			if tc.wantStatus == task.StatusCompleted {
				// The re-run code step is iteration 1 again: the stopped
				// one did not happen.
				if h.codeIns[1].Iteration != 1 || h.codeIns[2].Iteration != 2 {
					t.Fatalf("iterations %d, %d", h.codeIns[1].Iteration, h.codeIns[2].Iteration)
				}
				raised := false
				for _, u := range h.updates {
					if u.Budget != nil {
						raised = true
					}
				}
				if !raised {
					t.Fatal("no update raised the budget")
				}
			}
			// The slot is given back while waiting: the task queues again.
			if got := h.statuses(); !slices.Contains(got, task.StatusNeedsInput) || h.count(task.ActAcquireSlot) < 2 && tc.wantCodes > 1 {
				t.Fatalf("statuses %v, acquisitions %d", got, h.count(task.ActAcquireSlot))
			}
		})
	}
}

func TestBudgetGateIgnoresAnAnswerBelowWhatIsSpent(t *testing.T) {
	h := newHarness(t)
	stopped := false
	h.designFn = func() (task.DesignOut, error) {
		if !stopped {
			stopped = true
			return task.DesignOut{}, budgetStopErr(task.StageDesign)
		}
		return h.design, nil
	}
	var seen []task.Question
	h.onUpdate = func(u task.Update) {
		if u.Status != task.StatusNeedsInput || u.PendingQuestions == nil {
			return
		}
		q := (*u.PendingQuestions)[0]
		seen = append(seen, q)
		h.env.RegisterDelayedCallback(func() {
			// $0.01 is below the $0.02 spent: ignored, the task keeps waiting.
			h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{q.ID: 0.01}, AutoResume: true})
		}, time.Minute)
		h.env.RegisterDelayedCallback(func() {
			if st := h.query(); st.Status != task.StatusNeedsInput {
				t.Errorf("after a too-small raise the task is %s, want needs_input", st.Status)
			}
			h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{q.ID: "0.05"}, AutoResume: true})
		}, 2*time.Minute)
	}
	h.run(task.Input{})
	if h.finishIn == nil || h.finishIn.Status != task.StatusCompleted {
		t.Fatalf("finish %+v", h.finishIn)
	}
	if h.count(task.ActDesign) != 2 || len(seen) != 1 {
		t.Fatalf("design ran %d times, %d questions", h.count(task.ActDesign), len(seen))
	}
}

func TestPlanApproval(t *testing.T) {
	tests := []struct {
		name       string
		answers    []any
		wantStatus task.Status
		wantReason string
		wantDesign int
		wantCode   bool
	}{
		{name: "approve", answers: []any{"approve"}, wantStatus: task.StatusCompleted, wantDesign: 1, wantCode: true},
		{name: "revise then approve", answers: []any{map[string]any{"decision": "revise", "instructions": "use sqlite"}, "approve"},
			wantStatus: task.StatusCompleted, wantDesign: 2, wantCode: true},
		{name: "reject", answers: []any{"reject"}, wantStatus: task.StatusCancelled, wantReason: task.ReasonPlanRejected, wantDesign: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var seen []task.Question
			h.whenWaiting(&seen, func(task.Question) any { a := tc.answers[0]; tc.answers = tc.answers[1:]; return a })
			h.run(task.Input{ApprovePlan: true})
			if h.finishIn == nil || h.finishIn.Status != tc.wantStatus || h.finishIn.FailureReason != tc.wantReason {
				t.Fatalf("finish %+v, want %s %q", h.finishIn, tc.wantStatus, tc.wantReason)
			}
			if got := h.count(task.ActDesign); got != tc.wantDesign {
				t.Fatalf("design ran %d times, want %d", got, tc.wantDesign)
			}
			if (h.count(task.ActCode) > 0) != tc.wantCode {
				t.Fatalf("code ran %d times", h.count(task.ActCode))
			}
			if len(seen) != tc.wantDesign {
				t.Fatalf("asked %d plan questions, want %d", len(seen), tc.wantDesign)
			}
			for i, q := range seen {
				if q.Type != task.QuestionPlanApproval || q.Plan == nil || q.Plan.Round != i+1 || len(q.Plan.Components) != 2 ||
					q.Plan.Components[0].Name != "Core" || len(q.Plan.Components[0].Files) != 2 {
					t.Fatalf("plan question %d: %+v", i, q)
				}
			}
			if tc.wantStatus == task.StatusCancelled {
				var canceled *temporal.CanceledError
				if err := h.env.GetWorkflowError(); !errors.As(err, &canceled) {
					t.Fatalf("workflow error %v, want cancelled", err)
				}
			}
		})
	}
}

func TestPlanApprovalFromTheCodexDefault(t *testing.T) {
	h := newHarness(t)
	h.plan.ApprovePlan = true
	var seen []task.Question
	h.whenWaiting(&seen, func(task.Question) any { return "approve" })
	h.run(task.Input{})
	if len(seen) != 1 || h.finishIn.Status != task.StatusCompleted {
		t.Fatalf("questions %d, finish %+v", len(seen), h.finishIn)
	}
}

func TestNoPlanApprovalByDefault(t *testing.T) {
	h := newHarness(t)
	h.run(task.Input{})
	for _, u := range h.updates {
		if u.Status == task.StatusNeedsInput {
			t.Fatal("a task without approve_plan stopped for a question")
		}
	}
}

func TestRefusalFailsLLMRefused(t *testing.T) {
	h := newHarness(t)
	h.code = func(task.CodeIn) (task.CodeOut, error) {
		return task.CodeOut{}, temporal.NewNonRetryableApplicationError("The model refused the request (content policy)", task.ErrTypeLLMRefused, nil)
	}
	h.run(task.Input{})
	if h.finishIn == nil || h.finishIn.FailureReason != task.ReasonLLMRefused || h.count(task.ActCode) != 1 {
		t.Fatalf("finish %+v after %d code calls", h.finishIn, h.count(task.ActCode))
	}
}
