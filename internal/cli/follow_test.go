package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTask is a server whose task asks two questions, rejects the first
// text answer, and completes once answered. It has no WebSocket, so the
// client must fall back to polling.
type fakeTask struct {
	mu      sync.Mutex
	phase   string // processing -> needs_input -> queued -> completed
	gets    int
	inputs  []map[string]any
	wsTries int
}

func (f *fakeTask) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	base := "/api/tasks/" + someID
	switch {
	case strings.HasPrefix(r.URL.Path, "/ws/"):
		f.wsTries++
		deny(w, 404, "Not found")
	case r.URL.Path == base && r.Method == http.MethodGet:
		f.gets++
		switch {
		case f.phase == "processing" && f.gets > 1:
			f.phase = "needs_input"
		case f.phase == "queued":
			f.phase = "completed"
		}
		stage := map[string]string{"processing": "research", "needs_input": "needs_input", "queued": "clarification_resume",
			"completed": "completed"}[f.phase]
		progress := map[string]float64{"processing": 0.2, "needs_input": 0.2, "queued": 0.2, "completed": 1}[f.phase]
		_ = json.NewEncoder(w).Encode(map[string]any{"id": someID, "status": f.phase, "current_stage": stage,
			"progress": progress, "files_count": 3, "iterations": 1, "max_iterations": 12, "time_taken_seconds": 4.2,
			"result": map[string]any{"review_summary": map[string]any{"status": "approved"}}})
	case r.URL.Path == base+"/questions":
		pending := []map[string]any{
			{"id": "style", "text": "Which style?", "type": "choice", "choices": []string{"plain", "fancy"}, "required": true, "rationale": "It shapes the output."},
			{"id": "details", "text": "What else?", "type": "text", "required": true},
		}
		if f.phase != "needs_input" {
			pending = nil
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": f.phase, "pending_questions": pending,
			"provided_answers": map[string]any{}, "resume_from_stage": "design", "requested_at": "2026-01-01T00:00:00Z"})
	case r.URL.Path == base+"/input" && r.Method == http.MethodPost:
		var body struct {
			Answers    map[string]any `json:"answers"`
			AutoResume bool           `json:"auto_resume"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.inputs = append(f.inputs, body.Answers)
		if d, _ := body.Answers["details"].(string); strings.Contains(d, "secret") {
			w.WriteHeader(400)
			_ = json.NewEncoder(w).Encode(map[string]any{"detail": map[string]any{"error": "invalid_answers",
				"message": "Some answers do not fit the pending questions", "invalid": []string{"details"},
				"problems": map[string]string{"details": "must not contain secrets"}}})
			return
		}
		if !body.AutoResume {
			deny(w, 500, "auto_resume expected")
			return
		}
		f.phase = "queued"
		_ = json.NewEncoder(w).Encode(map[string]any{"task_id": someID, "status": "queued"})
	default:
		deny(w, 404, "Not found")
	}
}

func TestAnswerReasksWhatTheServerRejects(t *testing.T) {
	fake := &fakeTask{phase: "needs_input"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	env := envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL, "AIPLATFORM_API_KEY": "k"})
	r := runCLI(t, env, "3\nfancy\nmy secret plan\nshow the totals\n", "task", "answer", someID)
	expect(t, r, ExitOK, "[1/2] Which style? (required)", "Why: It shapes the output.", "1) plain", "2) fancy",
		"3 is not a choice: enter a number from 1 to 2", "The server did not accept some answers:",
		"details: must not contain secrets", "[1/1] What else?", "Answers sent; the task resumes.")
	fake.mu.Lock()
	inputs := fake.inputs
	fake.mu.Unlock()
	if len(inputs) != 2 || inputs[0]["style"] != "fancy" || len(inputs[1]) != 1 || inputs[1]["details"] != "show the totals" {
		t.Fatalf("answers sent: %v", inputs)
	}
}

func TestFollowWithoutWebSocket(t *testing.T) {
	fake := &fakeTask{phase: "processing"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	env := envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL, "AIPLATFORM_API_KEY": "k"})
	// follow is what create --follow runs after creating the task.
	a := &app{stdin: newLines(strings.NewReader("2\nall of it\n")), in: nil, env: env}
	var out strings.Builder
	a.stdout, a.stderr = &out, &out
	c, err := a.newClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.follow(t.Context(), c, someID); err != nil {
		t.Fatalf("follow: %v\n%s", err, out.String())
	}
	for _, want := range []string{"[ 20%] research", "[ 20%] needs_input", "Which style?", "Answers sent",
		"[100%] completed", "completed in 4.2s: 3 files, 1 iteration(s), review approved"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.wsTries != 1 || len(fake.inputs) != 1 {
		t.Errorf("websocket tries %d, inputs %v", fake.wsTries, fake.inputs)
	}
}

func TestInterruptedFollowExits130(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ws/") {
			deny(w, 404, "Not found")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": someID, "status": "processing", "current_stage": "design", "progress": 0.4})
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel) // the user presses Ctrl-C
	var out, errOut strings.Builder
	code := Run(ctx, []string{"task", "logs", someID, "--follow"}, strings.NewReader(""), &out, &errOut,
		envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL, "AIPLATFORM_API_KEY": "k"}))
	if code != ExitInterrupted || !strings.Contains(errOut.String(), "interrupted") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}
