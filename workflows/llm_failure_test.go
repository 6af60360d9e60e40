package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/task"
)

// TestTaskWorkflowTransientLLMFailureExhaustsRetries: a design activity whose
// provider fails transiently on every attempt is tried exactly three times
// (the llmStage policy) and the task fails with llm_provider_error, not
// internal_error, naming the stage, the attempts and the provider's status.
// The last attempt either still says "transient" (it could not know it was
// the last) or already says llm_provider_error (it read the retry policy):
// both must end the same way.
func TestTaskWorkflowTransientLLMFailureExhaustsRetries(t *testing.T) {
	for _, lastKnowsItIsLast := range []bool{false, true} {
		t.Run(fmt.Sprintf("last_attempt_final=%v", lastKnowsItIsLast), func(t *testing.T) {
			h := newHarness(t)
			var attempts atomic.Int32
			var mu sync.Mutex
			var seen []int32
			h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				if info.ActivityType.Name == task.ActDesign {
					mu.Lock()
					seen = append(seen, info.Attempt)
					mu.Unlock()
				}
			})
			h.designFn = func() (task.DesignOut, error) {
				n := attempts.Add(1)
				last := "The LLM provider failed at the design stage on attempt %d of 3: LLM provider error (HTTP 503): upstream overloaded"
				if lastKnowsItIsLast && n == 3 {
					return task.DesignOut{}, temporal.NewNonRetryableApplicationError(
						"The LLM provider failed at the design stage on all 3 attempts; last error: LLM provider error (HTTP 503): upstream overloaded",
						task.ErrTypeLLMProvider, nil)
				}
				return task.DesignOut{}, temporal.NewApplicationError(fmt.Sprintf(last, n), task.ErrTypeLLMTransient)
			}
			h.run(task.Input{})

			mu.Lock()
			got := slices.Clone(seen)
			mu.Unlock()
			if h.count(task.ActDesign) != 3 || !slices.Equal(got, []int32{1, 2, 3}) {
				t.Fatalf("design ran %d times (attempts %v), want exactly attempts 1, 2, 3", h.count(task.ActDesign), got)
			}
			err := h.env.GetWorkflowError()
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != task.ReasonLLMProviderError {
				t.Fatalf("workflow error %v, want type %s", err, task.ReasonLLMProviderError)
			}
			if h.finishIn == nil || h.finishIn.Status != task.StatusFailed || h.finishIn.FailureReason != task.ReasonLLMProviderError {
				t.Fatalf("finish %+v", h.finishIn)
			}
			for _, want := range []string{"design stage", "3", "HTTP 503"} {
				if !strings.Contains(h.finishIn.Error, want) {
					t.Errorf("failure message %q lacks %q", h.finishIn.Error, want)
				}
			}
			if st := h.query(); st.FailureReason != task.ReasonLLMProviderError || st.Status != task.StatusFailed {
				t.Errorf("query state %s/%s", st.Status, st.FailureReason)
			}
			if h.count(task.ActCode) != 0 {
				t.Error("no code should run after the design failed")
			}
		})
	}
}

// TestFailureOfMapsEveryLLMError pins the mapping the final failure_reason
// comes from.
func TestFailureOfMapsEveryLLMError(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{temporal.NewApplicationError("attempt 3 of 3: HTTP 503", task.ErrTypeLLMTransient), task.ReasonLLMProviderError},
		{temporal.NewNonRetryableApplicationError("HTTP 401", task.ErrTypeLLMProvider, nil), task.ReasonLLMProviderError},
		{temporal.NewNonRetryableApplicationError("bad json", task.ErrTypeLLMInvalid, nil), task.ReasonLLMInvalidResponse},
		{temporal.NewApplicationError("boom", "something_else"), task.ReasonInternalError},
		{errors.New("plain"), task.ReasonInternalError},
	}
	for _, c := range cases {
		if got, msg := failureOf(c.err); got != c.want || msg == "" {
			t.Errorf("failureOf(%v) = %q, %q; want %q", c.err, got, msg, c.want)
		}
	}
}

// TestLLMStageTimingOutOnEveryAttempt: a design step that outlives its time
// limit on all three attempts fails the task with llm_provider_error and a
// message naming the step, not internal_error.
func TestLLMStageTimingOutOnEveryAttempt(t *testing.T) {
	h := newHarness(t)
	h.designFn = func() (task.DesignOut, error) {
		return task.DesignOut{}, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil)
	}
	h.run(task.Input{MaxConcurrent: 2})
	if h.count(task.ActDesign) != 3 {
		t.Fatalf("design attempts: %d, want 3", h.count(task.ActDesign))
	}
	if h.finishIn == nil || h.finishIn.FailureReason != task.ReasonLLMProviderError ||
		!strings.Contains(h.finishIn.Error, "Design step's time limit") || !strings.Contains(h.finishIn.Error, "(StartToClose timeout)") {
		t.Fatalf("finish %+v", h.finishIn)
	}
}
