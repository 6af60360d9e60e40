package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"ai-platform/internal/llm/mockproject"
	"ai-platform/internal/task"
)

// Mock is the offline provider: deterministic, instant and network-free. It
// reads the last user message that holds a Brief (JSON), and answers with the
// JSON reply of the brief's stage (ResearchReply, DesignReply, CodeReply or
// ReviewReply). Designs and code come from the embedded catalog in
// mockproject: for python_cli, python_fastapi, python_lib and free-form
// requests the union of template and generated files is a small Python
// project that compiles, passes its pytest tests and is clean under
// pyflakes, pycodestyle and ruff (E, F, I at 100 columns). The request text
// (cleaned: one line, no backslashes or double quotes, truncated) appears in
// every module docstring and in the README, so projects differ by request.
// The same brief always gives a byte-identical reply.
//
// Markers in the task description switch on unhappy paths (see MOCK.md):
//
//   - [mock:clarify]: research asks one choice question, id "scope"; once
//     Answers has "scope", the README and docstrings name the chosen scope.
//   - [mock:review-fail-once]: the implement_component reply of iteration 1
//     has a real defect in its first source file (an unused import and a bug
//     its tests catch); later replies, and every fix_review_issues reply,
//     are correct.
//   - [mock:fail-always]: the design adds tests/test_acceptance.py, whose
//     test fails in every reply, so iterations run out.
//   - [mock:review-reject]: the review stage answers request_changes.
//   - [mock:llm-error]: the code stage fails with a non-retryable *Error
//     (HTTP 401, "invalid api key (mock)").
//   - [mock:llm-transient]: the design stage fails with a retryable *Error
//     (HTTP 503) while Request.Attempt <= 1.
//   - [mock:invalid-json]: the design stage answers prose with a broken
//     object unless the request carries a corrective follow-up (more than
//     two messages).
//   - [mock:invalid-always]: every design reply is invalid JSON.
//   - [mock:slow=N]: every call first sleeps N seconds (1..600), returning
//     ctx.Err() when the context ends first.
//   - [mock:sleepy-tests=N]: the design adds tests/test_slow.py, a passing
//     test that sleeps N seconds (1..3600).
//   - [mock:big=N]: the design adds 2N data files data/blob_NNN.txt of 512
//     KiB each (N MiB in all, N in 1..20), five per component.
//   - [mock:refuse]: the code stage refuses (*Error{Refused: true}, the
//     content-filter refusal of a real model).
//   - [mock:rate-limit-primary]: every request on the configured model
//     fails with a retryable 429 *Error; a request whose Model names another
//     model (a fallback) is answered normally.
//
// With a Request.Sink the reply is streamed to it in chunks of 16 to 48
// bytes, pausing the configured stream delay between chunks; the Response
// is the same as without a sink.
type Mock struct {
	model   string
	catalog *mockproject.Catalog
	// delay paces streamed chunks (LLM_MOCK_STREAM_DELAY_MS).
	delay time.Duration
}

// defaultMaxFiles bounds a code reply when the brief gives no MaxFiles.
const defaultMaxFiles = 5

// NewMock returns the offline mock provider reporting model as its model.
// It streams to a request's sink without pauses.
func NewMock(model string) Provider {
	return newMock(model, 0)
}

// newMock returns the mock provider pausing delay between streamed chunks.
func newMock(model string, delay time.Duration) *Mock {
	catalog, err := mockproject.Load()
	if err != nil {
		// The catalog is embedded and checked by the package tests, so this
		// is a build defect, not a runtime condition.
		panic("llm: embedded mock catalog is broken: " + err.Error())
	}
	if model == "" {
		model = "mock"
	}
	return &Mock{model: model, catalog: catalog, delay: max(delay, 0)}
}

// Name returns "mock".
func (m *Mock) Name() string { return "mock" }

// Model returns the configured model id.
func (m *Mock) Model() string { return m.model }

// Complete answers one request; see Mock for the behaviour.
func (m *Mock) Complete(ctx context.Context, req Request) (Response, error) {
	model := m.model
	if req.Model != "" {
		model = req.Model
	}
	sink := emitter(req.Sink)
	sink.begin(model)
	resp, err := m.complete(ctx, req, model, sink)
	sink.end(resp)
	return resp, err
}

