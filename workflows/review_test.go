package workflows

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"ai-platform/internal/task"
)

// TestReviewIsACritiqueThenChecks: a final review asks the model once, then
// hands its critique to the checks; iteration reviews run the checks alone.
// A transient failure of the checks re-runs the checks only, and a critique
// that keeps failing is an LLM failure that never runs the commands.
func TestReviewIsACritiqueThenChecks(t *testing.T) {
	transient := func(msg string) error { return temporal.NewApplicationError(msg, "*errors.errorString") }
	cases := []struct {
		name          string
		critique      func(n int) (task.Critique, error)
		checks        func(n int, in task.ReviewIn) (task.ReviewOut, error)
		wantReason    string
		wantCritiques int
		wantChecks    int // of the final review
	}{
		{
			name:          "both succeed",
			critique:      func(int) (task.Critique, error) { return task.Critique{Verdict: "approve", TokensIn: 7}, nil },
			checks:        func(int, task.ReviewIn) (task.ReviewOut, error) { return task.ReviewOut{Passed: true}, nil },
			wantCritiques: 1, wantChecks: 1,
		},
		{
			name:     "checks retried without asking the model again",
			critique: func(int) (task.Critique, error) { return task.Critique{Verdict: "approve"}, nil },
			checks: func(n int, _ task.ReviewIn) (task.ReviewOut, error) {
				if n < 3 {
					return task.ReviewOut{}, transient("sandbox unavailable")
				}
				return task.ReviewOut{Passed: true}, nil
			},
			wantCritiques: 1, wantChecks: 3,
		},
		{
			name: "critique failing on every attempt",
			critique: func(n int) (task.Critique, error) {
				return task.Critique{}, temporal.NewApplicationError("review stage, attempt 3: HTTP 503", task.ErrTypeLLMTransient)
			},
			checks:        func(int, task.ReviewIn) (task.ReviewOut, error) { return task.ReviewOut{Passed: true}, nil },
			wantReason:    task.ReasonLLMProviderError,
			wantCritiques: 3, wantChecks: 0,
		},
		{
			name:     "a command over its workspace quota",
			critique: func(int) (task.Critique, error) { return task.Critique{Verdict: "approve"}, nil },
			checks: func(int, task.ReviewIn) (task.ReviewOut, error) {
				return task.ReviewOut{}, temporal.NewNonRetryableApplicationError("the tests command was stopped", task.ErrTypeStorageLimit, nil)
			},
			wantReason:    task.ReasonStorageLimitExceeded,
			wantCritiques: 1, wantChecks: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			critiques, finalChecks := 0, 0
			h.critique = func(task.ReviewIn) (task.Critique, error) {
				critiques++
				return tc.critique(critiques)
			}
			h.review = func(in task.ReviewIn) (task.ReviewOut, error) {
				if in.Kind != task.ReviewFinal {
					return task.ReviewOut{Passed: true}, nil
				}
				finalChecks++
				return tc.checks(finalChecks, in)
			}
			h.run(task.Input{})
			if tc.wantReason == "" {
				if err := h.env.GetWorkflowError(); err != nil {
					t.Fatal(err)
				}
			} else if h.finishIn == nil || h.finishIn.FailureReason != tc.wantReason {
				t.Fatalf("finish %+v, want %s", h.finishIn, tc.wantReason)
			}
			if critiques != tc.wantCritiques || finalChecks != tc.wantChecks {
				t.Fatalf("%d critiques and %d final checks, want %d and %d", critiques, finalChecks, tc.wantCritiques, tc.wantChecks)
			}
			if h.count(task.ActReview+":"+task.ReviewFinal) != 0 || h.count(task.ActReview+":"+task.ReviewIteration) != 0 {
				t.Fatalf("a new run called the single Review activity: %v", h.calls)
			}
			for _, in := range h.checksIns {
				if (in.Kind == task.ReviewFinal) != (in.Critique != nil) {
					t.Fatalf("%s checks got critique %+v; only final reviews carry one", in.Kind, in.Critique)
				}
			}
		})
	}
}

// TestRerunReviewIsACritiqueThenChecks: the rerun-review workflow asks the
// model under its own step key, then runs the checks under the key the
// single Review activity had, with the critique folded in.
func TestRerunReviewIsACritiqueThenChecks(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger)
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(10 * time.Second)
	Register(env)
	var calls []string
	var checksIn task.ReviewIn
	env.RegisterActivityWithOptions(func(_ context.Context, in task.ReviewIn) (task.Critique, error) {
		calls = append(calls, task.ActReviewCritique+" "+in.Step.Key)
		return task.Critique{Verdict: "request_changes", Issues: []string{"no input validation"}, TokensIn: 5, TokensOut: 2}, nil
	}, activityName(task.ActReviewCritique))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.ReviewIn) (task.ReviewOut, error) {
		calls = append(calls, task.ActReviewChecks+" "+in.Step.Key)
		checksIn = in
		return task.ReviewOut{Passed: false, Status: "changes_requested", ReportID: "r1"}, nil
	}, activityName(task.ActReviewChecks))
	env.RegisterActivityWithOptions(func(context.Context, task.ReviewIn) (task.ReviewOut, error) {
		return task.ReviewOut{}, errors.New("the single Review activity must not run")
	}, activityName(task.ActReview))
	env.ExecuteWorkflow(ReviewWorkflow, task.ReviewRun{TaskID: "t1", RunID: "run-9", OwnerKey: "owner"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out task.ReviewOut
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	want := []string{task.ActReviewCritique + " review/run-9/critique", task.ActReviewChecks + " review/run-9"}
	if !slices.Equal(calls, want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
	if checksIn.Kind != task.ReviewRerun || checksIn.RunID != "run-9" || checksIn.Critique == nil ||
		checksIn.Critique.Issues[0] != "no input validation" {
		t.Fatalf("checks input %+v", checksIn)
	}
	if out.ReportID != "r1" || out.TokensIn != 5 || out.TokensOut != 2 {
		t.Fatalf("result %+v", out)
	}
}
