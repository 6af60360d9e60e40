package activities

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/agents"
	"ai-platform/internal/llm"
	"ai-platform/internal/task"
)

const designJSON = `{"summary":"s","components":[{"name":"core","description":"d","files":["notes.py"]}],` +
	`"files":[{"path":"notes.py","component":"core","kind":"source","purpose":"p"}],"dependencies":[]}`

// withFallbacks gives the fixture's activities a provider and fallback
// models.
func withFallbacks(prov llm.Provider, fallbacks ...string) func(*Deps) {
	return func(d *Deps) {
		d.Provider = prov
		d.Agents = &agents.Agents{Provider: prov, MaxTokens: 1024, Fallbacks: fallbacks}
	}
}

// TestFallbackModelOnTheFinalAttempt: 429s on the primary move the call to
// the fallback model only on the retry policy's last attempt; the usage
// names the model used and an llm_fallback event (redacted) says so. An
// error no retry can fix never moves.
func TestFallbackModelOnTheFinalAttempt(t *testing.T) {
	rateLimited := &llm.Error{Status: 429, Retryable: true, Message: "rate limited (key super-secret-value)"}
	cases := []struct {
		name        string
		attempt     int
		primaryErr  error
		wantErrType string // "" = success
		wantModels  []string
	}{
		{name: "final attempt falls back", attempt: 3, primaryErr: rateLimited, wantModels: []string{"", "fb1"}},
		{name: "earlier attempt stays on the primary", attempt: 2, primaryErr: rateLimited,
			wantErrType: task.ErrTypeLLMTransient, wantModels: []string{""}},
		{name: "non-retryable error never falls back", attempt: 3,
			primaryErr:  &llm.Error{Status: 401, Message: "authentication failed"},
			wantErrType: task.ErrTypeLLMProvider, wantModels: []string{""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var models []string
			prov := &scripted{script: func(_ int, req llm.Request) (llm.Response, error) {
				models = append(models, req.Model)
				if req.Model == "" {
					return llm.Response{}, tc.primaryErr
				}
				return llm.Response{Text: designJSON, Model: req.Model, FinishReason: llm.FinishStop,
					Usage: llm.Usage{InputTokens: 100, OutputTokens: 50, TotalTokens: 150}}, nil
			}}
			f := newFixture(t, "A command line tool for notes", "", withFallbacks(prov, "fb1"))
			ctx := withAttempts(context.Background(), tc.attempt, 3)
			_, err := f.a.Design(ctx, task.StageIn{Step: f.step("g0/s7"), Plan: task.Plan{MaxIterations: 3}})
			if strings.Join(models, ",") != strings.Join(tc.wantModels, ",") {
				t.Fatalf("requests on models %q, want %q", models, tc.wantModels)
			}
			fallbacks := eventsOf(t, f.store, f.task.ID, task.EventLLMFallback)
			if tc.wantErrType != "" {
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) || appErr.Type() != tc.wantErrType {
					t.Fatalf("err %v, want type %s", err, tc.wantErrType)
				}
				if len(fallbacks) != 0 {
					t.Fatalf("%d llm_fallback events", len(fallbacks))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(fallbacks) != 1 {
				t.Fatalf("%d llm_fallback events, want 1", len(fallbacks))
			}
			p := payloadOf(t, fallbacks[0])
			if p["stage"] != "design" || p["from"] != "script-model" || p["to"] != "fb1" || p["attempt"] != 3.0 ||
				!strings.Contains(p["error"].(string), "HTTP 429") || strings.Contains(string(fallbacks[0].Payload), "super-secret-value") {
				t.Fatalf("llm_fallback payload %s", fallbacks[0].Payload)
			}
			usage := eventsOf(t, f.store, f.task.ID, task.EventLLMUsage)
			if len(usage) != 1 || payloadOf(t, usage[0])["model"] != "fb1" {
				t.Fatalf("usage events %d, first %s; want one naming fb1", len(usage), usage[0].Payload)
			}
		})
	}
}

// TestRefusalIsFinal: a content-policy refusal ends the stage with
// llm_refused at once: no retry under the retry policy, no fallback.
func TestRefusalIsFinal(t *testing.T) {
	prov := &scripted{script: func(int, llm.Request) (llm.Response, error) {
		return llm.Response{}, &llm.Error{Status: 400, Refused: true, Message: "content_policy_violation"}
	}}
	f := newFixture(t, "A command line tool for notes", "", withFallbacks(prov, "fb1"))
	err := runDesignWithRetries(t, f)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != task.ErrTypeLLMRefused || !appErr.NonRetryable() ||
		!strings.Contains(appErr.Message(), "refused the request at the design stage") {
		t.Fatalf("err %v, want a final llm_refused error", err)
	}
	if prov.requests() != 1 {
		t.Fatalf("%d provider requests, want 1 (no retry, no fallback)", prov.requests())
	}
	// Also on the final attempt with fallbacks configured.
	err = f.a.classifyLLMError("design", 3, 3, &llm.Error{Refused: true, Message: "no"})
	if !errors.As(err, &appErr) || appErr.Type() != task.ErrTypeLLMRefused || !appErr.NonRetryable() {
		t.Fatalf("classified as %v", err)
	}
}

// TestTruncatedReplyIsReported: a design cut off at the token limit is
// continued, and an llm_truncated event says so; every request is charged.
func TestTruncatedReplyIsReported(t *testing.T) {
	prov := &scripted{script: func(n int, req llm.Request) (llm.Response, error) {
		r := llm.Response{Model: "script-model", Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, TotalTokens: 15}}
		if n == 1 {
			r.Text, r.FinishReason = designJSON[:50], llm.FinishLength
		} else {
			r.Text, r.FinishReason = designJSON[50:], llm.FinishStop
		}
		return r, nil
	}}
	f := newFixture(t, "A command line tool for notes", "", withFallbacks(prov))
	out, err := f.a.Design(context.Background(), task.StageIn{Step: f.step("g0/s7"), Plan: task.Plan{MaxIterations: 3}})
	if err != nil || len(out.Files) != 1 || out.TokensIn != 20 {
		t.Fatalf("out %+v err %v", out, err)
	}
	evs := eventsOf(t, f.store, f.task.ID, task.EventLLMTruncated)
	if len(evs) != 1 {
		t.Fatalf("%d llm_truncated events", len(evs))
	}
	p := payloadOf(t, evs[0])
	if p["stage"] != "design" || p["action"] != agents.TruncationContinued || p["requests"] != 2.0 {
		t.Fatalf("llm_truncated payload %v", p)
	}
	if n := len(eventsOf(t, f.store, f.task.ID, task.EventLLMUsage)); n != 2 {
		t.Fatalf("%d llm_usage events, want one per request", n)
	}
}
