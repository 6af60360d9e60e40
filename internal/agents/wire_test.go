package agents

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"ai-platform/internal/llm"
)

// cutServer is a scripted OpenAI-compatible server that cuts EVERY reply at
// max_tokens, counting ~4 bytes a token. It holds the whole reply it means
// to give for the files a request asks for and serves it in slices: a
// request whose messages end with an assistant part and a request to
// continue gets the next slice after that part.
type cutServer struct {
	mu    sync.Mutex
	files map[string]string // path -> content it writes
	reqs  []wireReq
}

type wireReq struct {
	Model     string        `json:"model"`
	MaxTokens int           `json:"max_tokens"`
	Stream    bool          `json:"stream"`
	Messages  []llm.Message `json:"messages"`
	Format    *struct {
		Type string `json:"type"`
	} `json:"response_format"`
}

func (s *cutServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req wireReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) < 2 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	var brief llm.Brief
	if err := json.Unmarshal([]byte(req.Messages[1].Content), &brief); err != nil {
		http.Error(w, "the second message is not the brief", http.StatusBadRequest)
		return
	}
	whole := s.reply(brief.TargetFiles)
	offset := 0
	if n := len(req.Messages); n >= 4 && req.Messages[n-2].Role == "assistant" {
		offset = len(req.Messages[n-2].Content)
	}
	if offset > len(whole) || whole[:offset] != req.Messages[max(len(req.Messages)-2, 0)].Content[:offset] {
		http.Error(w, "the continuation does not continue this reply", http.StatusBadRequest)
		return
	}
	text := whole[offset:]
	finish := "stop"
	if limit := req.MaxTokens * 4; len(text) > limit {
		text, finish = text[:limit], "length"
	}
	prompt := 0
	for _, m := range req.Messages {
		prompt += len(m.Content) / 4
	}
	out := len(text) / 4
	usage := map[string]int{"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "c1", "object": "chat.completion", "model": req.Model, "usage": usage,
			"choices": []any{map[string]any{"index": 0, "finish_reason": finish,
				"message": map[string]any{"role": "assistant", "content": text}}},
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(v map[string]any) {
		v["id"], v["object"], v["model"] = "c1", "chat.completion.chunk", req.Model
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	for i := 0; i < len(text); i += 500 {
		chunk(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": text[i:min(i+500, len(text))]}}}})
	}
	chunk(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": finish}}})
	chunk(map[string]any{"choices": []any{}, "usage": usage})
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// reply is the whole JSON reply for the target files.
func (s *cutServer) reply(targets []string) string {
	r := llm.CodeReply{Summary: "wrote " + strings.Join(targets, ", ")}
	for _, p := range targets {
		r.Files = append(r.Files, llm.FileContent{Path: p, Content: s.files[p]})
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// pythonModule is a module of n lines.
func pythonModule(n int) string {
	var b strings.Builder
	b.WriteString(`"""Arithmetic helpers, one per constant."""` + "\n")
	for i := 1; strings.Count(b.String(), "\n") < n; i++ {
		fmt.Fprintf(&b, "\n\ndef add_%03d(value: int, scale: int = 1) -> int:\n"+
			"    \"\"\"Return value times scale plus %d (helper %d of the table).\"\"\"\n"+
			"    total = value * scale + %d  # the constant of helper %d\n    return total\n", i, i, i, i, i)
	}
	lines := strings.SplitAfter(b.String(), "\n")
	return strings.Join(lines[:n], "")
}

// TestCodeUnderATinyTokenCapOnTheWire: with LLM_MAX_TOKENS=1024 and a server
// that cuts every reply at 1,024 tokens, the Code role still produces a
// 300-line module and its test: the two-file reply is cut off, so the files
// are asked for one at a time, and the module's reply, several times the
// cap, is continued and joined. Streamed and non-streamed replies alike.
func TestCodeUnderATinyTokenCapOnTheWire(t *testing.T) {
	module := pythonModule(300)
	tests := "from pkg.big import add_001\n\n\ndef test_add_001() -> None:\n    assert add_001(1) == 2\n"
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			srv := &cutServer{files: map[string]string{"pkg/big.py": module, "tests/test_big.py": tests}}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			prov, err := llm.NewOpenAI(llm.Settings{Provider: "openai", Model: "gpt-test", BaseURL: ts.URL + "/v1",
				MaxTokens: 1024, Temperature: 0.2, Stream: stream})
			if err != nil {
				t.Fatal(err)
			}
			a := &Agents{Provider: prov, MaxTokens: 1024, Temperature: 0.2}
			b := llm.Brief{TargetFiles: []string{"pkg/big.py", "tests/test_big.py"}, MaxFiles: 5}
			out, call, err := a.Code(context.Background(), b, Turn{Attempt: 1}, okFile)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Files) != 2 || out.Files[0].Path != "pkg/big.py" || out.Files[0].Content != module ||
				out.Files[1].Content != tests {
				t.Fatalf("files %d, first %q", len(out.Files), out.Files[0].Path)
			}
			if got := strings.Count(out.Files[0].Content, "\n"); got != 300 {
				t.Fatalf("module has %d lines", got)
			}
			// The module's JSON is several times 4 KB: one split, then
			// continuations of the module alone.
			slices := (len(srv.reply([]string{"pkg/big.py"})) + 4095) / 4096
			if slices < 3 {
				t.Fatalf("the module's reply is only %d slices: the test proves nothing", slices)
			}
			if len(srv.reqs) != 1+slices+1 || call.Calls != len(srv.reqs) {
				t.Fatalf("%d requests (%d charged), want 1 cut + %d slices + 1 for the test file", len(srv.reqs), call.Calls, slices)
			}
			for i, r := range srv.reqs {
				if r.MaxTokens != 1024 {
					t.Fatalf("request %d max_tokens %d", i, r.MaxTokens)
				}
				continuation := r.Messages[len(r.Messages)-1].Role == "user" && len(r.Messages) == 4
				if json := r.Format != nil && r.Format.Type == "json_object"; json == continuation {
					t.Fatalf("request %d: JSON mode %v on a continuation=%v", i, json, continuation)
				}
			}
			if len(call.Truncations) != 2 || call.Truncations[0].Action != TruncationSplit ||
				call.Truncations[1].Action != TruncationContinued || call.Truncations[1].Requests != slices {
				t.Fatalf("truncations %+v", call.Truncations)
			}
			if call.Usage.OutputTokens == 0 || call.Each[1].FinishReason != llm.FinishLength {
				t.Fatalf("usage %+v, each %+v", call.Usage, call.Each)
			}
		})
	}
}
