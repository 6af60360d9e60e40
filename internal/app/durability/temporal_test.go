package durability_test

import (
	"context"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// history returns the events of one run (the latest when runID is empty).
func history(t *testing.T, c client.Client, wfID, runID string) []*historypb.HistoryEvent {
	t.Helper()
	ctx := ctxT(t)
	it := c.GetWorkflowHistory(ctx, wfID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s/%s: %v", wfID, runID, err)
		}
		out = append(out, e)
	}
	return out
}

// runs returns the run ids of a workflow id's latest chain, first to last,
// by following continue-as-new from the first run.
func runs(t *testing.T, c client.Client, wfID string) []string {
	t.Helper()
	desc, err := c.DescribeWorkflow(ctxT(t), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	run := info.GetFirstRunId()
	if run == "" {
		run = info.GetExecution().GetRunId()
	}
	var out []string
	for run != "" && len(out) < 1000 {
		out = append(out, run)
		evs := history(t, c, wfID, run)
		last := evs[len(evs)-1]
		run = last.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
	return out
}

// attempts maps each activity type of a history to the highest attempt
// that started; local activities are not included.
func attempts(events []*historypb.HistoryEvent) map[string]int {
	types := map[int64]string{}
	out := map[string]int{}
	for _, e := range events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[e.EventId] = a.GetActivityType().GetName()
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			typ := types[a.GetScheduledEventId()]
			out[typ] = max(out[typ], int(a.GetAttempt()))
		}
	}
	return out
}

// startedActivity reports whether an activity of type typ has been picked
// up by a worker and is running now, with its attempt.
func startedActivity(ctx context.Context, c client.Client, wfID, typ string) (int32, bool) {
	desc, err := c.DescribeWorkflow(ctx, wfID, "")
	if err != nil {
		return 0, false
	}
	for _, a := range desc.RawResponse.GetPendingActivities() {
		if a.GetActivityType().GetName() == typ && a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
			return a.GetAttempt(), true
		}
	}
	return 0, false
}
