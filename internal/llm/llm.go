// Package llm holds the Provider interface, the offline mock provider and the
// OpenAI-compatible provider, plus the JSON brief/reply shapes the pipeline
// stages exchange with a model.
package llm

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Message is one chat message.
type Message struct {
	Role    string `json:"role"` // system | user | assistant
	Content string `json:"content"`
}

// Request is one completion request.
type Request struct {
	// Stage names the pipeline stage (research, design, code, review); it is
	// recorded with the usage and lets the mock pick its reply.
	Stage       string
	Messages    []Message
	MaxTokens   int
	Temperature float64
	// JSON asks for a JSON object reply (response_format json_object).
	JSON bool
	// Attempt is the 1-based activity attempt; the mock uses it to play
	// transient failures deterministically.
	Attempt int
	// Model, when set, overrides the provider's configured model for this
	// request (a fallback model from LLM_FALLBACK_MODELS).
	Model string
	// Sink, when set, receives the reply as it is written (streaming).
	// Partial text goes only to the sink, never into the Response until
	// the reply is complete.
	Sink Sink
}

// StreamEvent is one step of a streamed reply.
type StreamEvent struct {
	// Kind is StreamBegin (a provider request starts), StreamDelta (more
	// text arrived) or StreamEnd (the request finished, well or not).
	Kind  string
	Text  string // StreamDelta: the new text only
	Model string // StreamBegin: the model asked
	// Usage is set on StreamEnd when known (the usage chunk, or a count).
	Usage        Usage
	FinishReason string // StreamEnd
}

// Stream event kinds.
const (
	StreamBegin = "begin"
	StreamDelta = "delta"
	StreamEnd   = "end"
)

// Sink receives a streamed reply. It must be quick: it runs on the
// goroutine reading the provider's response.
type Sink func(StreamEvent)

type sinkKey struct{}

// WithSink returns ctx carrying sink; the stage conversations (package
// agents) put it on every request they send under ctx.
func WithSink(ctx context.Context, sink Sink) context.Context {
	return context.WithValue(ctx, sinkKey{}, sink)
}

// SinkFrom returns the sink ctx carries, or nil.
func SinkFrom(ctx context.Context) Sink {
	s, _ := ctx.Value(sinkKey{}).(Sink)
	return s
}

// Finish reasons a Response reports (OpenAI's finish_reason values).
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishContentFilter = "content_filter"
)

// Usage counts tokens of one call.
type Usage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	TotalTokens  int64 `json:"total_tokens"`
}

// Response is one completion. Complete may return a Response with Usage
// set together with an error: a reply cut off mid-stream still used (and
// is billed for) the tokens it streamed.
type Response struct {
	Text  string
	Usage Usage
	Model string
	// FinishReason is why the model stopped: FinishStop, FinishLength (cut
	// off at max_tokens: Text is incomplete) or another provider value.
	FinishReason string
	// UsageCounted is true when the server reported no usage and Usage was
	// counted locally from the request and reply text.
	UsageCounted bool
}

// Provider is an LLM backend.
type Provider interface {
	// Name is the provider id: "mock" or "openai".
	Name() string
	// Model is the configured model id.
	Model() string
	// Complete performs one request without retrying; retries belong to the
	// caller (Temporal's activity retry policy).
	Complete(ctx context.Context, req Request) (Response, error)
}

// Error is a provider failure. Retryable errors (timeouts, 408, 429, 5xx,
// transport failures) may succeed on a later attempt; others never will.
type Error struct {
	Status    int
	Retryable bool
	// Refused marks a content-policy refusal (finish_reason
	// content_filter, a refusal in the message, or a 400 whose error code
	// names the content policy). It is never retryable.
	Refused    bool
	RetryAfter time.Duration
	Message    string
}

func (e *Error) Error() string {
	if e.Status > 0 {
		return fmt.Sprintf("LLM provider error (HTTP %d): %s", e.Status, e.Message)
	}
	return "LLM provider error: " + e.Message
}

// IsRetryable reports whether err is an *Error marked retryable, or a
// deadline (a per-attempt timeout is worth another attempt).
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// IsRefusal reports whether err is a content-policy refusal.
func IsRefusal(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Refused
}

// Settings configure a provider; they come from the LLM_* variables.
type Settings struct {
	Provider    string
	Model       string
	APIKey      string
	BaseURL     string
	MaxTokens   int
	Timeout     time.Duration
	Temperature float64
	// Stream asks the OpenAI provider to stream replies (LLM_STREAM).
	Stream bool
	// MockStreamDelay paces the mock's streamed chunks
	// (LLM_MOCK_STREAM_DELAY_MS); 0 streams without delay.
	MockStreamDelay time.Duration
}

// New returns the provider named by s.Provider.
func New(s Settings) (Provider, error) {
	switch s.Provider {
	case "", "mock":
		return newMock(s.Model, s.MockStreamDelay), nil
	case "openai":
		return NewOpenAI(s)
	}
	return nil, fmt.Errorf("llm: unknown provider %q (allowed: mock, openai)", s.Provider)
}
