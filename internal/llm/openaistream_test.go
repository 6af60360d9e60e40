package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Sink that keeps the events it got.
type recorder struct {
	mu     sync.Mutex
	events []StreamEvent
}

func (r *recorder) sink(ev StreamEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) got() []StreamEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]StreamEvent(nil), r.events...)
}

// text joins the deltas; check fails the test unless the events are one
// begin, deltas, and one end, in that order.
func (r *recorder) check(t *testing.T) (text string, end StreamEvent) {
	t.Helper()
	evs := r.got()
	if len(evs) < 2 || evs[0].Kind != StreamBegin || evs[len(evs)-1].Kind != StreamEnd {
		t.Fatalf("events %+v: want begin, deltas, end", evs)
	}
	var b strings.Builder
	for _, ev := range evs[1 : len(evs)-1] {
		if ev.Kind != StreamDelta || ev.Text == "" {
			t.Fatalf("event %+v between begin and end", ev)
		}
		b.WriteString(ev.Text)
	}
	return b.String(), evs[len(evs)-1]
}

// sse is one server-sent event of a scripted stream: a data payload, or
// an action (pause, abort) of the script.
type sse struct {
	data  string
	pause time.Duration
	abort bool // drop the connection without finishing the body
}

func delta(text string) sse {
	b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": "served-model",
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": text}, "finish_reason": nil}}})
	return sse{data: string(b)}
}

func finish(reason string) sse {
	return sse{data: `{"id":"c1","object":"chat.completion.chunk","model":"served-model","choices":[{"index":0,"delta":{},"finish_reason":"` + reason + `"}]}`}
}

