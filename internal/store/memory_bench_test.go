package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// BenchmarkMemoryGetTask is the memory store's read: a lookup and a deep
// copy of the row.
func BenchmarkMemoryGetTask(b *testing.B) {
	m, err := store.NewMemory(nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	tk, err := m.CreateTask(ctx, store.Task{ID: uuid.NewString(), Description: "bench", Status: task.StatusProcessing,
		PendingQuestions: []task.Question{{ID: "scope", Text: "How much?", Type: task.QuestionChoice, Choices: []string{"a", "b"}}},
		ProvidedAnswers:  map[string]any{"scope": "a", "format": "json"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.GetTask(ctx, tk.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryAppendEvent appends events round-robin to 100 tasks with
// JSON persistence on, as a busy store does: every append rewrites and
// fsyncs its task's whole file (B/op grows with the task's history).
func BenchmarkMemoryAppendEvent(b *testing.B) {
	payload := []byte(`{"stage": "implementation", "step": 3, "message": "ran pytest: 12 passed"}`)
	p, err := store.NewPersister(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	m, err := store.NewMemory(p)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ids := make([]string, 100)
	for i := range ids {
		tk, err := m.CreateTask(ctx, store.Task{ID: uuid.NewString(), Description: "bench", Status: task.StatusProcessing})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = tk.ID
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.AppendEvent(ctx, store.Event{ID: uuid.NewString(), TaskID: ids[i%len(ids)], Type: "command_finished", Payload: payload}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
