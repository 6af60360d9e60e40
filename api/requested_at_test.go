package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/mocks"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// TestQuestionsRequestedAtIsTheSameLiveOrFromTheStore: /questions reports
// the round's requested_at from its clarification_questions artifact whether
// the live query answers (with the workflow's own, slightly later, clock
// reading) or Temporal is busy and the store answers alone.
func TestQuestionsRequestedAtIsTheSameLiveOrFromTheStore(t *testing.T) {
	const asked = "2026-11-30T10:00:00.000000Z"
	qs := []task.Question{{ID: "scope", Type: task.QuestionText, Required: true}}
	setup := func(t *testing.T) (*fixture, string) {
		f := newFixture(t, nil)
		f.expectStart()
		id := f.create("k", "a task")
		_, _ = f.store.UpdateTask(t.Context(), id, func(row *store.Task) error {
			row.Status, row.PendingQuestions = task.StatusNeedsInput, qs
			return nil
		})
		payload, _ := json.Marshal(map[string]any{"questions": qs, "requested_at": asked, "round": 1})
		if _, err := f.store.AppendArtifact(t.Context(), store.Artifact{ID: "0b7d6e1c-0000-4000-8000-000000000001", TaskID: id,
			Type: "clarification_questions", ProducedBy: "planner", Payload: payload, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		return f, id
	}
	requestedAt := func(t *testing.T, f *fixture, id string) any {
		w := f.do("GET", "/api/tasks/"+id+"/questions", "k", nil)
		var body map[string]any
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &body) != nil {
			t.Fatalf("questions: %d %s", w.Code, w.Body)
		}
		return body["requested_at"]
	}

	live, id := setup(t)
	val := &mocks.Value{}
	val.On("Get", mock.Anything).Run(func(args mock.Arguments) {
		*(args.Get(0).(*task.State)) = task.State{Status: task.StatusNeedsInput, PendingQuestions: qs,
			RequestedAt: "2026-11-30T10:00:00.120000Z"}
	}).Return(nil)
	live.client.On("QueryWorkflow", mock.Anything, task.WorkflowID(id), "", task.QueryState).Return(val, nil)
	if got := requestedAt(t, live, id); got != asked {
		t.Errorf("live: requested_at %v, want %s", got, asked)
	}

	busy, id := setup(t)
	busy.client.On("QueryWorkflow", mock.Anything, task.WorkflowID(id), "", task.QueryState).
		Return(nil, serviceerror.NewUnavailable("busy"))
	if got := requestedAt(t, busy, id); got != asked {
		t.Errorf("from the store: requested_at %v, want %s", got, asked)
	}
}
