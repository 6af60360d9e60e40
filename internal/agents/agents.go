// Package agents turns pipeline stages into LLM conversations: it writes the
// role prompts, sends the stage brief, parses and validates the JSON reply
// (with one corrective retry), continues replies cut off at the token
// limit, moves a call to a fallback model when the primary's retries ran
// out, and reports token usage per provider request.
package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"ai-platform/internal/llm"
)

// ErrInvalidReply means the model did not return the JSON the stage needs,
// even after one corrective follow-up (or its reply stayed cut off at the
// token limit after MaxContinuations continuation requests).
var ErrInvalidReply = errors.New("invalid model reply")

// MaxContinuations bounds the continuation requests of one reply cut off
// at the token limit. With LLM_MAX_TOKENS=1024 (~4 KB a request) 24
// continuations carry ~100 KB: a 2,000-line file.
const MaxContinuations = 24

// Agents runs the four roles against one provider.
type Agents struct {
	Provider    llm.Provider
	MaxTokens   int
	Temperature float64
	// Fallbacks are the models (LLM_FALLBACK_MODELS) a request moves to,
	// in order, when it fails on the primary model with a retryable error
	// on the final attempt of the activity's retry policy.
	Fallbacks []string
	// Prompts are the codex's overrides of role prompt texts, by role
	// (RoleResearch...); a missing role uses the embedded prompt.
	Prompts map[string]string
}

// Turn is what a stage conversation knows of the activity attempt it runs
// in.
type Turn struct {
	// Attempt is the 1-based activity attempt (the mock plays transient
	// failures by it).
	Attempt int
	// Final is true on the last attempt of the activity's retry policy:
	// only then does a retryable failure move to a fallback model; earlier
	// failures go back to Temporal, which retries on the primary.
	Final bool
	// Before runs before every provider request (quota checks).
	Before BeforeCall
}

// Call is the outcome of one stage conversation.
type Call struct {
	Usage llm.Usage
	Model string
	// Calls counts provider requests that were charged (a corrective
	// retry, continuations, smaller batches and fallbacks add theirs).
	Calls int
	// Each holds every provider request's own usage and model, in order.
	Each []Request
	// Fallbacks lists each move to a fallback model, in order.
	Fallbacks []Fallback
	// Truncations lists each reply cut off at the token limit and what was
	// done about it.
	Truncations []Truncation
}

// Request is the usage of one provider request of a conversation.
type Request struct {
	Usage llm.Usage
	Model string
	// FinishReason is why the model stopped (llm.FinishLength: cut off).
	FinishReason string
	// Counted is true when the server reported no usage and it was
	// counted locally (llm.Response.UsageCounted).
	Counted bool
}

// Fallback is one move of a request to a fallback model.
type Fallback struct {
	From string
	To   string
	// Error is the failure on From that caused the move (not redacted:
	// the activity redacts it before writing it anywhere).
	Error string
}

// What was done about a truncated reply (Truncation.Action).
const (
	// TruncationContinued: the model was asked to continue where it
	// stopped and the parts were joined.
	TruncationContinued = "continued"
	// TruncationSplit: a multi-file code reply was cut off; the files are
	// asked for again in smaller batches.
	TruncationSplit = "split"
	// TruncationGaveUp: still cut off after MaxContinuations continuations.
	TruncationGaveUp = "gave_up"
)

// Truncation reports one reply cut off at the token limit.
type Truncation struct {
	Action string
	// Requests counts the provider requests the reply took, the cut ones
	// included.
	Requests int
	// Detail says what happened in words, for the event.
	Detail string
}

func (c *Call) add(r llm.Response, model string) {
	c.Usage.InputTokens += r.Usage.InputTokens
	c.Usage.OutputTokens += r.Usage.OutputTokens
	c.Usage.TotalTokens += r.Usage.TotalTokens
	c.Model = model
	c.Calls++
	c.Each = append(c.Each, Request{Usage: r.Usage, Model: model, FinishReason: r.FinishReason, Counted: r.UsageCounted})
}

