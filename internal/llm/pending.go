package llm

import "context"

// NewOpenAI returns the OpenAI-compatible provider (being built on branch llm).
func NewOpenAI(s Settings) (Provider, error) { return unavailable{name: "openai", model: s.Model}, nil }

type unavailable struct{ name, model string }

func (u unavailable) Name() string  { return u.name }
func (u unavailable) Model() string { return u.model }
func (u unavailable) Complete(context.Context, Request) (Response, error) {
	return Response{}, &Error{Message: "provider " + u.name + " is not built yet"}
}
