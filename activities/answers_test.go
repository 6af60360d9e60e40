package activities

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// TestRecordAnswersKeepsLaterAnswersOfTheRow: the API stores each /input's
// merged answers in the row before it signals, so by the time the workflow
// records the first of two quick /inputs the row holds both. Recording a
// signal the API recorded must leave them (a /resume at that moment checks
// the row for missing answers); a signal nobody recorded (an API of an
// earlier release) writes its merge as before. The event is appended either
// way.
func TestRecordAnswersKeepsLaterAnswersOfTheRow(t *testing.T) {
	both := map[string]any{"task_details": "count words", "scope": "large"}
	first := map[string]any{"task_details": "count words"}
	for _, tc := range []struct {
		name     string
		recorded bool
		want     map[string]any
	}{
		{"recorded by the API", true, both},
		{"not recorded", false, first},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "Word counter", "python_cli", nil)
			ctx := context.Background()
			if _, err := f.store.UpdateTask(ctx, f.task.ID, func(tk *store.Task) error {
				tk.ProvidedAnswers = both
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			err := f.a.RecordAnswers(ctx, task.AnswersIn{Step: f.step("gate/1"), Answers: first, Merged: first,
				ReceivedAt: "2026-12-07T00:00:00.000000Z", Recorded: tc.recorded})
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.store.GetTask(ctx, f.task.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.ProvidedAnswers, tc.want) {
				t.Fatalf("row answers %v, want %v", got.ProvidedAnswers, tc.want)
			}
			evs, err := f.store.ListEvents(ctx, f.task.ID, store.ListOptions{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(evs.Items, func(e store.Event) bool { return e.Type == task.EventClarificationReceived }) {
				t.Fatalf("no %s event: %+v", task.EventClarificationReceived, evs.Items)
			}
		})
	}
}