func (m *Mock) complete(ctx context.Context, req Request, model string, sink emitter) (Response, error) {
	brief, err := findBrief(req.Messages)
	if err != nil {
		return Response{}, &Error{Status: 400, Message: "mock: " + err.Error()}
	}
	marks := parseMarkers(brief.Description)
	if marks.slow > 0 {
		timer := time.NewTimer(marks.slow)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return Response{}, ctx.Err()
		case <-timer.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	if marks.rateLimitPrimary && model == m.model {
		return Response{}, &Error{Status: 429, Retryable: true,
			Message: fmt.Sprintf("rate limited (mock): model %q is over its rate limit", model)}
	}
	text, err := m.reply(newMockCall(m.catalog, brief, marks), req)
	if err != nil {
		if IsRefusal(err) {
			return Response{FinishReason: FinishContentFilter}, err
		}
		return Response{}, err
	}
	resp := Response{Text: text, Model: model, Usage: mockUsage(req.Messages, text), FinishReason: FinishStop}
	if req.Sink == nil {
		return resp, nil
	}
	return m.stream(ctx, req.Messages, resp, sink)
}

// stream sends resp.Text to the sink in chunks, pausing m.delay between
// them. A context that ends mid-stream returns its error with the usage of
// what was streamed so far (the cut-off attempt is charged for it).
func (m *Mock) stream(ctx context.Context, messages []Message, resp Response, sink emitter) (Response, error) {
	var timer *time.Timer
	if m.delay > 0 {
		timer = time.NewTimer(m.delay)
		defer timer.Stop()
	}
	sent := 0
	for i, chunk := range mockChunks(resp.Text) {
		if i > 0 && timer != nil {
			timer.Reset(m.delay)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		if err := ctx.Err(); err != nil {
			return Response{Model: resp.Model, Usage: mockUsage(messages, resp.Text[:sent])}, err
		}
		sink.delta(chunk)
		sent += len(chunk)
	}
	return resp, nil
}

// mockUsage counts words: input = words of all messages, output = words of
// the reply, each at least 1.
func mockUsage(messages []Message, text string) Usage {
	in, out := max(wordCount(messages...), 1), max(len(strings.Fields(text)), 1)
	return Usage{InputTokens: int64(in), OutputTokens: int64(out), TotalTokens: int64(in + out)}
}

// reply dispatches on the stage and plays the stage's markers.
func (m *Mock) reply(c *mockCall, req Request) (string, error) {
	stage := c.brief.Stage
	if stage == "" {
		stage = req.Stage
	}
	switch stage {
	case task.StageResearch:
		return encodeReply(m.research(c))
	case task.StageDesign:
		if c.marks.transient && req.Attempt <= 1 {
			return "", &Error{Status: 503, Retryable: true, Message: "service unavailable (mock)"}
		}
		if c.marks.invalidAlways || c.marks.invalidOnce && len(req.Messages) <= 2 {
			return invalidDesign(c), nil
		}
		return encodeReply(m.design(c))
	case task.LLMStageCode:
		if c.marks.llmError {
			return "", &Error{Status: 401, Message: "invalid api key (mock)"}
		}
		if c.marks.refuse {
			return "", &Error{Refused: true, Message: "the model refused: I can't help with that request (mock)"}
		}
		reply, err := m.code(c)
		if err != nil {
			return "", err
		}
		return encodeReply(reply)
	case task.StageReview:
		return encodeReply(m.review(c))
	}
	return "", &Error{Status: 400, Message: fmt.Sprintf("mock: unknown stage %q", stage)}
}

// findBrief returns the last user message that is a JSON object with a
// "stage" field. Later user messages (a corrective follow-up) are skipped.
func findBrief(messages []Message) (Brief, error) {
	for i := len(messages) - 1; i >= 0; i-- {
		if messages[i].Role != "user" {
			continue
		}
		if b, ok := decodeBrief(messages[i].Content); ok {
			return b, nil
		}
	}
	return Brief{}, errors.New("no user message holds a JSON brief with a stage")
}

func decodeBrief(content string) (Brief, bool) {
	candidates := []string{strings.TrimSpace(content)}
	if i, j := strings.IndexByte(content, '{'), strings.LastIndexByte(content, '}'); i >= 0 && j > i {
		candidates = append(candidates, content[i:j+1])
	}
	for _, c := range candidates {
		var probe struct {
			Stage *string `json:"stage"`
		}
		var b Brief
		if json.Unmarshal([]byte(c), &probe) == nil && probe.Stage != nil && json.Unmarshal([]byte(c), &b) == nil {
			return b, true
		}
	}
	return Brief{}, false
}

// invalidDesign is the broken reply of the invalid-json markers: prose
// around an object that is never closed.
func invalidDesign(c *mockCall) string {
	return "Sure! Here is the design for " + c.data.Title + ":\n" +
		`{"summary": "` + c.data.Title + `", "components": [{"name": "Core", "files": ["main.py"]` +
		"\n...and the rest follows in the next message."
}

// encodeReply renders a reply as compact JSON without HTML escaping.
func encodeReply(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("mock: encode reply: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func wordCount(messages ...Message) int {
	n := 0
	for _, msg := range messages {
		n += len(strings.Fields(msg.Content))
	}
	return n
}