// BeforeCall is invoked before every provider request (quota and budget
// checks) with the tokens this conversation has used so far (they are
// charged only when the stage ends, so a check before a later request must
// count them itself) and the request about to be sent, its Model set to the
// model it goes to.
type BeforeCall func(ctx context.Context, pending llm.Usage, next llm.Request) error

// conversation is the state of one stage conversation across its
// requests.
type conversation struct {
	a     *Agents
	stage string
	turn  Turn
	call  Call
	// model is "" on the primary model, or the fallback the conversation
	// moved to: its later requests (corrections, continuations) stay on
	// it, since the primary's retries have run out.
	model string
	// nextFallback indexes the fallback model to try next.
	nextFallback int
}

func (a *Agents) converse(stage string, turn Turn) *conversation {
	return &conversation{a: a, stage: stage, turn: turn}
}

// send performs one provider request, moving it to the next fallback model
// while the failure allows it. A reply stopped by the content filter is a
// refusal.
func (c *conversation) send(ctx context.Context, msgs []llm.Message, jsonReply bool) (llm.Response, error) {
	resp, err := c.request(ctx, msgs, jsonReply)
	for err != nil && c.mayFallBack(ctx, err) {
		to := c.a.Fallbacks[c.nextFallback]
		c.nextFallback++
		from := c.modelName()
		if to == from {
			continue
		}
		c.call.Fallbacks = append(c.call.Fallbacks, Fallback{From: from, To: to, Error: err.Error()})
		c.model = to
		resp, err = c.request(ctx, msgs, jsonReply)
	}
	if err == nil && resp.FinishReason == llm.FinishContentFilter {
		err = &llm.Error{Refused: true, Message: "the model stopped its reply at its content filter"}
	}
	return resp, err
}

// mayFallBack: only on the final attempt, only for failures another
// attempt could fix (rate limits, unavailability, timeouts), never when
// the caller gave up, and only while fallback models are left.
func (c *conversation) mayFallBack(ctx context.Context, err error) bool {
	return c.turn.Final && ctx.Err() == nil && llm.IsRetryable(err) && !llm.IsRefusal(err) &&
		c.nextFallback < len(c.a.Fallbacks)
}

func (c *conversation) modelName() string {
	if c.model != "" {
		return c.model
	}
	return c.a.Provider.Model()
}

// request is one provider request on the conversation's current model. Its
// usage is counted also when it failed: a reply cut off mid-stream was
// billed for what it streamed.
func (c *conversation) request(ctx context.Context, msgs []llm.Message, jsonReply bool) (llm.Response, error) {
	req := llm.Request{
		Stage: c.stage, Messages: msgs, MaxTokens: c.a.MaxTokens, Temperature: c.a.Temperature,
		JSON: jsonReply, Attempt: c.turn.Attempt, Model: c.model, Sink: llm.SinkFrom(ctx),
	}
	if c.turn.Before != nil {
		next := req
		next.Model = c.modelName()
		if err := c.turn.Before(ctx, c.call.Usage, next); err != nil {
			return llm.Response{}, err
		}
	}
	sctx, span := c.startRequestSpan(ctx, req)
	resp, err := c.a.Provider.Complete(sctx, req)
	model := resp.Model
	if model == "" {
		model = c.modelName()
	}
	endRequestSpan(span, resp, model, err)
	if err == nil || resp.Usage != (llm.Usage{}) {
		c.call.add(resp, model)
	}
	return resp, err
}

// continuePrompt asks for the rest of a reply cut off at the token limit.
const continuePrompt = "Your reply was cut off at the token limit. Continue it exactly where it stopped: " +
	"send only the rest, starting with the very next character, without repeating anything already " +
	"written and without code fences or comments."

// errCut is complete's answer when the reply was cut off and the caller
// asked not to continue it (the coder asks for fewer files instead).
var errCut = errors.New("the reply was cut off at the token limit")

