package durability_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/task"
)

// questionsView is GET /api/tasks/{id}/questions.
type questionsView struct {
	Status           string           `json:"status"`
	PendingQuestions []map[string]any `json:"pending_questions"`
	ProvidedAnswers  map[string]any   `json:"provided_answers"`
	ResumeFromStage  *string          `json:"resume_from_stage"`
	RequestedAt      *string          `json:"requested_at"`
	Missing          []string         `json:"missing"`
}

func (q questionsView) ids() []string {
	var out []string
	for _, p := range q.PendingQuestions {
		id, _ := p["id"].(string)
		out = append(out, id)
	}
	return out
}

func (s *stack) questions(id string) questionsView {
	s.t.Helper()
	var q questionsView
	if code, raw := s.api.Do(s.t, http.MethodGet, "/api/tasks/"+id+"/questions", nil, &q); code != http.StatusOK {
		s.t.Fatalf("questions: %d %s", code, raw)
	}
	return q
}

// post sends a JSON body and fails the test unless the status is want.
func (s *stack) post(path string, body any, want int) []byte {
	s.t.Helper()
	code, raw := s.api.Do(s.t, http.MethodPost, path, body, nil)
	if code != want {
		s.t.Fatalf("POST %s: %d %s, want %d", path, code, raw, want)
	}
	return raw
}

// fileText reads one stored file of a task.
func (s *stack) fileText(id, path string) string {
	s.t.Helper()
	f, err := s.api.App.Store.GetFile(ctxT(s.t), id, path)
	if err != nil {
		s.t.Fatalf("file %s: %v", path, err)
	}
	return string(f.Content)
}

// TestRestartEverythingWhileWaiting stops the API, the worker and the
// Temporal dev server while a task waits for answers, starts them again on
// the same database file, and answers and resumes over HTTP: the same
// workflow run carries on to completed, and the answers reach the files.
func TestRestartEverythingWhileWaiting(t *testing.T) {
	s := newStack(t, nil)
	id := s.create("Word counter [mock:clarify]", "python_cli")
	s.api.WaitStatus(t, id, 2*time.Minute, "needs_input")
	before := s.questions(id)
	if !slices.Equal(before.ids(), []string{"task_details", "scope", "output_format"}) || before.RequestedAt == nil {
		t.Fatalf("questions before the restart: %+v", before)
	}
	wfID := task.WorkflowID(id)
	firstRun := runs(t, s.api.Client, wfID)

	s.stopAPI()
	s.stopWorker()
	s.stopDevServer()
	s.startDevServer()
	s.startWorker()
	s.startAPI()

	after := s.questions(id)
	if after.Status != "needs_input" || !slices.Equal(after.ids(), before.ids()) || *after.RequestedAt != *before.RequestedAt {
		t.Fatalf("questions after the restart: %+v\nbefore: %+v", after, before)
	}
	s.post("/api/tasks/"+id+"/resume", nil, http.StatusBadRequest) // nothing answered yet
	s.post("/api/tasks/"+id+"/input", map[string]any{"answers": map[string]any{
		"task_details": "Count words and lines per file and print a grand total", "scope": "minimal", "output_format": "json",
	}}, http.StatusOK)
	s.post("/api/tasks/"+id+"/resume", nil, http.StatusOK)
	s.api.WaitStatus(t, id, 3*time.Minute, "completed")

	if got := runs(t, s.api.Client, wfID); !slices.Equal(got, firstRun) {
		t.Errorf("runs before the restart %v, at the end %v: the waiting run should have carried on", firstRun, got)
	}
	if txt := s.fileText(id, "README.md"); !strings.Contains(txt, "Chosen scope: minimal.") {
		t.Errorf("the scope answer did not reach README.md:\n%s", txt)
	}
	if txt := s.fileText(id, "requirements.md"); !strings.Contains(txt, "print a grand total") {
		t.Errorf("the task_details answer did not reach requirements.md:\n%s", txt)
	}
	o := collect(t, s.api.App.Store, id)
	checkExactlyOnce(t, o)
	types := o.eventTypes()
	if types["clarification_requested"] != 1 || types["clarification_received"] != 1 || types["task_resumed"] != 1 {
		t.Errorf("clarification events %v", types)
	}
}
