package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	stream      bool
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
	// A non-streamed request is bounded as a whole by the timeout; a
	// streamed one by its context (idle timeout and overall cap, see
	// completeStream), so its client has no timeout of its own.
	cfg.HTTPClient = &wire{client: &http.Client{Timeout: timeout}, stream: &http.Client{}}
	// Servers may send SSE comments (keep-alives) while a model thinks;
	// go-openai counts them as empty messages and gives up after its
	// limit (300), so allow many more.
	cfg.EmptyMessagesLimit = 100_000
	return &OpenAI{
		client:      openai.NewClientWithConfig(cfg),
		model:       s.Model,
		maxTokens:   s.MaxTokens,
		temperature: s.Temperature,
		timeout:     timeout,
		stream:      s.Stream,
		apiKey:      s.APIKey,
	}, nil
}

// Name returns "openai".
func (o *OpenAI) Name() string { return "openai" }

// Model returns the configured model id.
func (o *OpenAI) Model() string { return o.model }

// Complete sends one chat-completions request, streamed when the provider
// was configured with Settings.Stream. Request.MaxTokens and a non-zero
// Request.Temperature override the configured values; temperature is always
// sent, also when it is 0. Request.Model overrides the model sent. The sink
// (Request.Sink), when set, gets StreamBegin, the text as StreamDelta events
// (one event with the whole reply when not streaming) and StreamEnd.
//
// A refusal (finish_reason content_filter or a refusal in the reply) and a
// stream cut off mid-way return the *Error together with a Response whose
// Usage counts what the attempt used, so it can be charged.
func (o *OpenAI) Complete(ctx context.Context, req Request) (Response, error) {
	model := o.model
	if req.Model != "" {
		model = req.Model
	}
	body, temperature := o.body(req, model)
	call := &callState{temperature: temperature, stream: o.stream}
	sink := emitter(req.Sink)
	sink.begin(model)
	var resp Response
	var err error
	if o.stream {
		resp, err = o.completeStream(ctx, body, call, req, sink)
	} else {
		resp, err = o.completeOnce(ctx, body, call, sink)
	}
	sink.end(resp)
	return resp, err
}

// body builds the request body and returns the temperature the wire must
// write into it.
func (o *OpenAI) body(req Request, model string) (openai.ChatCompletionRequest, float64) {
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
		Model:    model,
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
	return body, temperature
}

// completeOnce sends one non-streamed request, bounded as a whole by the
// timeout.
func (o *OpenAI) completeOnce(ctx context.Context, body openai.ChatCompletionRequest, call *callState, sink emitter) (Response, error) {
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
		model = body.Model
	}
	choice := resp.Choices[0]
	out := Response{Text: choice.Message.Content, Usage: usage, Model: model, FinishReason: string(choice.FinishReason)}
	if usage.TotalTokens == 0 {
		out.Usage, out.UsageCounted = countedUsage(requestMessages(body), out.Text), true
	}
	if err := refusal(out.FinishReason, choice.Message.Refusal); err != nil {
		out.Text = ""
		return out, err
	}
	sink.delta(out.Text)
	return out, nil
}

// completeStream sends one streamed request. The timeout bounds the wait
// for the first byte and each silence between chunks (idle), not the whole
// reply: a long reply that keeps arriving is not cut off, up to an overall
// cap of streamCapFactor times the timeout.
func (o *OpenAI) completeStream(ctx context.Context, body openai.ChatCompletionRequest, call *callState, req Request, sink emitter) (Response, error) {
	body.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	idleCtx, cancelIdle := context.WithCancelCause(context.WithValue(ctx, callStateKey{}, call))
	defer cancelIdle(nil)
	callCtx, cancel := context.WithTimeout(idleCtx, o.timeout*streamCapFactor)
	defer cancel()
	idle := time.AfterFunc(o.timeout, func() { cancelIdle(errIdle) })
	defer idle.Stop()
	// The wire calls this on every read that brought bytes. Reset re-arms a
	// timer that already fired too, which only cancels a context that is
	// already cancelled.
	call.touch = func() { idle.Reset(o.timeout) }

	var text, refused strings.Builder
	var serverUsage *openai.Usage
	var finish string
	model := body.Model
	// result is the Response as far as the stream got: the server's usage
	// when it sent its usage chunk, else a local count once the server
	// accepted the request (a request it never answered costs nothing).
	result := func() Response {
		r := Response{Text: text.String(), Model: model, FinishReason: finish}
		switch {
		case serverUsage != nil && serverUsage.TotalTokens+serverUsage.PromptTokens+serverUsage.CompletionTokens > 0:
			r.Usage = Usage{InputTokens: int64(serverUsage.PromptTokens), OutputTokens: int64(serverUsage.CompletionTokens),
				TotalTokens: int64(serverUsage.TotalTokens)}
			if r.Usage.TotalTokens == 0 {
				r.Usage.TotalTokens = r.Usage.InputTokens + r.Usage.OutputTokens
			}
		case call.status >= 200 && call.status < 300:
			r.Usage, r.UsageCounted = countedUsage(req.Messages, r.Text), true
		}
		return r
	}

	stream, err := o.client.CreateChatCompletionStream(callCtx, body)
	if err != nil {
		return result(), o.streamFailure(ctx, callCtx, err, call)
	}
	defer stream.Close()
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			partial := result()
			partial.Text = "" // incomplete text never leaves the sink
			return partial, o.streamFailure(ctx, callCtx, err, call)
		}
		if chunk.Model != "" {
			model = chunk.Model
		}
		if chunk.Usage != nil {
			serverUsage = chunk.Usage
		}
		for _, c := range chunk.Choices {
			if c.Index != 0 {
				continue // only the first choice is asked for (n = 1)
			}
			if c.Delta.Content != "" {
				text.WriteString(c.Delta.Content)
				sink.delta(c.Delta.Content)
			}
			refused.WriteString(c.Delta.Refusal)
			if c.FinishReason != "" && c.FinishReason != openai.FinishReasonNull {
				finish = string(c.FinishReason)
			}
		}
	}
	out := result()
	if err := refusal(finish, refused.String()); err != nil {
		out.Text = ""
		return out, err
	}
	if finish == "" {
		// Every OpenAI-compatible server ends a complete reply with a
		// finish_reason; a body that ends without one was cut off (a proxy
		// or the server closed the connection cleanly mid-reply).
		out.Text = ""
		return out, &Error{Status: call.status, Retryable: true,
			Message: fmt.Sprintf("the stream ended before the reply was complete (no finish_reason after %d bytes)", text.Len())}
	}
	return out, nil
}

