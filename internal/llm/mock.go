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
type Mock struct {
	model   string
	catalog *mockproject.Catalog
}

// defaultMaxFiles bounds a code reply when the brief gives no MaxFiles.
const defaultMaxFiles = 5

// NewMock returns the offline mock provider reporting model as its model.
func NewMock(model string) Provider {
	catalog, err := mockproject.Load()
	if err != nil {
		// The catalog is embedded and checked by the package tests, so this
		// is a build defect, not a runtime condition.
		panic("llm: embedded mock catalog is broken: " + err.Error())
	}
	if model == "" {
		model = "mock"
	}
	return &Mock{model: model, catalog: catalog}
}

// Name returns "mock".
func (m *Mock) Name() string { return "mock" }

// Model returns the configured model id.
func (m *Mock) Model() string { return m.model }

// Complete answers one request; see Mock for the behaviour.
func (m *Mock) Complete(ctx context.Context, req Request) (Response, error) {
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
	text, err := m.reply(newMockCall(m.catalog, brief, marks), req)
	if err != nil {
		return Response{}, err
	}
	in, out := max(wordCount(req.Messages...), 1), max(len(strings.Fields(text)), 1)
	return Response{
		Text:  text,
		Model: m.model,
		Usage: Usage{InputTokens: int64(in), OutputTokens: int64(out), TotalTokens: int64(in + out)},
	}, nil
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
