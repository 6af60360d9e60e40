package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/mocks"

	"ai-platform/internal/config"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// benchTask is a completed task as the API serves it most often: a
// description, answered questions and a result.
func benchTask(owner string) store.Task {
	done := time.Date(2026, 5, 1, 10, 3, 0, 0, time.UTC)
	return store.Task{
		ID: uuid.NewString(), UserID: "anonymous", OwnerKeyHash: owner, Status: task.StatusCompleted, Progress: 1,
		Description:  strings.Repeat("A command line tool that counts words and lines in text files. ", 4),
		CurrentStage: task.StageCompleted, CodexVersion: "1.0.0", CodexHash: strings.Repeat("c", 64),
		TemplateID: "python_cli", TemplateHash: strings.Repeat("t", 64),
		PendingQuestions: []task.Question{{ID: "scope", Text: "How much should it do?", Type: task.QuestionChoice,
			Choices: []string{"minimal", "standard", "extended"}, Required: true, Rationale: "The request is short."}},
		ProvidedAnswers: map[string]any{"scope": "standard", "output_format": "json"},
		Result:          json.RawMessage(`{"status":"completed","iterations":4,"files_count":9,"review":{"passed":true,"warnings":2}}`),
		Iterations:      4, MaxIterations: 8, TokensIn: 12345, TokensOut: 6789, FilesCount: 9, ArtifactsCount: 7,
		CreatedAt: done.Add(-3 * time.Minute), UpdatedAt: done, CompletedAt: &done, Version: 42,
	}
}

// BenchmarkTaskViewJSON is the body of GET /api/tasks/{id}: the view and its
// JSON encoding.
func BenchmarkTaskViewJSON(b *testing.B) {
	t := benchTask("owner")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(newTaskView(t, now)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetTaskHandler is GET /api/tasks/{id} through the whole router
// (middleware, API-key authentication, ownership check, view, JSON) on the
// memory store, without the network.
func BenchmarkGetTaskHandler(b *testing.B) {
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	cfg.APIKeyHashSecret = "bench-secret-bench-secret-bench-secret"
	st, err := store.NewMemory(nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := New(Deps{Config: cfg, Store: st, Temporal: &mocks.Client{}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	const key = "bench-key"
	req := httptest.NewRequest(http.MethodGet, "/api/tasks/x", nil)
	req.Header.Set("X-API-Key", key)
	p, aerr := srv.Auth.Authenticate(req)
	if aerr != nil {
		b.Fatal(aerr.Detail)
	}
	tk, err := st.CreateTask(context.Background(), benchTask(p.OwnerKey))
	if err != nil {
		b.Fatal(err)
	}
	req = httptest.NewRequest(http.MethodGet, "/api/tasks/"+tk.ID, nil)
	req.Header.Set("X-API-Key", key)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET: %d %s", w.Code, w.Body)
		}
	}
}