// streamCapFactor bounds a streamed reply as a whole: streamCapFactor times
// LLM_TIMEOUT_SECONDS, however steadily it arrives.
const streamCapFactor = 10

// errIdle is the cause of a streamed call cancelled for silence.
var errIdle = errors.New("no data from the provider within the idle timeout")

// streamFailure classifies the failure of a streamed call.
func (o *OpenAI) streamFailure(ctx, callCtx context.Context, err error, call *callState) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(context.Cause(callCtx), errIdle) {
		what := "the stream stalled"
		if call.status == 0 {
			what = "no response"
		}
		return &Error{Status: call.status, Retryable: true,
			Message: fmt.Sprintf("%s: no data for %s (LLM_TIMEOUT_SECONDS)", what, o.timeout)}
	}
	if errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return &Error{Status: call.status, Retryable: true,
			Message: fmt.Sprintf("the streamed reply took longer than %s in all (%dx LLM_TIMEOUT_SECONDS)", o.timeout*streamCapFactor, streamCapFactor)}
	}
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) && apiErr.HTTPStatusCode == 0 {
		// An error event inside a stream that had started (HTTP 200).
		if contentPolicy(apiErr) {
			return &Error{Status: call.status, Refused: true,
				Message: o.scrub("refused under the provider's content policy: " + oneLine(apiErr.Message, 500))}
		}
		return &Error{Status: call.status, Retryable: true,
			Message: o.scrub("the provider reported an error mid-stream: " + oneLine(apiErr.Message, 500))}
	}
	if call.status >= 200 && call.status < 300 {
		return &Error{Status: call.status, Retryable: true, Message: o.scrub("the stream broke: " + err.Error())}
	}
	return o.classify(err, call)
}

// refusal returns the *Error of a refused reply, or nil.
func refusal(finishReason, refusalText string) error {
	switch {
	case strings.TrimSpace(refusalText) != "":
		return &Error{Refused: true, Message: "the model refused: " + oneLine(refusalText, 300)}
	case finishReason == FinishContentFilter:
		return &Error{Refused: true, Message: "the reply was withheld by the provider's content filter (finish_reason content_filter)"}
	}
	return nil
}

// contentPolicy reports whether an API error names the content policy:
// OpenAI's code content_policy_violation, Azure's content_filter and
// ResponsibleAIPolicyViolation, or a message saying so.
func contentPolicy(e *openai.APIError) bool {
	code, _ := e.Code.(string)
	fields := []string{code, e.Type}
	if e.InnerError != nil {
		fields = append(fields, e.InnerError.Code)
	}
	for _, f := range fields {
		f = strings.ToLower(f)
		if strings.Contains(f, "content_policy") || strings.Contains(f, "content_filter") ||
			strings.Contains(f, "responsibleaipolicy") {
			return true
		}
	}
	return mentionsContentPolicy(e.Message)
}

// mentionsContentPolicy reports whether a provider's error text names the
// content policy.
func mentionsContentPolicy(msg string) bool {
	msg = strings.ToLower(msg)
	for _, s := range []string{"content_policy", "content policy", "content management policy", "content_filter", "content filter"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// requestMessages returns the messages of a request body as Messages.
func requestMessages(body openai.ChatCompletionRequest) []Message {
	out := make([]Message, 0, len(body.Messages))
	for _, m := range body.Messages {
		out = append(out, Message{Role: m.Role, Content: m.Content})
	}
	return out
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
		if apiErr.HTTPStatusCode == http.StatusBadRequest && contentPolicy(apiErr) {
			return o.refused(apiErr.HTTPStatusCode, apiErr.Message)
		}
		return o.httpError(apiErr.HTTPStatusCode, apiErr.Message, call)
	case errors.As(err, &reqErr):
		msg := strings.TrimSpace(string(reqErr.Body))
		if msg == "" {
			msg = http.StatusText(reqErr.HTTPStatusCode)
		}
		if reqErr.HTTPStatusCode == http.StatusBadRequest && mentionsContentPolicy(msg) {
			return o.refused(reqErr.HTTPStatusCode, msg)
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

// refused is the non-retryable *Error of a request the provider rejected
// under its content policy.
func (o *OpenAI) refused(status int, providerMsg string) *Error {
	return &Error{Status: status, Refused: true,
		Message: o.scrub("refused under the provider's content policy: " + oneLine(providerMsg, 500))}
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
