package app_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/task"
)

// BenchmarkSlotOverhead measures what the slots semaphore adds to a task's
// start on an idle platform. Each of 20 tasks is created one after the
// other and runs until it asks a question (needs_input, which gives its slot
// back), so every acquisition finds a free slot. From each task's Temporal
// history it takes the slot round trip (AcquireSlot scheduled -> slot-granted
// signal received), and from its events the time from creation to the first
// "processing". Run with:
//
//	go test -run XXX -bench SlotOverhead -benchtime 1x ./internal/app/
func BenchmarkSlotOverhead(b *testing.B) {
	if testing.Short() {
		b.Skip("integration benchmark")
	}
	p := apptest.Start(b, apptest.Options{})
	const n = 20
	var slot, start, prepare []time.Duration
	for b.Loop() {
		slot, start, prepare = nil, nil, nil
		for i := 0; i < n; i++ {
			id := p.CreateTask(b, map[string]any{"description": quotaDescription + " [mock:clarify]", "template_id": "python_cli"})
			p.WaitStatus(b, id, 2*time.Minute, "needs_input")
			s, pr := slotRoundTrip(b, p, id)
			slot, prepare = append(slot, s), append(prepare, pr)
			start = append(start, createToProcessing(b, p, id))
			p.Do(b, http.MethodPost, "/api/tasks/"+id+"/cancel", map[string]any{}, nil)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(median(slot)), "slot-ms/median")
	b.ReportMetric(ms(percentile(slot, 90)), "slot-ms/p90")
	b.ReportMetric(ms(median(start)), "start-ms/median")
	b.ReportMetric(ms(median(prepare)), "prepare-ms/median")
	b.ReportMetric(0, "ns/op")
	b.Logf("over %d tasks: slot round trip median %v (p90 %v); create -> processing median %v (p90 %v); "+
		"Prepare activity median %v", n, median(slot), percentile(slot, 90), median(start), percentile(start, 90), median(prepare))
}

// slotRoundTrip reads the task workflow's history: AcquireSlot scheduled ->
// slot-granted signal, and Prepare scheduled -> completed for comparison.
func slotRoundTrip(b *testing.B, p *apptest.Platform, id string) (slot, prepare time.Duration) {
	b.Helper()
	it := p.Client.GetWorkflowHistory(b.Context(), task.WorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]string{}
	var acquired, granted, prepStart, prepEnd time.Time
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		at := e.GetEventTime().AsTime()
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			name := e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			scheduled[e.GetEventId()] = name
			if name == task.ActAcquireSlot && acquired.IsZero() {
				acquired = at
			}
			if name == task.ActPrepare && prepStart.IsZero() {
				prepStart = at
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if scheduled[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()] == task.ActPrepare && prepEnd.IsZero() {
				prepEnd = at
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			if e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == task.SignalSlotGranted && granted.IsZero() {
				granted = at
			}
		}
	}
	if acquired.IsZero() || granted.IsZero() || prepEnd.IsZero() {
		b.Fatalf("task %s: history lacks the slot or prepare events", id)
	}
	return granted.Sub(acquired), prepEnd.Sub(prepStart)
}

// createToProcessing is TaskCreated -> StageStarted(initializing), from the
// task's events (both written by the platform's own clock).
func createToProcessing(b *testing.B, p *apptest.Platform, id string) time.Duration {
	b.Helper()
	var created, started time.Time
	for _, e := range events(b, p, p.APIKey, id) {
		at, err := time.Parse(time.RFC3339Nano, e.CreatedAt)
		if err != nil {
			b.Fatal(err)
		}
		switch {
		case e.Type == "TaskCreated" && created.IsZero():
			created = at
		case e.Type == "StageStarted" && e.Payload["stage"] == task.StageInitializing && started.IsZero():
			started = at
		}
	}
	if created.IsZero() || started.IsZero() {
		b.Fatalf("task %s: no created/started events", id)
	}
	return started.Sub(created)
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 50) }

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}
