package llm

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// TestStreamedRequestAnsweredWithPlainJSON: a server that ignores
// "stream": true and answers with one whole completion is read like a
// stream of it: the text reaches the sink, and the usage, the finish reason
// and a refusal are exactly the server's.
func TestStreamedRequestAnsweredWithPlainJSON(t *testing.T) {
	plain := func(finish string, msg map[string]any, usage map[string]any) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			body := map[string]any{"id": "c1", "object": "chat.completion", "model": "served-model",
				"choices": []any{map[string]any{"index": 0, "finish_reason": finish, "message": msg}}}
			if usage != nil {
				body["usage"] = usage
			}
			_ = json.NewEncoder(w).Encode(body)
		}
	}
	cases := []struct {
		name    string
		reply   http.HandlerFunc
		text    string
		finish  string
		usage   Usage
		counted bool
		refused bool
	}{
		{name: "whole reply with usage", text: "Hello, wörld", finish: FinishStop, usage: Usage{12, 5, 17},
			reply: plain("stop", map[string]any{"role": "assistant", "content": "Hello, wörld"},
				map[string]any{"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17})},
		{name: "no finish reason: a whole reply is complete", text: "done", finish: FinishStop, counted: true,
			reply: plain("", map[string]any{"role": "assistant", "content": "done"}, nil)},
		{name: "cut off, no usage", text: "cut", finish: FinishLength, counted: true,
			reply: plain("length", map[string]any{"role": "assistant", "content": "cut"}, nil)},
		{name: "refusal", refused: true,
			reply: plain("stop", map[string]any{"role": "assistant", "content": "", "refusal": "I can't help with that."}, nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeOpenAI(t, tc.reply)
			var rec recorder
			req := simpleRequest
			req.Sink = rec.sink
			resp, err := newTestProvider(t, srv.URL, streaming).Complete(context.Background(), req)
			if tc.refused {
				if !IsRefusal(err) {
					t.Fatalf("got %+v %v, want a refusal", resp, err)
				}
				return
			}
			if err != nil || resp.Text != tc.text || resp.FinishReason != tc.finish || resp.UsageCounted != tc.counted {
				t.Fatalf("got %+v %v", resp, err)
			}
			if !tc.counted && resp.Usage != tc.usage {
				t.Fatalf("usage %+v, want the server's %+v", resp.Usage, tc.usage)
			}
			if text, end := rec.check(t); text != tc.text || end.FinishReason != tc.finish {
				t.Fatalf("sink %q end %+v", text, end)
			}
			if body := srv.got()[0].body; body["stream"] != true {
				t.Fatalf("the request did not ask to stream: %v", body)
			}
		})
	}
}
