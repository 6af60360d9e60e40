package llm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// defaultTimeout is the per-attempt timeout when Settings.Timeout is unset.
const defaultTimeout = 30 * time.Second

// OpenAI is the provider for OpenAI's chat-completions API and any server
// that speaks it (Ollama, vLLM, LM Studio: set BaseURL to the server's /v1
// endpoint, e.g. http://localhost:11434/v1). It makes exactly one HTTP
// request per Complete call: retries belong to the caller.
type OpenAI struct {
	client      *openai.Client
	model       string
	maxTokens   int
	temperature float64
	timeout     time.Duration
	// apiKey is kept only to scrub it from error messages.
	apiKey string
}

// NewOpenAI returns the OpenAI-compatible provider. The API key is required
// unless BaseURL points at a server that needs none.
func NewOpenAI(s Settings) (Provider, error) {
	if s.APIKey == "" && s.BaseURL == "" {
		return nil, errors.New("LLM_API_KEY is required for the OpenAI provider")
	}
	if s.Model == "" {
		return nil, errors.New("LLM_MODEL is required for the OpenAI provider")
	}
	cfg := openai.DefaultConfig(s.APIKey)
	if s.BaseURL != "" {
		u, err := url.Parse(s.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL is not echoed: it may carry credentials.
			return nil, errors.New("LLM_BASE_URL must be an absolute http(s) URL such as http://localhost:11434/v1")
		}
		cfg.BaseURL = strings.TrimRight(s.BaseURL, "/")
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	cfg.HTTPClient = &wire{client: &http.Client{Timeout: timeout}}
	return &OpenAI{
		client:      openai.NewClientWithConfig(cfg),
		model:       s.Model,
		maxTokens:   s.MaxTokens,
		temperature: s.Temperature,
		timeout:     timeout,
		apiKey:      s.APIKey,
	}, nil
}

// Name returns "openai".
func (o *OpenAI) Name() string { return "openai" }

// Model returns the configured model id.
func (o *OpenAI) Model() string { return o.model }

// Complete sends one chat-completions request. Request.MaxTokens and a
// non-zero Request.Temperature override the configured values; temperature
// is always sent, also when it is 0.
func (o *OpenAI) Complete(ctx context.Context, req Request) (Response, error) {
	maxTokens := o.maxTokens
	if req.MaxTokens > 0 {
		maxTokens = req.MaxTokens
	}
	temperature := o.temperature
	if req.Temperature != 0 {
		temperature = req.Temperature
	}
	messages := make([]openai.ChatCompletionMessage, 0, len(req.Messages))
	for _, m := range req.Messages {
		messages = append(messages, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	body := openai.ChatCompletionRequest{
		Model:    o.model,
		Messages: messages,
		// max_tokens, not max_completion_tokens: OpenAI-compatible servers
		// (Ollama, vLLM, LM Studio) accept only the former.
		//lint:ignore SA1019 see above
		MaxTokens:   maxTokens,
		Temperature: float32(temperature),
	}
	if req.JSON {
		body.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
	}
	call := &callState{temperature: temperature}
	callCtx, cancel := context.WithTimeout(context.WithValue(ctx, callStateKey{}, call), o.timeout)
	defer cancel()
	resp, err := o.client.CreateChatCompletion(callCtx, body)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up (activity cancelled or its own deadline):
			// report that, not a provider failure.
			return Response{}, ctx.Err()
		}
		return Response{}, o.classify(err, call)
	}
	if len(resp.Choices) == 0 {
		return Response{}, &Error{Status: call.status, Retryable: true, Message: "the provider returned no choices"}
	}
	usage := Usage{
		InputTokens:  int64(resp.Usage.PromptTokens),
		OutputTokens: int64(resp.Usage.CompletionTokens),
		TotalTokens:  int64(resp.Usage.TotalTokens),
	}
	if usage.TotalTokens == 0 {
		usage.TotalTokens = usage.InputTokens + usage.OutputTokens
	}
	model := resp.Model
	if model == "" {
		model = o.model
	}
	return Response{Text: resp.Choices[0].Message.Content, Usage: usage, Model: model}, nil
}

// classify turns a go-openai error into an *Error. HTTP errors follow their
// status (408, 429 and 5xx are retryable); a request that never reached the
// wire (the library refused it) is not retryable; timeouts, transport
// failures and unreadable bodies are.
func (o *OpenAI) classify(err error, call *callState) *Error {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr):
		return o.httpError(apiErr.HTTPStatusCode, apiErr.Message, call)
	case errors.As(err, &reqErr):
		msg := strings.TrimSpace(string(reqErr.Body))
		if msg == "" {
			msg = http.StatusText(reqErr.HTTPStatusCode)
		}
		return o.httpError(reqErr.HTTPStatusCode, msg, call)
	case !call.sent:
		return &Error{Message: o.scrub("request not sent: " + err.Error())}
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return &Error{Retryable: true, Message: fmt.Sprintf("request timed out after %s", o.timeout)}
	}
	what := "request failed: "
	if call.status >= 200 && call.status < 300 {
		what = "unreadable response: "
	}
	return &Error{Status: call.status, Retryable: true, Message: o.scrub(what + err.Error())}
}

// httpError describes a failed HTTP exchange with the provider's message.
func (o *OpenAI) httpError(status int, providerMsg string, call *callState) *Error {
	hint := map[int]string{
		http.StatusBadRequest:      "bad request",
		http.StatusUnauthorized:    "authentication failed (check LLM_API_KEY)",
		http.StatusForbidden:       "access denied",
		http.StatusNotFound:        "not found (check LLM_MODEL and LLM_BASE_URL)",
		http.StatusRequestTimeout:  "the provider timed out",
		http.StatusTooManyRequests: "rate limited",
	}[status]
	if hint == "" && status >= 500 {
		hint = "provider unavailable"
	}
	if hint == "" {
		hint = strings.ToLower(http.StatusText(status))
	}
	msg := hint
	if detail := oneLine(providerMsg, 500); detail != "" {
		msg += ": " + detail
	}
	e := &Error{Status: status, Message: o.scrub(msg)}
	if status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500 {
		e.Retryable = true
		e.RetryAfter = parseRetryAfter(call.retryAfter, time.Now())
	}
	return e
}

// scrub removes the API key from a message.
func (o *OpenAI) scrub(msg string) string {
	if o.apiKey == "" {
		return msg
	}
	return strings.ReplaceAll(msg, o.apiKey, "[redacted]")
}

// oneLine collapses whitespace and cuts s to at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "..."
	}
	return s
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(secs, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}
