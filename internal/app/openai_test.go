package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	commonpb "go.temporal.io/api/common/v1"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/llm"
	"ai-platform/internal/task"
	"ai-platform/internal/testutil/logbuf"
)

// fakeOpenAI speaks the chat-completions wire format. Replies come from the
// offline mock (so the project is real); it plays one transient 500 at the
// design stage and one invalid-JSON reply at the first code call.
type fakeOpenAI struct {
	t    *testing.T
	mock llm.Provider
	mu   sync.Mutex
	reqs []map[string]any
	auth []string
	// stages holds each request's stage, read from its brief (the first
	// user message, so a corrective follow-up counts for its stage).
	stages []string

	failedDesign, sentInvalid bool
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	var msgs []llm.Message
	for _, m := range body["messages"].([]any) {
		mm := m.(map[string]any)
		msgs = append(msgs, llm.Message{Role: mm["role"].(string), Content: mm["content"].(string)})
	}
	var brief, first struct {
		Stage string `json:"stage"`
	}
	_ = json.Unmarshal([]byte(msgs[len(msgs)-1].Content), &brief)
	for _, m := range msgs {
		if m.Role == "user" {
			_ = json.Unmarshal([]byte(m.Content), &first)
			break
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, body)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.stages = append(f.stages, first.Stage)
	failDesign := brief.Stage == "design" && !f.failedDesign
	f.failedDesign = f.failedDesign || failDesign
	invalid := brief.Stage == "code" && !f.sentInvalid
	f.sentInvalid = f.sentInvalid || invalid
	f.mu.Unlock()
	if failDesign {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"message":"upstream overloaded","type":"server_error"}}`))
		return
	}
	text := "Sure! Here is the code you asked for: {\"files\": [oops"
	usage := llm.Usage{InputTokens: 11, OutputTokens: 7}
	if !invalid {
		resp, err := f.mock.Complete(r.Context(), llm.Request{Messages: msgs, Attempt: 2})
		if err != nil {
			http.Error(w, `{"error":{"message":"mock failed"}}`, http.StatusBadRequest)
			return
		}
		text, usage = resp.Text, resp.Usage
	}
	if body["stream"] == true {
		streamSSE(w, body, text, usage)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": time.Now().Unix(), "model": body["model"],
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": text}}},
		"usage": map[string]any{"prompt_tokens": usage.InputTokens, "completion_tokens": usage.OutputTokens,
			"total_tokens": usage.InputTokens + usage.OutputTokens},
	})
}

// streamSSE answers a streamed request as OpenAI does: the reply in small
// chunks as server-sent events, a chunk with the finish reason, the usage
// chunk when stream_options.include_usage asks for it, then [DONE].
func streamSSE(w http.ResponseWriter, body map[string]any, text string, usage llm.Usage) {
	w.Header().Set("Content-Type", "text/event-stream")
	flusher, _ := w.(http.Flusher)
	send := func(v any) {
		raw, _ := json.Marshal(v)
		_, _ = w.Write([]byte("data: " + string(raw) + "\n\n"))
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(choices []any, extra map[string]any) map[string]any {
		c := map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": time.Now().Unix(),
			"model": body["model"], "choices": choices}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	runes := []rune(text)
	for i := 0; i < len(runes); i += 24 {
		piece := string(runes[i:min(i+24, len(runes))])
		send(chunk([]any{map[string]any{"index": 0, "delta": map[string]any{"content": piece}}}, nil))
	}
	send(chunk([]any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": "stop"}}, nil))
	if opts, _ := body["stream_options"].(map[string]any); opts["include_usage"] == true {
		send(chunk([]any{}, map[string]any{"usage": map[string]any{"prompt_tokens": usage.InputTokens,
			"completion_tokens": usage.OutputTokens, "total_tokens": usage.InputTokens + usage.OutputTokens}}))
	}
	_, _ = w.Write([]byte("data: [DONE]\n\n"))
}

const (
	llmKey = "sk-test-SECRET-llm-key-0123456789abcdef"
	appKey = "app-SECRET-key-0123456789abcdef"
)

// TestOpenAIProviderAndNoSecretLeaks runs a task with LLM_PROVIDER=openai
// against a local OpenAI-compatible server, then searches every stored byte
// (store files, workspace, Temporal history, logs, API answers) for secrets.
func TestOpenAIProviderAndNoSecretLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	fake := &fakeOpenAI{t: t, mock: llm.NewMock("test-model")}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var logs logbuf.Buffer
	p := apptest.Start(t, apptest.Options{
		Log: &logs,
		Env: map[string]string{
			"LLM_PROVIDER": "openai", "LLM_BASE_URL": srv.URL + "/v1", "LLM_API_KEY": llmKey, "LLM_MODEL": "test-model",
			"LLM_TEMPERATURE": "0.2", "LLM_MAX_TOKENS": "1024", "APP_API_KEY": appKey,
			"AUTH_JWT_SECRET": "jwt-SECRET-0123456789abcdef0123456789", "AUTH_MODE": "hybrid",
		},
	})
	p.APIKey = appKey
	id := p.CreateTask(t, map[string]any{"description": "A CLI that tracks books I have read, and mentions " + llmKey,
		"template_id": "python_cli"})
	liveOut := watchLiveRaw(t, p, id)
	tk := p.WaitStatus(t, id, 4*time.Minute, "completed")
	if tk.TokensIn == 0 {
		t.Fatal("no token usage recorded")
	}

	fake.mu.Lock()
	reqs, auths := fake.reqs, fake.auth
	fake.mu.Unlock()
	if len(reqs) < 5 {
		t.Fatalf("only %d requests reached the provider", len(reqs))
	}
	for i, r := range reqs {
		rf, _ := r["response_format"].(map[string]any)
		if r["model"] != "test-model" || r["temperature"] != 0.2 || r["max_tokens"] != 1024.0 || rf["type"] != "json_object" {
			t.Fatalf("request %d lacks model/temperature/max_tokens/JSON mode: %v", i, r)
		}
		if r["stream"] != true {
			t.Fatalf("request %d did not ask to stream (LLM_STREAM defaults to true): %v", i, r)
		}
		if auths[i] != "Bearer "+llmKey {
			t.Fatalf("request %d Authorization %q", i, auths[i])
		}
	}
	if !fake.failedDesign || !fake.sentInvalid {
		t.Fatal("the transient failure and the invalid reply were not both played")
	}
	if countEvents(t, p, id, "llm_error") == 0 {
		t.Error("the 500 should be recorded as an llm_error event")
	}

	// The description mentioned the key on purpose: it must have been scrubbed
	// before anything was stored. Everything is searched: the store through
	// its interface and on disk, the workspace, the raw bytes of every
	// Temporal payload (and each event as JSON) of the task's and the slots
	// workflow's histories, the logs and the API's answers.
	scan := newLeakScanner(llmKey, appKey, "jwt-SECRET-0123456789abcdef0123456789")
	scan.scanStore(t, p.App.Store)
	scan.scanDir(p.Config.DataDir)
	scan.scanDir(p.Config.WorkspaceRoot)
	for _, path := range []string{"/events?limit=1000", "/artifacts?limit=1000", "/state", "/files", "/questions", "/patch"} {
		_, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id+path, nil, nil)
		scan.scan("GET "+path, raw)
	}
	taskHistory := history(t, p.Client, task.WorkflowID(id))
	payloadsSeen := 0
	for _, ev := range taskHistory {
		apptest.WalkPayloads(ev.ProtoReflect(), func(*commonpb.Payload) { payloadsSeen++ })
	}
	if payloadsSeen < 10 {
		t.Fatalf("only %d payloads in the task's history", payloadsSeen)
	}
	scan.scanHistory("task history", taskHistory)
	scan.scanHistory("slots history", history(t, p.Client, task.SlotsWorkflowID(p.Config.TemporalTaskQueue)))
	scan.scan("logs", logs.Bytes())
	// What the model wrote, streamed over the OpenAI wire, reached a
	// WebSocket client as it was written (the coder's files decoded from
	// its JSON), and carries no secret either.
	live := liveOut()
	scan.scan("live output", live)
	if !bytes.Contains(live, []byte(`"event":"delta"`)) || !bytes.Contains(live, []byte(`"file":"`)) {
		t.Errorf("no streamed text or file reached the WebSocket client: %.300s", live)
	}
	if scan.scanned < 10000 {
		t.Fatalf("suspiciously little was scanned: %d bytes", scan.scanned)
	}
	scan.report(t)
	if !scan.redacted {
		t.Error("the key in the description should appear as [redacted]")
	}
}

