package api

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// TestAnswersWithNULAre400: an answer holding U+0000 (in its value, in a
// list of choices, or in its id) is refused with a 400 that names it, and no
// signal carries it to the workflow. PostgreSQL cannot keep NUL in text, so
// accepting it would either fail the task or store something the user did
// not type.
func TestAnswersWithNULAre400(t *testing.T) {
	f := newFixture(t, nil)
	f.expectStart()
	id := f.create("k", "a task that needs answers")
	qs := []task.Question{
		{ID: "scope", Type: task.QuestionText, Required: true},
		{ID: "tags", Type: task.QuestionMulti, Choices: []string{"x", "y\x00"}},
	}
	_, _ = f.store.UpdateTask(t.Context(), id, func(row *store.Task) error {
		row.Status, row.PendingQuestions = task.StatusNeedsInput, qs
		return nil
	})
	f.client.On("SignalWorkflow", mock.Anything, task.WorkflowID(id), "", task.SignalInput, mock.Anything).Return(nil)

	cases := []struct {
		name    string
		answers map[string]any
		invalid []string
		message string
	}{
		{"text answer", map[string]any{"scope": "print \x00 please"}, []string{"scope"}, `answers["scope"]`},
		{"choice in a list", map[string]any{"scope": "fine", "tags": []any{"y\x00"}}, []string{"tags"}, `answers["tags"]`},
		{"answer id", map[string]any{"sco\x00pe": "fine"}, []string{"sco\x00pe"}, `answers["sco\x00pe"]`},
		{"several", map[string]any{"scope": "\x00", "tags": []any{"x", "\x00"}}, []string{"scope", "tags"}, `answers["scope"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := f.do("POST", "/api/tasks/"+id+"/input", "k", map[string]any{"answers": c.answers, "auto_resume": true})
			d, _ := detail(t, w).(map[string]any)
			if w.Code != 400 || d["error"] != "invalid_answers" {
				t.Fatalf("status %d, want 400 invalid_answers: %s", w.Code, w.Body)
			}
			msg, _ := d["message"].(string)
			if !strings.Contains(msg, c.message) || !strings.Contains(msg, "NUL") {
				t.Errorf("message %q does not name %s and NUL", msg, c.message)
			}
			var invalid []string
			for _, v := range d["invalid"].([]any) {
				invalid = append(invalid, v.(string))
			}
			if !slices.Equal(invalid, c.invalid) {
				t.Errorf("invalid %q, want %q", invalid, c.invalid)
			}
		})
	}
	f.client.AssertNotCalled(t, "SignalWorkflow", mock.Anything, task.WorkflowID(id), "", task.SignalInput, mock.Anything)

	// The same answers without NUL go through.
	w := f.do("POST", "/api/tasks/"+id+"/input", "k", map[string]any{"answers": map[string]any{"scope": `print \x00 please`}})
	if w.Code != 200 {
		t.Fatalf("an answer with the text \\x00 (no NUL): %d %s", w.Code, w.Body)
	}
}

// TestUserTextWithNULIs400: every other text a request stores or filters
// on refuses U+0000 by name, like the description always did.
func TestUserTextWithNULIs400(t *testing.T) {
	f := newFixture(t, nil)
	f.expectStart()
	id := f.create("k", "a task to read")
	cases := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"description", "POST", "/api/tasks", map[string]any{"description": "print \x00"}, "description"},
		{"codex_version", "POST", "/api/tasks", map[string]any{"description": "ok", "codex_version": "1.0\x00"}, "codex_version"},
		{"user_id", "POST", "/api/tasks", map[string]any{"description": "ok", "user_id": "u\x00"}, "user_id"},
		{"event type", "GET", "/api/tasks/" + id + "/events?type=log%00", nil, "type"},
		{"artifact type", "GET", "/api/tasks/" + id + "/artifacts?type=%00", nil, "type"},
		{"user id in the path", "GET", "/api/users/u%00/tasks", nil, "user_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := f.do(c.method, c.path, "k", c.body)
			d, _ := detail(t, w).(string)
			if w.Code != 400 || d != c.field+" must not contain NUL characters" {
				t.Fatalf("%d %q, want 400 %q", w.Code, d, c.field+" must not contain NUL characters")
			}
		})
	}
}
