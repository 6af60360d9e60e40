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
}

// Usage counts tokens of one call.
type Usage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	TotalTokens  int64 `json:"total_tokens"`
}

// Response is one completion.
type Response struct {
	Text  string
	Usage Usage
	Model string
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
	Status     int
	Retryable  bool
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

// Settings configure a provider; they come from the LLM_* variables.
type Settings struct {
	Provider    string
	Model       string
	APIKey      string
	BaseURL     string
	MaxTokens   int
	Timeout     time.Duration
	Temperature float64
}

// New returns the provider named by s.Provider.
func New(s Settings) (Provider, error) {
	switch s.Provider {
	case "", "mock":
		return NewMock(s.Model), nil
	case "openai":
		return NewOpenAI(s)
	}
	return nil, fmt.Errorf("llm: unknown provider %q (allowed: mock, openai)", s.Provider)
}