// TestOpenAIClarificationAnswersReachLaterPrompts: the answers to the
// clarification questions are part of every later prompt. A task with a
// placeholder asks for it; after the answer every provider request of the
// design, code and review stages carries the answer, and none before it did.
func TestOpenAIClarificationAnswersReachLaterPrompts(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	// No scripted failures: this test is about what the prompts contain.
	fake := &fakeOpenAI{t: t, mock: llm.NewMock("test-model"), failedDesign: true, sentInvalid: true}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p := apptest.Start(t, apptest.Options{Env: map[string]string{
		"LLM_PROVIDER": "openai", "LLM_BASE_URL": srv.URL + "/v1", "LLM_API_KEY": "sk-test-answers-0123456789",
		"LLM_MODEL": "test-model",
	}})
	id := p.CreateTask(t, map[string]any{"description": "A CLI that tracks books I have read, keeping them in {{storage format}}",
		"template_id": "python_cli"})
	p.WaitStatus(t, id, 2*time.Minute, "needs_input")
	var qs struct {
		Pending []struct {
			ID       string `json:"id"`
			Required bool   `json:"required"`
		} `json:"pending_questions"`
	}
	if code, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/questions", nil, &qs); code != http.StatusOK || len(qs.Pending) == 0 {
		t.Fatalf("questions: %d %s", code, raw)
	}
	const answer = "tab-separated-ANSWER-7f3a9c"
	answers := map[string]any{}
	for _, q := range qs.Pending {
		if q.Required {
			answers[q.ID] = answer
		}
	}
	if len(answers) == 0 {
		t.Fatalf("no required question to answer: %+v", qs.Pending)
	}
	fake.mu.Lock()
	before := len(fake.reqs)
	fake.mu.Unlock()
	if code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/input",
		map[string]any{"answers": answers, "auto_resume": true}, nil); code >= 300 {
		t.Fatalf("input: %d %s", code, raw)
	}
	p.WaitStatus(t, id, 4*time.Minute, "completed")

	fake.mu.Lock()
	reqs, stages := fake.reqs, fake.stages
	fake.mu.Unlock()
	if before == 0 {
		t.Fatal("no request before the answer: research should have asked the provider")
	}
	// answersOf reads the answers of a request's brief (its first user
	// message); a file or plan quoting the answer elsewhere does not count.
	answersOf := func(r map[string]any) map[string]any {
		for _, m := range r["messages"].([]any) {
			mm := m.(map[string]any)
			if mm["role"] == "user" {
				var brief struct {
					Answers map[string]any `json:"answers"`
				}
				_ = json.Unmarshal([]byte(mm["content"].(string)), &brief)
				return brief.Answers
			}
		}
		return nil
	}
	for i := 0; i < before; i++ {
		if len(answersOf(reqs[i])) != 0 {
			t.Errorf("request %d (%s) was sent before the answer yet carries answers", i, stages[i])
		}
	}
	seen := map[string]int{}
	for i := before; i < len(reqs); i++ {
		seen[stages[i]]++
		got := answersOf(reqs[i])
		for qid, want := range answers {
			if got[qid] != want {
				t.Errorf("request %d (%s stage) after the answer has answers %v, want %s=%v", i, stages[i], got, qid, want)
			}
		}
	}
	for _, stage := range []string{"design", "code", "review"} {
		if seen[stage] == 0 {
			t.Errorf("no %s request after the answer (requests per stage: %v)", stage, seen)
		}
	}
}

// watchLiveRaw opens a WebSocket with live output on and keeps the raw
// live messages; the returned func gives what arrived so far.
func watchLiveRaw(t *testing.T, p *apptest.Platform, id string) func() []byte {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	u := "ws" + strings.TrimPrefix(p.URL, "http") + "/ws/" + id + "?live=1"
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"X-Api-Key": {p.APIKey}}})
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	conn.SetReadLimit(1 << 20)
	var mu sync.Mutex
	var got bytes.Buffer
	go func() {
		defer conn.CloseNow()
		for {
			_, raw, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if bytes.Contains(raw, []byte(`"type":"live"`)) {
				mu.Lock()
				got.Write(raw)
				got.WriteByte('\n')
				mu.Unlock()
			}
		}
	}()
	return func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return append([]byte(nil), got.Bytes()...)
	}
}
