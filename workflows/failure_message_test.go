package workflows

import (
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/task"
)

// internalLeaks are what a user must never read in a task's error: Temporal's
// activity error text with its ids and the worker's identity (PID and host
// name), and the database driver's message.
var internalLeaks = []string{"activity error", "scheduledEventID", "startedEventID", "identity", "4242", "worker-host",
	"SQLSTATE", "22P05", "exceeds size limit", "errorString", "wrapError"}

func wantNoLeak(t *testing.T, msg string) {
	t.Helper()
	for _, leak := range internalLeaks {
		if strings.Contains(msg, leak) {
			t.Errorf("the user's message %q carries %q", msg, leak)
		}
	}
}

// activityFailure builds the error a workflow gets when an activity fails,
// through the SDK's own failure converter, as Temporal delivers it.
func activityFailure(activity string, cause *failurepb.Failure) error {
	return temporal.GetDefaultFailureConverter().FailureToError(&failurepb.Failure{
		Message: "activity error",
		FailureInfo: &failurepb.Failure_ActivityFailureInfo{ActivityFailureInfo: &failurepb.ActivityFailureInfo{
			ScheduledEventId: 11, StartedEventId: 12, Identity: "4242@worker-host@",
			ActivityType: &commonpb.ActivityType{Name: activity}, ActivityId: "11",
			RetryState: enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE,
		}},
		Cause: cause,
	})
}

// TestFailureOfHidesInternalErrors: what the activities classified keeps its
// message; everything else, above all the result over Temporal's payload
// limit that the server turns into a failure and a driver error quoted by an
// activity, becomes a short generic message naming the step and the reason.
func TestFailureOfHidesInternalErrors(t *testing.T) {
	huge := strings.Repeat("postgres: append event: ERROR: unsupported Unicode escape sequence (SQLSTATE 22P05) ", 30000)
	cases := []struct {
		name       string
		err        error
		reason     string
		wantInMsg  string
		keepsWords bool
	}{
		{"result over the payload limit", activityFailure(task.ActResearch, &failurepb.Failure{
			Message:     "Complete result exceeds size limit.",
			FailureInfo: &failurepb.Failure_ServerFailureInfo{ServerFailureInfo: &failurepb.ServerFailureInfo{NonRetryable: true}},
		}), task.ReasonInternalError, "Research step", false},
		{"huge driver error from an activity", activityFailure(task.ActFinish, &failurepb.Failure{
			Message: huge,
			FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
				Type: "*fmt.wrapError"}},
		}), task.ReasonInternalError, "Finish step", false},
		{"an activity's own internal_error type", activityFailure(task.ActReview, &failurepb.Failure{
			Message: huge,
			FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
				Type: task.ReasonInternalError}},
		}), task.ReasonInternalError, "Review step", false},
		{"non-LLM step timing out", activityFailure(task.ActReview, &failurepb.Failure{
			Message: "activity StartToClose timeout",
			FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{
				TimeoutType: enumspb.TIMEOUT_TYPE_START_TO_CLOSE}},
		}), task.ReasonInternalError, "The Review step did not finish within its time limit (StartToClose timeout)", false},
		{"the model's critique timing out", activityFailure(task.ActReviewCritique, &failurepb.Failure{
			Message: "activity StartToClose timeout",
			FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{
				TimeoutType: enumspb.TIMEOUT_TYPE_START_TO_CLOSE}},
		}), task.ReasonLLMProviderError, "did not answer within the ReviewCritique step's time limit", false},
		{"the review's commands timing out", activityFailure(task.ActReviewChecks, &failurepb.Failure{
			Message: "activity StartToClose timeout",
			FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{
				TimeoutType: enumspb.TIMEOUT_TYPE_START_TO_CLOSE}},
		}), task.ReasonCommandTimeout, "review's commands did not finish", false},
		{"plain error", errors.New(huge), task.ReasonInternalError, "internal error", false},
		{"classified failure", activityFailure(task.ActDesign, &failurepb.Failure{
			Message: "invalid model reply at the design stage: \"files\" has 301 entries; the limit is 300",
			FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
				Type: task.ErrTypeLLMInvalid, NonRetryable: true}},
		}), task.ReasonLLMInvalidResponse, `"files" has 301 entries; the limit is 300`, true},
		{"the workflow's own words", pipelineFailure(task.ReasonInternalError, "the codex has no design stage"),
			task.ReasonInternalError, "the codex has no design stage", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reason, msg := failureOf(c.err)
			if reason != c.reason || !strings.Contains(msg, c.wantInMsg) {
				t.Fatalf("failureOf = %q, %q; want %q and a message with %q", reason, msg, c.reason, c.wantInMsg)
			}
			wantNoLeak(t, msg)
			if len(msg) > maxFailureMessage+len("…") {
				t.Errorf("message is %d bytes", len(msg))
			}
			if !c.keepsWords && !strings.Contains(msg, task.ReasonInternalError) && !strings.Contains(msg, "time limit") {
				t.Errorf("message %q does not give the reason", msg)
			}
		})
	}
	// A classified message that quotes too much is cut, not passed whole.
	long := temporal.NewNonRetryableApplicationError(strings.Repeat("é", 5000), task.ErrTypeLLMInvalid, nil)
	if _, msg := failureOf(long); len(msg) > maxFailureMessage+len("…") || !strings.HasSuffix(msg, "é…") {
		t.Errorf("a long classified message comes out %d bytes, ending %q", len(msg), msg[len(msg)-8:])
	}
}

// TestInternalActivityErrorIsNotShown: an activity failing with a huge
// internal error on every attempt fails the task with internal_error and a
// short generic message; neither the task's error (Finish) nor the
// workflow's failure carries the activity's text.
func TestInternalActivityErrorIsNotShown(t *testing.T) {
	h := newHarness(t)
	// ~260 KB: far over any message a user should read, small enough that
	// the SDK test environment handles it within its deadlock detector.
	huge := strings.Repeat("postgres: append artifact: ERROR: unsupported Unicode escape sequence (SQLSTATE 22P05) ", 3000)
	h.designFn = func() (task.DesignOut, error) { return task.DesignOut{}, errors.New(huge) }
	h.run(task.Input{MaxConcurrent: 2})
	if h.finishIn == nil || h.finishIn.Status != task.StatusFailed || h.finishIn.FailureReason != task.ReasonInternalError {
		t.Fatalf("finish %+v (workflow error %.300v)", h.finishIn, h.env.GetWorkflowError())
	}
	msg := h.finishIn.Error
	if !strings.Contains(msg, "Design step") || len(msg) > 200 {
		t.Errorf("task error %q: want a short message naming the Design step", msg)
	}
	wantNoLeak(t, msg)
	var appErr *temporal.ApplicationError
	if err := h.env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != task.ReasonInternalError {
		t.Fatalf("workflow error %v", err)
	} else {
		wantNoLeak(t, appErr.Message())
	}
}
