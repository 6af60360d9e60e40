package agents

import (
	"context"
	"errors"
	"strings"
	"testing"

	"ai-platform/internal/llm"
)

// scripted replies with fixed texts, one per call, and records requests.
type scripted struct {
	replies []string
	reqs    []llm.Request
}

func (s *scripted) Name() string  { return "scripted" }
func (s *scripted) Model() string { return "m" }
func (s *scripted) Complete(_ context.Context, r llm.Request) (llm.Response, error) {
	s.reqs = append(s.reqs, r)
	if len(s.replies) == 0 {
		return llm.Response{}, &llm.Error{Status: 500, Retryable: true, Message: "no more replies"}
	}
	text := s.replies[0]
	s.replies = s.replies[1:]
	return llm.Response{Text: text, Model: "m", Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, TotalTokens: 15}}, nil
}

const goodResearch = `{"summary":"s","requirements":[{"id":"REQ-001","text":"count words"}],"user_stories":[],"assumptions":[],"open_questions":[],"technical_constraints":[]}`

func TestDecodeToleratesFencesAndProse(t *testing.T) {
	cases := []struct {
		text string
		ok   bool
	}{
		{goodResearch, true},
		{"```json\n" + goodResearch + "\n```", true},
		{"Here you go:\n" + goodResearch + "\nThanks!", true},
		{"no json here", false},
		{`{"summary": "unterminated`, false},
	}
	for _, c := range cases {
		var out llm.ResearchReply
		if err := decode(c.text, &out); (err == nil) != c.ok {
			t.Errorf("decode(%q) error %v, want ok=%v", c.text, err, c.ok)
		}
	}
}

func TestOneCorrectiveRetryThenFailure(t *testing.T) {
	ctx := context.Background()
	p := &scripted{replies: []string{"Sure! {broken", goodResearch}}
	a := &Agents{Provider: p, MaxTokens: 100, Temperature: 0.3}
	out, call, err := a.Research(ctx, llm.Brief{Description: "d"}, Turn{Attempt: 1})
	if err != nil || len(out.Requirements) != 1 || call.Calls != 2 || call.Usage.InputTokens != 20 {
		t.Fatalf("out %+v call %+v err %v", out, call, err)
	}
	second := p.reqs[1]
	if len(second.Messages) != 4 || second.Messages[2].Role != "assistant" || !strings.Contains(second.Messages[3].Content, "not usable") {
		t.Fatalf("the corrective request must carry the bad reply and a correction: %+v", second.Messages)
	}
	for _, r := range p.reqs {
		if !r.JSON || r.MaxTokens != 100 || r.Temperature != 0.3 || r.Stage != "research" {
			t.Fatalf("request settings %+v", r)
		}
	}
	// Two bad replies: a clear invalid-reply failure, not a third call.
	p = &scripted{replies: []string{"nope", `{"requirements": []}`, goodResearch}}
	a.Provider = p
	_, call, err = a.Research(ctx, llm.Brief{}, Turn{Attempt: 1})
	if !errors.Is(err, ErrInvalidReply) || call.Calls != 2 || !strings.Contains(err.Error(), "at least one requirement") {
		t.Fatalf("err %v after %d calls", err, call.Calls)
	}
}

func TestValidationRejectsUnsafePlans(t *testing.T) {
	ctx := context.Background()
	bad := `{"summary":"s","components":[],"files":[{"path":"../escape.py","component":"c","kind":"source"}]}`
	dup := `{"summary":"s","components":[],"files":[{"path":"a.py"},{"path":"a.py"}]}`
	check := func(p string) error {
		if strings.Contains(p, "..") {
			return errors.New("parent segments are not allowed")
		}
		return nil
	}
	for _, reply := range []string{bad, dup} {
		a := &Agents{Provider: &scripted{replies: []string{reply, reply}}}
		if _, _, err := a.Design(ctx, llm.Brief{}, Turn{Attempt: 1}, check); !errors.Is(err, ErrInvalidReply) {
			t.Errorf("%s: %v", reply, err)
		}
	}
	a := &Agents{Provider: &scripted{replies: []string{`{"verdict":"maybe"}`, `{"verdict":"approve","issues":[],"warnings":[],"summary":"ok"}`}}}
	if out, _, err := a.Review(ctx, llm.Brief{}, Turn{Attempt: 1}); err != nil || out.Verdict != "approve" {
		t.Fatalf("review: %+v %v", out, err)
	}
}

func TestBeforeCallStopsTheCall(t *testing.T) {
	p := &scripted{replies: []string{goodResearch}}
	a := &Agents{Provider: p}
	quota := errors.New("quota exceeded")
	_, call, err := a.Research(context.Background(), llm.Brief{}, Turn{Attempt: 1, Before: func(context.Context, llm.Usage, llm.Request) error { return quota }})
	if !errors.Is(err, quota) || call.Calls != 0 || len(p.reqs) != 0 {
		t.Fatalf("the quota check must run before the request: %v, %d calls", err, call.Calls)
	}
}

// TestBeforeCallSeesTheConversationsTokens: the check before the corrective
// second request counts what the first one used (it is charged only when the
// stage ends), so a quota cannot be overshot by a retry inside one attempt.
func TestBeforeCallSeesTheConversationsTokens(t *testing.T) {
	p := &scripted{replies: []string{"not json", goodResearch}}
	a := &Agents{Provider: p}
	var seen []int64
	_, call, err := a.Research(context.Background(), llm.Brief{}, Turn{Attempt: 1, Before: func(_ context.Context, pending llm.Usage, _ llm.Request) error {
		seen = append(seen, pending.InputTokens+pending.OutputTokens)
		return nil
	}})
	if err != nil || call.Calls != 2 || len(seen) != 2 || seen[0] != 0 || seen[1] != 15 {
		t.Fatalf("err %v, calls %d, pending before each request %v (want [0 15])", err, call.Calls, seen)
	}
}

func TestProviderErrorsPassThrough(t *testing.T) {
	a := &Agents{Provider: &scripted{}}
	_, _, err := a.Research(context.Background(), llm.Brief{}, Turn{Attempt: 1})
	var pe *llm.Error
	if !errors.As(err, &pe) || !pe.Retryable {
		t.Fatalf("provider error lost: %v", err)
	}
}
