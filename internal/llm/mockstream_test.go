package llm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestMockChunks(t *testing.T) {
	for _, text := range []string{"", "short", strings.Repeat("abcdefgh", 40), strings.Repeat("é✓🙂x", 50)} {
		chunks := mockChunks(text)
		if strings.Join(chunks, "") != text {
			t.Fatalf("chunks of %q do not join back", text)
		}
		for i, c := range chunks {
			if !utf8.ValidString(c) {
				t.Errorf("chunk %d %q splits a rune", i, c)
			}
			// 16..48 bytes, plus up to 3 bytes to finish a rune; the last
			// chunk may be shorter.
			if len(c) > 48+3 || len(c) < 16 && i != len(chunks)-1 {
				t.Errorf("chunk %d is %d bytes", i, len(c))
			}
		}
	}
}

func TestMockStreams(t *testing.T) {
	for _, stage := range []string{"research", "design", "code", "review"} {
		t.Run(stage, func(t *testing.T) {
			p, err := New(Settings{Model: "gpt-test", MockStreamDelay: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			req := briefRequest(t, Brief{Stage: stage, Description: "A word counter in Python."})
			plain, err := p.Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var rec recorder
			req.Sink = rec.sink
			start := time.Now()
			streamed, err := p.Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if streamed != plain || plain.FinishReason != FinishStop || plain.Model != "gpt-test" {
				t.Errorf("streamed response %+v differs from %+v", streamed, plain)
			}
			text, end := rec.check(t)
			if text != plain.Text || end.Usage != plain.Usage || end.FinishReason != FinishStop || rec.got()[0].Model != "gpt-test" {
				t.Errorf("sink text equal %v, end %+v", text == plain.Text, end)
			}
			deltas := len(rec.got()) - 2
			if deltas < len(plain.Text)/48 {
				t.Errorf("%d deltas for %d bytes", deltas, len(plain.Text))
			}
			// The delay paces the chunks (deltas-1 pauses of 1 ms).
			if took := time.Since(start); took < time.Duration(deltas-1)*time.Millisecond {
				t.Errorf("%d chunks took %s", deltas, took)
			}
		})
	}
}

func TestMockStreamCancelled(t *testing.T) {
	p, err := New(Settings{MockStreamDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	req := briefRequest(t, Brief{Stage: "design", Description: "A word counter."})
	var rec recorder
	req.Sink = rec.sink
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Millisecond)
	defer cancel()
	resp, err := p.Complete(ctx, req)
	if !errors.Is(err, context.DeadlineExceeded) || resp.Text != "" {
		t.Fatalf("got %+v %v, want the deadline and no text", resp, err)
	}
	text, end := rec.check(t)
	if text == "" || resp.Usage.OutputTokens <= 0 || resp.Usage.OutputTokens != int64(len(strings.Fields(text))) || end.Usage != resp.Usage {
		t.Errorf("streamed %q, usage %+v, end %+v: want usage of what was streamed", text, resp.Usage, end)
	}
}

func TestMarkerRefuse(t *testing.T) {
	p := NewMock("m")
	for _, stage := range []string{"research", "design", "review"} {
		if _, err := p.Complete(context.Background(), briefRequest(t, Brief{Stage: stage, Description: "x [mock:refuse]"})); err != nil {
			t.Errorf("refuse broke %s: %v", stage, err)
		}
	}
	var rec recorder
	req := briefRequest(t, Brief{Stage: "code", Description: "x [mock:refuse]"})
	req.Sink = rec.sink
	resp, err := p.Complete(context.Background(), req)
	if !IsRefusal(err) || IsRetryable(err) || !strings.Contains(err.Error(), "refused") || resp.Text != "" {
		t.Errorf("refuse: %+v %v, want a non-retryable refusal", resp, err)
	}
	if _, end := rec.check(t); end.FinishReason != FinishContentFilter {
		t.Errorf("end %+v", end)
	}
}

func TestMarkerRateLimitPrimary(t *testing.T) {
	p := NewMock("primary")
	for _, tc := range []struct {
		stage, model string
		limited      bool
	}{
		{"research", "", true},
		{"code", "primary", true},
		{"design", "fallback-1", false},
		{"code", "fallback-1", false},
	} {
		req := briefRequest(t, Brief{Stage: tc.stage, Description: "x [mock:rate-limit-primary]"})
		req.Model = tc.model
		resp, err := p.Complete(context.Background(), req)
		var e *Error
		if tc.limited {
			if !errors.As(err, &e) || e.Status != 429 || !IsRetryable(err) || IsRefusal(err) {
				t.Errorf("%s on %q: %v, want a retryable 429", tc.stage, tc.model, err)
			}
			continue
		}
		if err != nil || resp.Model != tc.model || resp.Text == "" {
			t.Errorf("%s on %q: %+v %v, want a normal reply from the fallback", tc.stage, tc.model, resp, err)
		}
	}
}
