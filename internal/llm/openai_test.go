package llm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "sk-test-0123456789abcdefSECRET"

// fakeOpenAI is a local chat-completions server that records what it got.
type fakeOpenAI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	method, path, auth string
	body               map[string]any
}

// newFakeOpenAI serves reply for every request after recording it.
func newFakeOpenAI(t *testing.T, reply http.HandlerFunc) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.mu.Lock()
		f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), body})
		f.mu.Unlock()
		reply(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOpenAI) got() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// okReply answers with one choice and usage.
func okReply(content string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": "served-model",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": content}}},
			"usage": map[string]any{"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
		})
	}
}

// errorReply answers status with an OpenAI error body and extra headers.
func errorReply(status int, message string, headers map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": message, "type": "invalid_request_error", "code": nil}})
	}
}

func newTestProvider(t *testing.T, baseURL string, mutate ...func(*Settings)) Provider {
	t.Helper()
	s := Settings{Provider: "openai", Model: "gpt-4o-mini", APIKey: testKey, BaseURL: baseURL + "/v1",
		MaxTokens: 1024, Timeout: 5 * time.Second, Temperature: 0.2}
	for _, m := range mutate {
		m(&s)
	}
	p, err := NewOpenAI(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var simpleRequest = Request{Stage: "design", Messages: []Message{
	{Role: "system", Content: "You design."}, {Role: "user", Content: `{"stage":"design"}`}}}

func TestOpenAIRequestWireFormat(t *testing.T) {
	for _, tc := range []struct {
		name        string
		settings    func(*Settings)
		req         Request
		temperature float64
		maxTokens   float64
	}{
		{"zero temperature is sent", func(s *Settings) { s.Temperature = 0 }, simpleRequest, 0, 1024},
		{"configured values", nil, simpleRequest, 0.2, 1024},
		{"request overrides", nil, Request{Messages: simpleRequest.Messages, MaxTokens: 77, Temperature: 1.5, JSON: true}, 1.5, 77},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeOpenAI(t, okReply(`{"ok":true}`))
			var mutate []func(*Settings)
			if tc.settings != nil {
				mutate = append(mutate, tc.settings)
			}
			resp, err := newTestProvider(t, srv.URL, mutate...).Complete(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != `{"ok":true}` || resp.Model != "served-model" ||
				resp.Usage != (Usage{InputTokens: 11, OutputTokens: 7, TotalTokens: 18}) {
				t.Errorf("response %+v", resp)
			}
			reqs := srv.got()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.path != "/v1/chat/completions" || r.auth != "Bearer "+testKey {
				t.Errorf("sent %s %s auth %q", r.method, r.path, r.auth)
			}
			temp, hasTemp := r.body["temperature"]
			if r.body["model"] != "gpt-4o-mini" || !hasTemp || temp != tc.temperature || r.body["max_tokens"] != tc.maxTokens {
				t.Errorf("body %v: want temperature %v, max_tokens %v", r.body, tc.temperature, tc.maxTokens)
			}
			msgs, _ := r.body["messages"].([]any)
			if len(msgs) != 2 || msgs[1].(map[string]any)["content"] != `{"stage":"design"}` {
				t.Errorf("messages %v", r.body["messages"])
			}
			format, hasFormat := r.body["response_format"].(map[string]any)
			if tc.req.JSON != hasFormat || hasFormat && format["type"] != "json_object" {
				t.Errorf("response_format %v with JSON=%v", r.body["response_format"], tc.req.JSON)
			}
		})
	}
}

func TestOpenAIErrorClassification(t *testing.T) {
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name       string
		reply      http.HandlerFunc
		status     int
		retryable  bool
		retryAfter time.Duration
		contains   string
	}{
		{"400", errorReply(400, "Invalid value for 'messages'", nil), 400, false, 0, "bad request: Invalid value for 'messages'"},
		{"401 echoing the key", errorReply(401, "Incorrect API key provided: "+testKey, nil), 401, false, 0, "authentication failed (check LLM_API_KEY): Incorrect API key provided: [redacted]"},
		{"404 model", errorReply(404, "The model `gpt-9` does not exist", nil), 404, false, 0, "does not exist"},
		{"408", errorReply(408, "request timeout", nil), 408, true, 0, "timed out"},
		{"429 seconds", errorReply(429, "Rate limit reached", map[string]string{"Retry-After": "7"}), 429, true, 7 * time.Second, "Rate limit reached"},
		{"429 date", errorReply(429, "slow down", map[string]string{"Retry-After": httpDate}), 429, true, 90 * time.Second, "rate limited"},
		{"500", errorReply(500, "The server had an error", nil), 500, true, 0, "server had an error"},
		{"503 retry-after", errorReply(503, "overloaded", map[string]string{"Retry-After": "2"}), 503, true, 2 * time.Second, "overloaded"},
		{"502 html body", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "<html>Bad Gateway</html>")
		}, 502, true, 0, "Bad Gateway"},
		{"empty choices", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"id":"x","choices":[],"usage":{"prompt_tokens":1}}`)
		}, 200, true, 0, "no choices"},
		{"garbled 200", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"choices": [`)
		}, 200, true, 0, "unreadable response: unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeOpenAI(t, tc.reply)
			_, err := newTestProvider(t, srv.URL).Complete(context.Background(), simpleRequest)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %T %v, want *Error", err, err)
			}
			if e.Status != tc.status || e.Retryable != tc.retryable || IsRetryable(err) != tc.retryable {
				t.Errorf("got status %d retryable %v, want %d %v: %v", e.Status, e.Retryable, tc.status, tc.retryable, err)
			}
			if e.RetryAfter < tc.retryAfter-2*time.Second || e.RetryAfter > tc.retryAfter {
				t.Errorf("RetryAfter %s, want about %s", e.RetryAfter, tc.retryAfter)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
			if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks the API key: %q", err)
			}
			if n := len(srv.got()); n != 1 {
				t.Errorf("the client sent %d requests, want exactly 1 (no retries)", n)
			}
		})
	}
}

func TestOpenAITimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	srv := newFakeOpenAI(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		okReply("late")(w, r)
	})
	defer close(release)
	p := newTestProvider(t, srv.URL, func(s *Settings) { s.Timeout = 200 * time.Millisecond })
	start := time.Now()
	_, err := p.Complete(context.Background(), simpleRequest)
	var e *Error
	if !errors.As(err, &e) || !e.Retryable || !strings.Contains(err.Error(), "timed out after 200ms") {
		t.Errorf("timeout: got %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("timeout took %s", took)
	}
	// The caller's own cancellation is reported as such, not as a provider failure.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := p.Complete(ctx, simpleRequest); !errors.Is(err, context.Canceled) || errors.As(err, &e) {
		t.Errorf("cancel: got %v", err)
	}
}

func TestOpenAIConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newTestProvider(t, url).Complete(context.Background(), simpleRequest)
	var e *Error
	if !errors.As(err, &e) || !e.Retryable || e.Status != 0 || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("got %v, want a retryable transport error", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks the API key: %q", err)
	}
}

func TestOpenAIRequestRefusedBeforeSending(t *testing.T) {
	srv := newFakeOpenAI(t, okReply("x"))
	// go-openai refuses max_tokens for reasoning models before any HTTP.
	p := newTestProvider(t, srv.URL, func(s *Settings) { s.Model = "o1-mini" })
	_, err := p.Complete(context.Background(), simpleRequest)
	var e *Error
	if !errors.As(err, &e) || e.Retryable || !strings.Contains(err.Error(), "request not sent") {
		t.Errorf("got %v, want a non-retryable error", err)
	}
	if n := len(srv.got()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

func TestNewOpenAISettings(t *testing.T) {
	if _, err := NewOpenAI(Settings{Model: "m"}); err == nil || err.Error() != "LLM_API_KEY is required for the OpenAI provider" {
		t.Errorf("missing key: %v", err)
	}
	if _, err := NewOpenAI(Settings{APIKey: "k"}); err == nil || !strings.Contains(err.Error(), "LLM_MODEL") {
		t.Errorf("missing model: %v", err)
	}
	for _, bad := range []string{"localhost:9999", "ftp://host/v1", "https:///nohost", "://user:" + testKey + "@x"} {
		_, err := NewOpenAI(Settings{Model: "m", BaseURL: bad})
		if err == nil || strings.Contains(err.Error(), bad) {
			t.Errorf("base URL %q: %v", bad, err)
		}
	}
	// A local server needs no key: no Authorization header is sent.
	srv := newFakeOpenAI(t, okReply("local"))
	p := newTestProvider(t, srv.URL, func(s *Settings) { s.APIKey = "" })
	resp, err := p.Complete(context.Background(), simpleRequest)
	if err != nil || resp.Text != "local" || srv.got()[0].auth != "" {
		t.Errorf("keyless: %v %+v auth %q", err, resp, srv.got()[0].auth)
	}
	if p.Name() != "openai" || p.Model() != "gpt-4o-mini" {
		t.Errorf("name %q model %q", p.Name(), p.Model())
	}
	if p, err := New(Settings{Provider: "openai", Model: "m", APIKey: "k"}); err != nil || p.Name() != "openai" {
		t.Errorf("New(openai): %v", err)
	}
	if p, err := New(Settings{}); err != nil || p.Name() != "mock" {
		t.Errorf("New(default): %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":    0,
		"12":  12 * time.Second,
		" 3 ": 3 * time.Second,
		"-4":  0,
		"abc": 0,
		now.Add(30 * time.Second).Format(http.TimeFormat): 30 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestWithTemperature(t *testing.T) {
	got := string(withTemperature([]byte(`{"model":"m","temperature":0.5}`), 0))
	if got != `{"model":"m","temperature":0}` {
		t.Errorf("got %s", got)
	}
	if got := string(withTemperature([]byte(`not json`), 0)); got != "not json" {
		t.Errorf("non-JSON body changed: %s", got)
	}
}
