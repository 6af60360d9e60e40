package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"ai-platform/internal/llm"
)

// hugeQuestion is the reply that broke a task: one open question of 3 MB
// with 20,000 choices, far over Temporal's 2 MB payload limit once the
// research activity hands it to the workflow.
func hugeQuestion() string {
	choices := make([]string, 20000)
	for i := range choices {
		choices[i] = fmt.Sprintf("choice %d", i)
	}
	return mustReply(llm.ResearchReply{
		Summary:      "s",
		Requirements: []llm.Requirement{{ID: "REQ-001", Text: "count words"}},
		OpenQuestions: []llm.OpenQuestion{{ID: "q", Text: strings.Repeat("Which one? ", 3<<20/11),
			Type: "choice", Choices: choices}},
	})
}

func mustReply(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func research(mut func(*llm.ResearchReply)) string {
	r := llm.ResearchReply{Summary: "s", Requirements: []llm.Requirement{{ID: "REQ-001", Text: "count words"}}}
	mut(&r)
	return mustReply(r)
}

func design(mut func(*llm.DesignReply)) string {
	r := llm.DesignReply{Summary: "s", Files: []llm.DesignFile{{Path: "app.py", Component: "App", Kind: "source"}}}
	mut(&r)
	return mustReply(r)
}

func code(mut func(*llm.CodeReply)) string {
	r := llm.CodeReply{Summary: "s", Files: []llm.FileContent{{Path: "app.py", Content: "print(1)\n"}}}
	mut(&r)
	return mustReply(r)
}

func review(mut func(*llm.ReviewReply)) string {
	r := llm.ReviewReply{Verdict: "approve", Summary: "ok"}
	mut(&r)
	return mustReply(r)
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestOversizedRepliesAreInvalid: a reply over any bound of limits.go is an
// invalid reply like any other: one corrective retry that names the bound,
// then ErrInvalidReply (llm_invalid_response) with the same words, so the
// workflow never receives an activity result Temporal would refuse.
func TestOversizedRepliesAreInvalid(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name  string
		stage string
		reply string
		want  string
	}{
		{"3 MB question with 20,000 choices", "research", hugeQuestion(),
			fmt.Sprintf("open question 1's text is %d characters; the limit is %d", 3<<20/11*11, MaxQuestionChars)},
		{"20,000 choices", "research", research(func(r *llm.ResearchReply) {
			r.OpenQuestions = []llm.OpenQuestion{{ID: "q", Text: "which?", Type: "choice", Choices: repeat("c", 20000)}}
		}), `open question 1's "choices" has 20000 entries; the limit is 20`},
		{"too many questions", "research", research(func(r *llm.ResearchReply) {
			r.OpenQuestions = make([]llm.OpenQuestion, MaxOpenQuestions+1)
		}), `"open_questions" has 21 entries; the limit is 20`},
		{"long choice", "research", research(func(r *llm.ResearchReply) {
			r.OpenQuestions = []llm.OpenQuestion{{Text: "which?", Choices: []string{"a", long(MaxChoiceChars + 1)}}}
		}), "open question 1's choice 2 is 201 characters; the limit is 200"},
		{"long research summary", "research", research(func(r *llm.ResearchReply) { r.Summary = long(MaxSummaryChars + 1) }),
			`"summary" is 10001 characters; the limit is 10000`},
		{"too many requirements", "research", research(func(r *llm.ResearchReply) {
			r.Requirements = make([]llm.Requirement, MaxListItems+1)
		}), `"requirements" has 201 entries; the limit is 200`},
		{"too many planned files", "design", design(func(r *llm.DesignReply) {
			r.Files = make([]llm.DesignFile, MaxPlannedFiles+1)
		}), `"files" has 301 entries; the limit is 300`},
		{"long component name", "design", design(func(r *llm.DesignReply) { r.Files[0].Component = long(5 << 20) }),
			"planned file 1's component is 5242880 characters; the limit is 100"},
		{"long planned path", "design", design(func(r *llm.DesignReply) { r.Files[0].Path = long(MaxPathChars + 1) }),
			"planned file 1's path is 257 characters; the limit is 256"},
		{"too many code files", "code", code(func(r *llm.CodeReply) {
			r.Files = make([]llm.FileContent, MaxReplyFiles+1)
		}), `"files" has 101 entries; the limit is 100`},
		{"too many issues", "review", review(func(r *llm.ReviewReply) { r.Issues = repeat("bad", MaxListItems+1) }),
			`"issues" has 201 entries; the limit is 200`},
		{"long warning", "review", review(func(r *llm.ReviewReply) { r.Warnings = []string{long(MaxItemChars + 1)} }),
			`"warnings" item 1 is 2001 characters; the limit is 2000`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &scripted{replies: []string{c.reply, c.reply}}
			a := &Agents{Provider: p}
			ctx := context.Background()
			var err error
			var call Call
			switch c.stage {
			case "research":
				_, call, err = a.Research(ctx, llm.Brief{}, Turn{Attempt: 1})
			case "design":
				_, call, err = a.Design(ctx, llm.Brief{}, Turn{Attempt: 1}, func(string) error { return nil })
			case "code":
				_, call, err = a.Code(ctx, llm.Brief{}, Turn{Attempt: 1}, func(llm.FileContent) error { return nil })
			case "review":
				_, call, err = a.Review(ctx, llm.Brief{}, Turn{Attempt: 1})
			}
			if !errors.Is(err, ErrInvalidReply) || call.Calls != 2 {
				t.Fatalf("err %v after %d calls, want ErrInvalidReply after a corrective retry", err, call.Calls)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name the limit %q", err, c.want)
			}
			if len(err.Error()) > 500 {
				t.Errorf("error is %d bytes; it must not quote the reply", len(err.Error()))
			}
			correction := p.reqs[1].Messages[len(p.reqs[1].Messages)-1].Content
			if !strings.Contains(correction, c.want) {
				t.Errorf("the corrective request %q does not name the limit", correction)
			}
		})
	}
}

// TestRepliesAtTheLimitsPass: exactly at every bound is still a valid reply.
func TestRepliesAtTheLimitsPass(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	qs := make([]llm.OpenQuestion, MaxOpenQuestions)
	for i := range qs {
		qs[i] = llm.OpenQuestion{ID: long(MaxNameChars), Text: long(MaxQuestionChars), Type: "choice",
			Choices: repeat(long(MaxChoiceChars), MaxChoices), Rationale: long(MaxRationaleChars)}
	}
	reply := research(func(r *llm.ResearchReply) { r.Summary, r.OpenQuestions = long(MaxSummaryChars), qs })
	a := &Agents{Provider: &scripted{replies: []string{reply}}}
	out, call, err := a.Research(context.Background(), llm.Brief{}, Turn{Attempt: 1})
	if err != nil || call.Calls != 1 || len(out.OpenQuestions) != MaxOpenQuestions {
		t.Fatalf("a reply at the limits: %v after %d calls", err, call.Calls)
	}
}

func TestExcerptQuotesOnlyTheStart(t *testing.T) {
	if got := excerpt("short"); got != `"short"` {
		t.Errorf("excerpt(short) = %s", got)
	}
	got := excerpt(strings.Repeat("é", 5000))
	if want := fmt.Sprintf("%q…", strings.Repeat("é", excerptChars)); got != want {
		t.Errorf("excerpt of a long text = %s, want %s", got, want)
	}
}