// complete sends msgs and returns the whole reply. A reply cut off at the
// token limit (finish_reason length) is continued when cont is set: the
// part so far goes back as an assistant message with a request to continue,
// and the parts are joined, up to MaxContinuations times; otherwise errCut.
func (c *conversation) complete(ctx context.Context, msgs []llm.Message, cont bool) (string, error) {
	resp, err := c.send(ctx, msgs, true)
	if err != nil {
		return "", err
	}
	text := resp.Text
	if resp.FinishReason != llm.FinishLength {
		return text, nil
	}
	if !cont {
		return text, errCut
	}
	for n := 1; ; n++ {
		if n > MaxContinuations {
			c.call.Truncations = append(c.call.Truncations, Truncation{Action: TruncationGaveUp, Requests: n,
				Detail: fmt.Sprintf("still cut off after %d continuation requests", MaxContinuations)})
			return text, fmt.Errorf("%w at the %s stage: the reply was cut off at the token limit (max tokens %d) "+
				"and was still incomplete after %d continuation requests (%d characters)",
				ErrInvalidReply, c.stage, c.a.MaxTokens, MaxContinuations, len(text))
		}
		// The continuation is not a JSON object of its own: JSON mode
		// would make the model start a new object instead of continuing.
		more := append(slices.Clip(msgs),
			llm.Message{Role: "assistant", Content: text}, llm.Message{Role: "user", Content: continuePrompt})
		resp, err = c.send(ctx, more, false)
		if err != nil {
			c.call.Truncations = append(c.call.Truncations, Truncation{Action: TruncationContinued, Requests: n + 1,
				Detail: fmt.Sprintf("continuation request %d failed", n)})
			return text, err
		}
		text = join(text, resp.Text)
		if resp.FinishReason != llm.FinishLength {
			c.call.Truncations = append(c.call.Truncations, Truncation{Action: TruncationContinued, Requests: n + 1,
				Detail: fmt.Sprintf("reply cut off at the token limit; continued with %d request(s) and joined (%d characters)",
					n, len(text))})
			return text, nil
		}
	}
}

// join appends a continuation to the reply so far. A continuation that
// opens with a code fence line drops it: a real newline cannot occur inside
// a JSON string, so the fence is never part of the reply's content.
func join(text, more string) string {
	for _, fence := range []string{"```json\n", "```\n"} {
		if strings.HasPrefix(more, fence) {
			more = strings.TrimSuffix(strings.TrimSuffix(more[len(fence):], "\n"), "```")
			break
		}
	}
	return text + more
}

// ask sends system + brief, decodes the reply into out and validates it. On
// invalid JSON or a failed validation it appends the reply and one corrective
// message and asks once more. cont says whether a reply cut off at the
// token limit is continued (else errCut).
func (c *conversation) ask(ctx context.Context, role string, brief llm.Brief, cont bool, out any, validate func() error) error {
	system, err := c.a.SystemPrompt(role)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(brief, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s brief: %w", c.stage, err)
	}
	msgs := []llm.Message{{Role: "system", Content: system}, {Role: "user", Content: string(body)}}
	var lastProblem error
	for round := 0; round < 2; round++ {
		text, err := c.complete(ctx, msgs, cont)
		if err != nil {
			return err
		}
		lastProblem = decode(text, out)
		if lastProblem == nil && validate != nil {
			lastProblem = validate()
		}
		if lastProblem == nil {
			return nil
		}
		msgs = append(msgs,
			llm.Message{Role: "assistant", Content: truncate(text, 4000)},
			llm.Message{Role: "user", Content: "Your previous reply was not usable: " + lastProblem.Error() +
				". Reply again with ONLY one JSON object of the required shape, no prose and no code fences."})
	}
	return fmt.Errorf("%w at the %s stage: %v", ErrInvalidReply, c.stage, lastProblem)
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
