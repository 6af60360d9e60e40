package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/llm"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

func replyWith(t *testing.T, v any) llm.Response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return llm.Response{Text: string(b), Model: "script-model", Usage: llm.Usage{InputTokens: 1, OutputTokens: 1, TotalTokens: 2}}
}

// TestOversizedResearchReplyFailsAsInvalid: the reply that broke a task (a
// 3 MB question with 20,000 choices) ends the research stage with
// llm_invalid_response naming the limit, instead of a result over
// Temporal's payload limit that failed the task with Temporal's internal
// message.
func TestOversizedResearchReplyFailsAsInvalid(t *testing.T) {
	choices := make([]string, 20000)
	for i := range choices {
		choices[i] = fmt.Sprintf("option %d", i)
	}
	huge := llm.ResearchReply{Summary: "s", Requirements: []llm.Requirement{{ID: "REQ-001", Text: "count words"}},
		OpenQuestions: []llm.OpenQuestion{{ID: "q", Text: strings.Repeat("Which? ", 3<<20/7), Type: "choice", Choices: choices}}}
	prov := &scripted{script: func(int, llm.Request) (llm.Response, error) { return replyWith(t, huge), nil }}
	f := newFixture(t, "A command line tool that counts words", "", func(d *Deps) { d.Provider = prov })

	out, err := f.a.Research(context.Background(), task.StageIn{Step: f.step("g0/s3"), Plan: task.Plan{MaxQuestions: 3}})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != task.ErrTypeLLMInvalid || !appErr.NonRetryable() {
		t.Fatalf("error %v, want a non-retryable %s", err, task.ErrTypeLLMInvalid)
	}
	if msg := appErr.Message(); !strings.Contains(msg, "open question 1's text") || !strings.Contains(msg, "the limit is 1000") ||
		!strings.Contains(msg, "research stage") || len(msg) > 500 {
		t.Errorf("message %q: want the stage and the limit, briefly", msg)
	}
	if prov.requests() != 2 {
		t.Errorf("%d requests, want the reply and one corrective retry", prov.requests())
	}
	if len(out.OpenQuestions) != 0 {
		t.Errorf("an invalid reply still returned %d questions", len(out.OpenQuestions))
	}
	if _, err := f.store.LatestArtifact(context.Background(), f.task.ID, "research_summary"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an invalid reply was stored as research_summary: %v", err)
	}
}

// TestResearchQuestionsShowNULAsStored: a model question with NUL comes
// back to the workflow spelled as the store keeps it (\x00), so the choice a
// user sees, types and has checked is the same everywhere.
func TestResearchQuestionsShowNULAsStored(t *testing.T) {
	reply := llm.ResearchReply{Summary: "s\x00", Requirements: []llm.Requirement{{ID: "REQ-001", Text: "count\x00words"}},
		OpenQuestions: []llm.OpenQuestion{{ID: "sep", Text: "Separator\x00?", Type: "choice",
			Choices: []string{"tab", "nul \x00"}, Rationale: "why\x00"}}}
	prov := &scripted{script: func(int, llm.Request) (llm.Response, error) { return replyWith(t, reply), nil }}
	f := newFixture(t, "A command line tool that counts words", "", func(d *Deps) { d.Provider = prov })
	out, err := f.a.Research(context.Background(), task.StageIn{Step: f.step("g0/s3"), Plan: task.Plan{MaxQuestions: 3}})
	if err != nil {
		t.Fatal(err)
	}
	want := task.Question{ID: "sep", Text: `Separator\x00?`, Type: "choice", Choices: []string{"tab", `nul \x00`},
		Required: true, Rationale: `why\x00`}
	if len(out.OpenQuestions) != 1 || fmt.Sprint(out.OpenQuestions[0]) != fmt.Sprint(want) {
		t.Fatalf("questions %+v, want %+v", out.OpenQuestions, want)
	}
	art, err := f.store.LatestArtifact(context.Background(), f.task.ID, "research_summary")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(art.Payload), `count\\x00words`) {
		t.Errorf("research_summary %s: want NUL stored as \\x00", art.Payload)
	}
}
