package activities

import (
	"strings"
	"testing"

	"ai-platform/internal/project"
	"ai-platform/internal/task"
)

// TestClarifySavesTheSnapshot: a task that starts waiting for answers (for
// days, maybe) has a snapshot that says so; a task with nothing to ask keeps
// its snapshot as it was.
func TestClarifySavesTheSnapshot(t *testing.T) {
	for _, c := range []struct {
		desc  string
		asked bool
	}{{"too short", true}, {"A command line tool that counts words and lines in text files", false}} {
		f := newFixture(t, c.desc, "", nil)
		qs, err := f.a.Clarify(t.Context(), task.ClarifyIn{Step: f.step("c1"), Plan: task.Plan{MaxQuestions: 3}, Round: 1})
		if err != nil {
			t.Fatal(err)
		}
		s, err := project.LoadSnapshot(t.Context(), f.store, f.task.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.State == "clarification"; got != c.asked || (len(qs) > 0) != c.asked {
			t.Fatalf("%q: %d questions, snapshot state %q", c.desc, len(qs), s.State)
		}
		if c.asked && (len(s.History) == 0 || !strings.Contains(s.History[len(s.History)-1].Note, "asked 1 question")) {
			t.Fatalf("snapshot history %+v", s.History)
		}
	}
}