func usageChunk(in, out int) sse {
	return sse{data: fmt.Sprintf(`{"id":"c1","object":"chat.completion.chunk","model":"served-model","choices":[],`+
		`"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, in, out, in+out)}
}

var done = sse{data: "[DONE]"}

// streamReply plays a scripted SSE stream.
func streamReply(script ...sse) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		flusher := w.(http.Flusher)
		flusher.Flush()
		for _, ev := range script {
			switch {
			case ev.abort:
				panic(http.ErrAbortHandler) // closes the connection mid-body
			case ev.pause > 0:
				select {
				case <-time.After(ev.pause):
				case <-r.Context().Done():
					return
				}
			default:
				_, _ = io.WriteString(w, "data: "+ev.data+"\n\n")
				flusher.Flush()
			}
		}
	}
}

func streaming(s *Settings) { s.Stream = true }

func TestOpenAIStreamOutcomes(t *testing.T) {
	counted := func(text string) Usage { return countedUsage(simpleRequest.Messages, text) }
	for _, tc := range []struct {
		name      string
		reply     http.HandlerFunc
		text      string // the Response's text (empty on errors)
		streamed  string // what reached the sink
		finish    string
		usage     Usage // zero: any usage > 0 (checked for errors)
		counted   bool
		errWant   string // "": success; "retry": retryable; "refused": a refusal
		errSubstr string
	}{
		{name: "text and usage chunk",
			reply: streamReply(delta("Hel"), delta("lo, "), delta("wörld"), finish("stop"), usageChunk(11, 7), done),
			text:  "Hello, wörld", streamed: "Hello, wörld", finish: "stop", usage: Usage{11, 7, 18}},
		{name: "no usage chunk is counted",
			reply: streamReply(delta("{\"a\":"), delta(" 1}"), finish("stop"), done),
			text:  `{"a": 1}`, streamed: `{"a": 1}`, finish: "stop", usage: counted(`{"a": 1}`), counted: true},
		{name: "cut off at max_tokens",
			reply: streamReply(delta("def f():"), delta("\n    return"), finish("length"), usageChunk(20, 1024), done),
			text:  "def f():\n    return", streamed: "def f():\n    return", finish: "length", usage: Usage{20, 1024, 1044}},
		{name: "content_filter",
			reply:    streamReply(delta("Sure, here"), finish("content_filter"), usageChunk(30, 3), done),
			streamed: "Sure, here", finish: "content_filter", usage: Usage{30, 3, 33}, errWant: "refused", errSubstr: "content filter"},
		{name: "refusal in the delta",
			reply: streamReply(sse{data: `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"refusal":"I can't help with that."},"finish_reason":null}]}`},
				finish("stop"), done),
			finish: "stop", usage: counted(""), counted: true, errWant: "refused", errSubstr: "I can't help with that."},
		{name: "error event mid-stream",
			reply:    streamReply(delta("partial "), delta("text"), sse{data: `{"error":{"message":"The server had an error while processing your request","type":"server_error"}}`}),
			streamed: "partial text", usage: counted("partial text"), counted: true, errWant: "retry", errSubstr: "mid-stream: The server had an error"},
		{name: "content-policy error event",
			reply:   streamReply(delta("x"), sse{data: `{"error":{"message":"blocked","type":"invalid_request_error","code":"content_filter"}}`}),
			errWant: "refused", streamed: "x", counted: true, errSubstr: "content policy: blocked"},
		{name: "connection dropped mid-stream",
			reply:    streamReply(delta("import os\n"), delta("def main():\n"), sse{abort: true}),
			streamed: "import os\ndef main():\n", usage: counted("import os\ndef main():\n"), counted: true,
			errWant: "retry", errSubstr: "the stream broke"},
		{name: "body ends without finish_reason",
			reply:    streamReply(delta("half a rep")),
			streamed: "half a rep", usage: counted("half a rep"), counted: true, errWant: "retry", errSubstr: "no finish_reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeOpenAI(t, tc.reply)
			var rec recorder
			req := simpleRequest
			req.Sink = rec.sink
			resp, err := newTestProvider(t, srv.URL, streaming).Complete(context.Background(), req)
			streamed, end := rec.check(t)
			if streamed != tc.streamed {
				t.Errorf("sink got %q, want %q", streamed, tc.streamed)
			}
			if end.Usage != resp.Usage || end.FinishReason != resp.FinishReason {
				t.Errorf("end event %+v, response %+v", end, resp)
			}
			if resp.Text != tc.text || resp.FinishReason != tc.finish || resp.UsageCounted != tc.counted {
				t.Errorf("response %+v, want text %q finish %q counted %v", resp, tc.text, tc.finish, tc.counted)
			}
			if tc.usage != (Usage{}) && resp.Usage != tc.usage {
				t.Errorf("usage %+v, want %+v", resp.Usage, tc.usage)
			}
			if resp.Usage.TotalTokens <= 0 || resp.Usage.TotalTokens != resp.Usage.InputTokens+resp.Usage.OutputTokens {
				t.Errorf("usage %+v: want a positive, consistent count (the attempt is charged)", resp.Usage)
			}
			var e *Error
			switch tc.errWant {
			case "":
				if err != nil {
					t.Fatalf("error %v", err)
				}
			case "retry":
				if !errors.As(err, &e) || !IsRetryable(err) || IsRefusal(err) {
					t.Errorf("got %v, want a retryable *Error", err)
				}
			case "refused":
				if !errors.As(err, &e) || !IsRefusal(err) || IsRetryable(err) {
					t.Errorf("got %v, want a non-retryable refusal", err)
				}
			}
			if err != nil && !strings.Contains(err.Error(), tc.errSubstr) {
				t.Errorf("error %q does not contain %q", err, tc.errSubstr)
			}
			if n := len(srv.got()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestOpenAIStreamRequestBody(t *testing.T) {
	for _, tc := range []struct {
		name, override, sent, reported string
		reply                          http.HandlerFunc
	}{
		{"configured model", "", "gpt-4o-mini", "served-model", streamReply(delta("ok"), finish("stop"), usageChunk(1, 1), done)},
		{"per-request model", "gpt-4o", "gpt-4o", "gpt-4o",
			streamReply(sse{data: `{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`}, done)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeOpenAI(t, tc.reply)
			var rec recorder
			req := simpleRequest
			req.Model, req.Sink, req.JSON = tc.override, rec.sink, true
			p := newTestProvider(t, srv.URL, streaming, func(s *Settings) { s.Temperature = 0 })
			resp, err := p.Complete(context.Background(), req)
			if err != nil || resp.Text != "ok" || resp.Model != tc.reported {
				t.Fatalf("got %+v %v, want ok from %s", resp, err, tc.reported)
			}
			if begin := rec.got()[0]; begin.Model != tc.sent {
				t.Errorf("begin event names %q, want %q", begin.Model, tc.sent)
			}
			body := srv.got()[0].body
			opts, _ := body["stream_options"].(map[string]any)
			if body["model"] != tc.sent || body["stream"] != true || opts["include_usage"] != true {
				t.Errorf("body %v: want model %s, stream true, stream_options.include_usage true", body, tc.sent)
			}
			if temp, ok := body["temperature"]; !ok || temp != 0.0 || body["max_tokens"] != 1024.0 {
				t.Errorf("body %v: want temperature 0 and max_tokens 1024", body)
			}
			if p.Model() != "gpt-4o-mini" {
				t.Errorf("a request's model changed the provider's: %q", p.Model())
			}
		})
	}
}

func TestOpenAIStreamTimeouts(t *testing.T) {
	steady := []sse{}
	for i := range 8 {
		steady = append(steady, delta(fmt.Sprintf("part%d ", i)), sse{pause: 100 * time.Millisecond})
	}
	steady = append(steady, finish("stop"), done)
	for _, tc := range []struct {
		name      string
		reply     http.HandlerFunc
		errSubstr string // "": success
		maxTook   time.Duration
	}{
		{"slow steady stream longer than the timeout", streamReply(steady...), "", 5 * time.Second},
		{"stalled after a chunk", streamReply(delta("a"), sse{pause: 10 * time.Second}), "the stream stalled: no data for 300ms", 3 * time.Second},
		{"no first byte", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
		}, "no response: no data for 300ms", 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeOpenAI(t, tc.reply)
			p := newTestProvider(t, srv.URL, streaming, func(s *Settings) { s.Timeout = 300 * time.Millisecond })
			start := time.Now()
			resp, err := p.Complete(context.Background(), simpleRequest)
			took := time.Since(start)
			if took > tc.maxTook {
				t.Errorf("took %s", took)
			}
			if tc.errSubstr == "" {
				if err != nil || !strings.HasPrefix(resp.Text, "part0 part1") || took < 700*time.Millisecond {
					t.Errorf("got %q %v after %s", resp.Text, err, took)
				}
				return
			}
			if !IsRetryable(err) || err == nil || !strings.Contains(err.Error(), tc.errSubstr) {
				t.Errorf("got %v, want a retryable error with %q", err, tc.errSubstr)
			}
		})
	}
	// The caller's own cancellation mid-stream is reported as such.
	srv := newFakeOpenAI(t, streamReply(delta("a"), sse{pause: 10 * time.Second}))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	resp, err := newTestProvider(t, srv.URL, streaming).Complete(ctx, simpleRequest)
	var e *Error
	if !errors.Is(err, context.Canceled) || errors.As(err, &e) || resp.Usage.OutputTokens == 0 {
		t.Errorf("cancel: got %v, usage %+v", err, resp.Usage)
	}
}

func TestOpenAIStreamOverallCap(t *testing.T) {
	// Chunks every 20ms keep the idle timer happy; the cap (10 x 50ms)
	// still ends the call.
	var script []sse
	for range 100 {
		script = append(script, delta("x"), sse{pause: 20 * time.Millisecond})
	}
	srv := newFakeOpenAI(t, streamReply(script...))
	p := newTestProvider(t, srv.URL, streaming, func(s *Settings) { s.Timeout = 50 * time.Millisecond })
	start := time.Now()
	resp, err := p.Complete(context.Background(), simpleRequest)
	if !IsRetryable(err) || err == nil || !strings.Contains(err.Error(), "longer than 500ms in all") || resp.Usage.OutputTokens == 0 {
		t.Errorf("got %v usage %+v, want the overall cap", err, resp.Usage)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s", took)
	}
}

func TestOpenAIRefusals(t *testing.T) {
	policy := func(code, typ, msg string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code}})
		}
	}
	nonStreamed := func(finishReason, refusal string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"model": "served-model",
				"choices": []any{map[string]any{"index": 0, "finish_reason": finishReason,
					"message": map[string]any{"role": "assistant", "content": "", "refusal": refusal}}},
				"usage": map[string]any{"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})
		}
	}
	for _, tc := range []struct {
		name      string
		stream    bool
		reply     http.HandlerFunc
		refused   bool
		errSubstr string
	}{
		{"400 content_policy_violation", false, policy("content_policy_violation", "invalid_request_error", "Your request was rejected as a result of our safety system. "+testKey), true, "content policy"},
		{"400 content_policy_violation streamed", true, policy("content_policy_violation", "invalid_request_error", "rejected"), true, "content policy: rejected"},
		{"400 Azure content_filter", false, policy("content_filter", "", "The response was filtered"), true, "filtered"},
		{"400 message names the policy", false, policy("", "invalid_request_error", "This prompt violates our content policy"), true, "content policy"},
		{"400 plain bad request", false, policy("invalid_value", "invalid_request_error", "bad messages"), false, "bad request: bad messages"},
		{"finish_reason content_filter", false, nonStreamed("content_filter", ""), true, "content_filter"},
		{"refusal in the message", false, nonStreamed("stop", "I cannot assist with that."), true, "I cannot assist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeOpenAI(t, tc.reply)
			p := newTestProvider(t, srv.URL, func(s *Settings) { s.Stream = tc.stream })
			_, err := p.Complete(context.Background(), simpleRequest)
			if err == nil || IsRefusal(err) != tc.refused || IsRetryable(err) || !strings.Contains(err.Error(), tc.errSubstr) {
				t.Errorf("got %v, want refused=%v, not retryable, containing %q", err, tc.refused, tc.errSubstr)
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the API key: %q", err)
			}
		})
	}
}

func TestOpenAINonStreamedFinishAndSink(t *testing.T) {
	srv := newFakeOpenAI(t, func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"choices": []any{map[string]any{"index": 0, "finish_reason": "length",
				"message": map[string]any{"role": "assistant", "content": "cut off"}}}})
	})
	var rec recorder
	req := simpleRequest
	req.Sink, req.Model = rec.sink, "other-model"
	resp, err := newTestProvider(t, srv.URL).Complete(context.Background(), req)
	if err != nil || resp.FinishReason != FinishLength || resp.Text != "cut off" || resp.Model != "other-model" {
		t.Fatalf("got %+v %v", resp, err)
	}
	// The server sent no usage: it is counted and marked so.
	if !resp.UsageCounted || resp.Usage != countedUsage(req.Messages, "cut off") {
		t.Errorf("usage %+v counted %v", resp.Usage, resp.UsageCounted)
	}
	if text, end := rec.check(t); text != "cut off" || end.FinishReason != FinishLength {
		t.Errorf("sink %q end %+v", text, end)
	}
	if body := srv.got()[0].body; body["model"] != "other-model" || body["stream"] == true {
		t.Errorf("body %v", body)
	}
}

func TestEstimateTokens(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "a": 1, "abcd": 1, "abcde": 2, "wörld": 2, strings.Repeat("x", 4000): 1000} {
		if got := EstimateTokens(in); got != want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", in, got, want)
		}
	}
	msgs := []Message{{Role: "system", Content: "abcdefgh"}, {Role: "user", Content: ""}}
	if got := EstimateInputTokens(msgs); got != 2+4+0+4 {
		t.Errorf("EstimateInputTokens = %d, want 10", got)
	}
}
