package activities

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/llm"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// scripted is a provider whose n-th request (from 1) answers script(n, req).
type scripted struct {
	mu     sync.Mutex
	n      int
	script func(n int, req llm.Request) (llm.Response, error)
}

func (s *scripted) Name() string  { return "scripted" }
func (s *scripted) Model() string { return "script-model" }
func (s *scripted) Complete(_ context.Context, req llm.Request) (llm.Response, error) {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	return s.script(n, req)
}

func (s *scripted) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func eventsOf(t *testing.T, st store.Store, taskID, typ string) []store.Event {
	t.Helper()
	page, err := st.ListEvents(context.Background(), taskID, store.ListOptions{Type: typ, Order: "asc", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func payloadOf(t *testing.T, e store.Event) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// runDesignWithRetries runs the real Design activity in the SDK test
// environment under the llmStage retry policy (three attempts).
func runDesignWithRetries(t *testing.T, f *fixture) error {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterActivityWithOptions(f.a.Design, activity.RegisterOptions{Name: task.ActDesign})
	wf := func(ctx workflow.Context, in task.StageIn) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
				NonRetryableErrorTypes: []string{task.ErrTypeLLMProvider, task.ErrTypeLLMInvalid}},
		})
		return workflow.ExecuteActivity(ctx, task.ActDesign, in).Get(ctx, nil)
	}
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "design-only"})
	env.ExecuteWorkflow("design-only", task.StageIn{Step: f.step("g0/s7"), Plan: task.Plan{MaxIterations: 3}})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	return env.GetWorkflowError()
}

// TestTransientLLMFailureOnEveryAttempt: a provider that answers 503 every
// time is asked exactly three times; the activity's final error names the
// stage, the attempt and the status (never the key), and each attempt's
// llm_error event is recorded. (The SDK test environment does not hand
// activities their retry policy, so here attempt 3 cannot know it is the
// last and stays "transient"; the workflow maps that to llm_provider_error,
// and TestLastLLMAttemptIsFinal covers the attempt that knows.)
func TestTransientLLMFailureOnEveryAttempt(t *testing.T) {
	prov := &scripted{script: func(int, llm.Request) (llm.Response, error) {
		return llm.Response{}, &llm.Error{Status: 503, Retryable: true, Message: "overloaded (key super-secret-value)"}
	}}
	f := newFixture(t, "A command line tool for notes", "", func(d *Deps) { d.Provider = prov })
	err := runDesignWithRetries(t, f)
	if prov.requests() != 3 {
		t.Fatalf("%d provider requests, want exactly 3 attempts", prov.requests())
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || (appErr.Type() != task.ErrTypeLLMProvider && appErr.Type() != task.ErrTypeLLMTransient) {
		t.Fatalf("final error %v, want an LLM provider error", err)
	}
	for _, want := range []string{"design stage", "attempt", "3", "HTTP 503", "[redacted]"} {
		if !strings.Contains(appErr.Message(), want) {
			t.Errorf("message %q lacks %q", appErr.Message(), want)
		}
	}
	if strings.Contains(appErr.Message(), "super-secret-value") {
		t.Errorf("message leaks the secret: %q", appErr.Message())
	}

	evs := eventsOf(t, f.store, f.task.ID, "llm_error")
	ids := map[string]bool{}
	var attempts []float64
	for _, e := range evs {
		ids[e.ID] = true
		p := payloadOf(t, e)
		n, _ := p["attempt"].(float64)
		attempts = append(attempts, n)
		if p["stage"] != "design" || strings.Contains(string(e.Payload), "super-secret-value") {
			t.Errorf("llm_error payload %v", p)
		}
	}
	if len(evs) != 3 || len(ids) != 3 || attempts[0] != 1 || attempts[1] != 2 || attempts[2] != 3 {
		t.Fatalf("llm_error events: %d with %d ids, attempts %v; want one per attempt", len(evs), len(ids), attempts)
	}
}

// TestLastLLMAttemptIsFinal: with the retry policy known, a transient
// failure stays retryable (with Retry-After) until the last attempt, which
// fails for good with llm_provider_error and a message for the task.
func TestLastLLMAttemptIsFinal(t *testing.T) {
	f := newFixture(t, "x", "", nil)
	pe := &llm.Error{Status: 429, Retryable: true, RetryAfter: 7 * time.Second, Message: "slow down super-secret-value"}
	var appErr *temporal.ApplicationError
	err := f.a.classifyLLMError("implementation", 2, 3, pe)
	if !errors.As(err, &appErr) || appErr.Type() != task.ErrTypeLLMTransient || appErr.NonRetryable() ||
		appErr.NextRetryDelay() != 7*time.Second || !strings.Contains(appErr.Message(), "attempt 2 of 3") {
		t.Fatalf("attempt 2 of 3: %v", err)
	}
	err = f.a.classifyLLMError("implementation", 3, 3, pe)
	if !errors.As(err, &appErr) || appErr.Type() != task.ErrTypeLLMProvider || !appErr.NonRetryable() {
		t.Fatalf("attempt 3 of 3: %v", err)
	}
	msg := appErr.Message()
	for _, want := range []string{"implementation stage", "all 3 attempts", "HTTP 429", "[redacted]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "super-secret-value") {
		t.Errorf("message leaks the secret: %q", msg)
	}
	// Deadlines are transient too; anything else is final at once.
	if err := f.a.classifyLLMError("research", 1, 3, context.DeadlineExceeded); !errors.As(err, &appErr) || appErr.NonRetryable() {
		t.Errorf("deadline: %v", err)
	}
	if err := f.a.classifyLLMError("research", 1, 3, errors.New("no route")); !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Errorf("other error: %v", err)
	}
}

// TestLLMErrorEventIsOncePerAttempt: the same attempt failing twice (a
// redelivered activity task) records one event; the next attempt its own.
func TestLLMErrorEventIsOncePerAttempt(t *testing.T) {
	f := newFixture(t, "x", "", nil)
	boom := &llm.Error{Status: 500, Retryable: true, Message: "boom"}
	ctx := context.Background() // outside an activity: attempt 1, limit unknown
	for i := 0; i < 2; i++ {
		err := f.a.llmFailure(ctx, f.step("s1"), "research", boom)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != task.ErrTypeLLMTransient || appErr.NonRetryable() ||
			!strings.Contains(appErr.Message(), "research stage on attempt 1") {
			t.Fatalf("transient failure classified as %v", err)
		}
	}
	if n := len(eventsOf(t, f.store, f.task.ID, "llm_error")); n != 1 {
		t.Fatalf("%d llm_error events for one attempt", n)
	}
}
