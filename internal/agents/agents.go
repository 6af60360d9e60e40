// Package agents turns pipeline stages into LLM conversations: it writes the
// role prompts, sends the stage brief, parses and validates the JSON reply
// (with one corrective retry), and reports token usage.
package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"ai-platform/internal/llm"
)

// ErrInvalidReply means the model did not return the JSON the stage needs,
// even after one corrective follow-up.
var ErrInvalidReply = errors.New("invalid model reply")

// Agents runs the four roles against one provider.
type Agents struct {
	Provider    llm.Provider
	MaxTokens   int
	Temperature float64
}

// Call is the outcome of one stage conversation.
type Call struct {
	Usage llm.Usage
	Model string
	// Calls counts provider requests (2 when a corrective retry happened).
	Calls int
	// Each holds every provider request's own usage and model, in order.
	Each []Request
}

// Request is the usage of one provider request of a conversation.
type Request struct {
	Usage llm.Usage
	Model string
}

func (c *Call) add(r llm.Response) {
	c.Usage.InputTokens += r.Usage.InputTokens
	c.Usage.OutputTokens += r.Usage.OutputTokens
	c.Usage.TotalTokens += r.Usage.TotalTokens
	c.Model = r.Model
	c.Calls++
	c.Each = append(c.Each, Request{Usage: r.Usage, Model: r.Model})
}

// BeforeCall is invoked before every provider request (quota checks) with
// the tokens this conversation has used so far: they are charged only when
// the stage ends, so a check before a corrective second request must count
// them itself.
type BeforeCall func(ctx context.Context, pending llm.Usage) error

// ask sends system + brief, decodes the reply into out and validates it. On
// invalid JSON or a failed validation it appends the reply and one corrective
// message and asks once more.
func (a *Agents) ask(ctx context.Context, stage, system string, brief llm.Brief, attempt int, before BeforeCall, out any, validate func() error) (Call, error) {
	body, err := json.MarshalIndent(brief, "", "  ")
	if err != nil {
		return Call{}, fmt.Errorf("encoding %s brief: %w", stage, err)
	}
	msgs := []llm.Message{{Role: "system", Content: system}, {Role: "user", Content: string(body)}}
	var call Call
	var lastProblem error
	for round := 0; round < 2; round++ {
		if before != nil {
			if err := before(ctx, call.Usage); err != nil {
				return call, err
			}
		}
		resp, err := a.Provider.Complete(ctx, llm.Request{
			Stage: stage, Messages: msgs, MaxTokens: a.MaxTokens, Temperature: a.Temperature,
			JSON: true, Attempt: attempt, Sink: llm.SinkFrom(ctx),
		})
		if err != nil {
			return call, err
		}
		call.add(resp)
		lastProblem = decode(resp.Text, out)
		if lastProblem == nil && validate != nil {
			lastProblem = validate()
		}
		if lastProblem == nil {
			return call, nil
		}
		msgs = append(msgs,
			llm.Message{Role: "assistant", Content: truncate(resp.Text, 4000)},
			llm.Message{Role: "user", Content: "Your previous reply was not usable: " + lastProblem.Error() +
				". Reply again with ONLY one JSON object of the required shape, no prose and no code fences."})
	}
	return call, fmt.Errorf("%w at the %s stage: %v", ErrInvalidReply, stage, lastProblem)
}

// decode parses a JSON object, tolerating code fences and text around it.
func decode(text string, out any) error {
	t := strings.TrimSpace(text)
	t = strings.TrimPrefix(t, "```json")
	t = strings.TrimPrefix(t, "```")
	t = strings.TrimSuffix(t, "```")
	t = strings.TrimSpace(t)
	if err := json.Unmarshal([]byte(t), out); err == nil {
		return nil
	}
	i, j := strings.Index(t, "{"), strings.LastIndex(t, "}")
	if i < 0 || j <= i {
		return errors.New("the reply contains no JSON object")
	}
	if err := json.Unmarshal([]byte(t[i:j+1]), out); err != nil {
		return fmt.Errorf("the reply is not valid JSON: %v", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
