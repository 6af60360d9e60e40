package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// harness runs TaskWorkflow in the SDK test environment with every activity
// mocked by a plain function the test can tweak.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu       sync.Mutex
	calls    []string
	updates  []task.Update
	codeIns  []task.CodeIn
	finishIn *task.FinishIn

	plan     task.Plan
	design   task.DesignOut
	research task.ResearchOut
	clarify  func(in task.ClarifyIn) []task.Question
	// review answers the review's checks (ReviewChecks, or the single
	// Review of the old path); critique answers ReviewCritique.
	review    func(in task.ReviewIn) (task.ReviewOut, error)
	critique  func(in task.ReviewIn) (task.Critique, error)
	checksIns []task.ReviewIn
	code      func(in task.CodeIn) (task.CodeOut, error)
	designFn  func() (task.DesignOut, error)
	resume    func(task.ResumeIn) (task.ResumePoint, error)
	answers   []task.AnswersIn
	// onUpdate and onCode, when set, run inside those activities (to send
	// signals while the workflow is busy).
	onUpdate func(task.Update)
	onCode   func(task.CodeIn)
	// queueSlots answers every slot request with "queued" and grants it by
	// signal, as a slots workflow whose slots are all taken does.
	queueSlots bool
	acquires   []task.AcquireIn
}

func newHarness(t *testing.T) *harness {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment()}
	h.env.SetTestTimeout(30 * time.Second)
	h.plan = task.Plan{CodexVersion: "1", CodexHash: "h", Stages: []string{"research", "design", "implementation", "review"},
		MaxIterations: 6, ReviewRequired: true, MaxQuestions: 3, MaxFilesPerIteration: 5}
	h.design = task.DesignOut{Files: []task.PlannedFile{
		{Path: "app/core.py", Component: "Core", Kind: "source"},
		{Path: "tests/test_core.py", Component: "Core", Kind: "test"},
		{Path: "README.md", Component: "Docs", Kind: "docs"},
	}}
	h.clarify = func(task.ClarifyIn) []task.Question { return nil }
	h.review = func(task.ReviewIn) (task.ReviewOut, error) {
		return task.ReviewOut{Passed: true, Status: "approved"}, nil
	}
	h.critique = func(task.ReviewIn) (task.Critique, error) {
		return task.Critique{Verdict: "approve", StartedAt: "2026-01-01T00:00:00.000000Z", TokensIn: 7, TokensOut: 3}, nil
	}
	h.code = func(in task.CodeIn) (task.CodeOut, error) {
		return task.CodeOut{FilesWritten: in.Task.TargetFiles, TokensIn: 10, TokensOut: 5}, nil
	}
	h.designFn = func() (task.DesignOut, error) { return h.design, nil }
	h.register()
	return h
}

func (h *harness) record(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, name)
}

func (h *harness) register() {
	env := h.env
	Register(env)
	env.RegisterActivityWithOptions(func(_ context.Context, in task.PrepareIn) (task.Plan, error) {
		h.record(task.ActPrepare)
		return h.plan, nil
	}, activityName(task.ActPrepare))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.ResumeIn) (task.ResumePoint, error) {
		h.record(task.ActResumePoint)
		if h.resume == nil {
			return task.ResumePoint{}, errors.New("no resume point in this test")
		}
		return h.resume(in)
	}, activityName(task.ActResumePoint))
	env.RegisterActivityWithOptions(func(_ context.Context, u task.Update) error {
		h.mu.Lock()
		h.updates = append(h.updates, u)
		h.mu.Unlock()
		if h.onUpdate != nil {
			h.onUpdate(u)
		}
		return nil
	}, activityName(task.ActUpdateTask))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.AcquireIn) (task.SlotReply, error) {
		h.record(task.ActAcquireSlot)
		h.mu.Lock()
		queue := h.queueSlots
		h.acquires = append(h.acquires, in)
		h.mu.Unlock()
		if in.Reply && !queue {
			return task.SlotReply{Granted: true}, nil
		}
		env.SignalWorkflow(task.SignalSlotGranted, task.SlotGrant{Token: in.Token})
		return task.SlotReply{}, nil
	}, activityName(task.ActAcquireSlot))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.StageIn) (task.ResearchOut, error) {
		h.record(task.ActResearch)
		return h.research, nil
	}, activityName(task.ActResearch))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.ClarifyIn) ([]task.Question, error) {
		h.record(task.ActClarify)
		return h.clarify(in), nil
	}, activityName(task.ActClarify))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.AnswersIn) error {
		h.record(task.ActRecordAnswers)
		h.mu.Lock()
		h.answers = append(h.answers, in)
		h.mu.Unlock()
		return nil
	}, activityName(task.ActRecordAnswers))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.StageIn) (task.DesignOut, error) {
		h.record(task.ActDesign)
		return h.designFn()
	}, activityName(task.ActDesign))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.CodeIn) (task.CodeOut, error) {
		h.record(task.ActCode)
		h.mu.Lock()
		h.codeIns = append(h.codeIns, in)
		h.mu.Unlock()
		if h.onCode != nil {
			h.onCode(in)
		}
		return h.code(in)
	}, activityName(task.ActCode))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.ReviewIn) (task.ReviewOut, error) {
		h.record(task.ActReview + ":" + in.Kind)
		return h.review(in)
	}, activityName(task.ActReview))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.ReviewIn) (task.Critique, error) {
		h.record(task.ActReviewCritique + ":" + in.Kind)
		return h.critique(in)
	}, activityName(task.ActReviewCritique))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.ReviewIn) (task.ReviewOut, error) {
		h.record(task.ActReviewChecks + ":" + in.Kind)
		h.mu.Lock()
		h.checksIns = append(h.checksIns, in)
		h.mu.Unlock()
		return h.review(in)
	}, activityName(task.ActReviewChecks))
	env.RegisterActivityWithOptions(func(_ context.Context, in task.FinishIn) (task.Result, error) {
		h.record(task.ActFinish)
		h.mu.Lock()
		h.finishIn = &in
		h.mu.Unlock()
		return task.Result{Status: in.Status, FailureReason: in.FailureReason, Iterations: in.Iterations}, nil
	}, activityName(task.ActFinish))
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, task.SignalRelease, mock.Anything).Return(nil)
	// Not recorded in the calls lists: TestTaskWorkflowAutoResume counts it.
	env.RegisterActivityWithOptions(func(_ context.Context, in task.ReleaseIn) error {
		if in.Token == "" || in.WorkflowID == "" {
			return errors.New("release without a workflow id or token")
		}
		return nil
	}, activityName(task.ActReleaseSlot))
}

func (h *harness) run(in task.Input) {
	if in.TaskID == "" {
		in.TaskID = "00000000-0000-0000-0000-000000000001"
	}
	if in.OwnerKey == "" {
		in.OwnerKey = "owner"
	}
	h.env.ExecuteWorkflow(TaskWorkflow, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
}

func (h *harness) query() task.State {
	v, err := h.env.QueryWorkflow(task.QueryState)
	if err != nil {
		h.t.Fatalf("query: %v", err)
	}
	var st task.State
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) count(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		if c == name {
			n++
		}
	}
	return n
}

func (h *harness) statuses() []task.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []task.Status
	for _, u := range h.updates {
		if u.Status != "" && (len(out) == 0 || out[len(out)-1] != u.Status) {
			out = append(out, u.Status)
		}
	}
	return out
}

func TestTaskWorkflowHappyPath(t *testing.T) {
	h := newHarness(t)
	h.run(task.Input{MaxConcurrent: 2})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var res task.Result
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != task.StatusCompleted || h.finishIn.Status != task.StatusCompleted {
		t.Fatalf("result %+v finish %+v", res, h.finishIn)
	}
	want := []string{task.ActPrepare, task.ActAcquireSlot, task.ActResearch, task.ActClarify, task.ActDesign,
		task.ActCode, task.ActReviewChecks + ":iteration", task.ActCode, task.ActReviewChecks + ":iteration",
		task.ActReviewCritique + ":final", task.ActReviewChecks + ":final", task.ActFinish}
	if !slices.Equal(h.calls, want) {
		t.Fatalf("calls\n got %v\nwant %v", h.calls, want)
	}
	if got := h.statuses(); !slices.Equal(got, []task.Status{task.StatusProcessing}) {
		t.Fatalf("status transitions %v", got)
	}
	if h.codeIns[0].Task.Component != "Core" || len(h.codeIns[0].Task.TargetFiles) != 2 || h.codeIns[1].Task.TargetFiles[0] != "README.md" {
		t.Fatalf("planner targets wrong: %+v", h.codeIns)
	}
	st := h.query()
	if st.Iteration != 2 || st.TokensIn != 27 || st.TokensOut != 13 || st.Status != task.StatusCompleted {
		t.Fatalf("final query state %+v", st)
	}
}

func TestTaskWorkflowActivityFailureFailsTask(t *testing.T) {
	h := newHarness(t)
	h.designFn = func() (task.DesignOut, error) {
		return task.DesignOut{}, temporal.NewNonRetryableApplicationError("LLM provider error (HTTP 401): bad key", task.ErrTypeLLMProvider, nil)
	}
	h.run(task.Input{})
	err := h.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != task.ReasonLLMProviderError {
		t.Fatalf("workflow error %v, want type %s", err, task.ReasonLLMProviderError)
	}
	if h.finishIn == nil || h.finishIn.Status != task.StatusFailed || h.finishIn.FailureReason != task.ReasonLLMProviderError {
		t.Fatalf("finish %+v", h.finishIn)
	}
	if h.count(task.ActCode) != 0 {
		t.Fatal("no code should run after a failed design")
	}
}

func TestTaskWorkflowReviewFailureFeedsNextIteration(t *testing.T) {
	h := newHarness(t)
	n := 0
	h.review = func(in task.ReviewIn) (task.ReviewOut, error) {
		n++
		if n == 1 {
			return task.ReviewOut{Passed: false, Findings: []string{"lint: app/core.py:1:1: F401 unused import"},
				FilesToFix: []string{"app/core.py"}}, nil
		}
		return task.ReviewOut{Passed: true}, nil
	}
	h.run(task.Input{})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(h.codeIns) != 3 {
		t.Fatalf("want 3 code iterations (implement, fix, docs), got %d", len(h.codeIns))
	}
	fix := h.codeIns[1].Task
	if fix.Type != task.CodeFix || !slices.Equal(fix.TargetFiles, []string{"app/core.py"}) || len(fix.Findings) != 1 {
		t.Fatalf("fix task %+v", fix)
	}
}

func TestTaskWorkflowMaxIterationsExhausted(t *testing.T) {
	h := newHarness(t)
	h.plan.MaxIterations = 3
	h.review = func(in task.ReviewIn) (task.ReviewOut, error) {
		return task.ReviewOut{Passed: false, Findings: []string{"tests: FAILED"}}, nil
	}
	h.run(task.Input{})
	var appErr *temporal.ApplicationError
	if err := h.env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != task.ReasonMaxIterationsExhausted {
		t.Fatalf("error %v", err)
	}
	if h.count(task.ActCode) != 3 || h.finishIn.Iterations != 3 {
		t.Fatalf("code calls %d, finish %+v", h.count(task.ActCode), h.finishIn)
	}
}

func TestTaskWorkflowCommandTimeoutFails(t *testing.T) {
	h := newHarness(t)
	h.review = func(task.ReviewIn) (task.ReviewOut, error) { return task.ReviewOut{CommandTimeout: true}, nil }
	h.run(task.Input{})
	if h.finishIn.FailureReason != task.ReasonCommandTimeout {
		t.Fatalf("finish %+v", h.finishIn)
	}
}

func TestTaskWorkflowFinalReviewFailure(t *testing.T) {
	h := newHarness(t)
	h.review = func(in task.ReviewIn) (task.ReviewOut, error) {
		if in.Kind == task.ReviewFinal {
			return task.ReviewOut{Passed: false, Findings: []string{"Missing 1 files from Docs: README.md"}}, nil
		}
		return task.ReviewOut{Passed: true}, nil
	}
	h.run(task.Input{})
	if h.finishIn.FailureReason != task.ReasonReviewFailed {
		t.Fatalf("finish %+v", h.finishIn)
	}
}

// askOnce makes the gate ask q in the first round and nothing after it.
func (h *harness) askOnce(q task.Question) {
	h.clarify = func(in task.ClarifyIn) []task.Question {
		if slices.Contains(in.Asked, q.ID) {
			return nil
		}
		return []task.Question{q}
	}
}

var question = task.Question{ID: "scope", Text: "Which scope?", Type: task.QuestionChoice, Choices: []string{"small", "large"}, Required: true}

func TestTaskWorkflowClarificationLoop(t *testing.T) {
	h := newHarness(t)
	asked := false
	h.clarify = func(in task.ClarifyIn) []task.Question {
		if asked || slices.Contains(in.Asked, "scope") {
			return nil
		}
		asked = true
		return []task.Question{question}
	}
	var during task.State
	h.env.RegisterDelayedCallback(func() {
		during = h.query()
		// An answer of the wrong choice is ignored by the workflow; a resume
		// without the required answer does not continue.
		h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "huge"}})
		h.env.SignalWorkflow(task.SignalResume, task.ResumeSignal{})
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() {
		if st := h.query(); st.Status != task.StatusNeedsInput {
			t.Errorf("resume without answers must keep needs_input, got %s", st.Status)
		}
		h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "small"}})
		h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "small"}})
		h.env.SignalWorkflow(task.SignalResume, task.ResumeSignal{})
	}, 48*time.Hour)
	h.run(task.Input{TaskTTLDays: 30})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if during.Status != task.StatusNeedsInput || len(during.PendingQuestions) != 1 || during.RequestedAt == "" {
		t.Fatalf("state while waiting %+v", during)
	}
	if got := h.statuses(); !slices.Equal(got, []task.Status{task.StatusProcessing, task.StatusNeedsInput, task.StatusQueued, task.StatusProcessing}) {
		t.Fatalf("status transitions %v", got)
	}
	if len(h.answers) != 2 || h.answers[1].Merged["scope"] != "small" {
		t.Fatalf("answers recorded %+v", h.answers)
	}
	if h.count(task.ActAcquireSlot) != 2 {
		t.Fatalf("the slot must be released while waiting and taken again: %d acquisitions", h.count(task.ActAcquireSlot))
	}
	st := h.query()
	if st.ProvidedAnswers["scope"] != "small" || len(st.PendingQuestions) != 0 {
		t.Fatalf("final state %+v", st)
	}
}

// TestTaskWorkflowAutoResume: an answer with auto_resume resumes the task
// to completion. In a run started on this release the slot request, its
// release and the clarification gate run as local activities (no task-queue
// round trip between the resume and processing), never as activities; runs
// recorded before the change keep their activities (the release24 replay
// fixtures).
func TestTaskWorkflowAutoResume(t *testing.T) {
	h := newHarness(t)
	h.askOnce(question)
	var local, remote []string
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		local = append(local, info.ActivityType.Name)
	})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		remote = append(remote, info.ActivityType.Name)
	})
	h.runAnsweredAutoResume(t)
	// Twice each: a slot before research and after the answers, given back
	// while waiting and at the end; two gate rounds (the question, then none).
	for _, name := range []string{task.ActAcquireSlot, task.ActClarify, task.ActReleaseSlot} {
		if slices.Contains(remote, name) {
			t.Errorf("%s ran as an activity: %v", name, remote)
		}
		if n := len(slices.DeleteFunc(slices.Clone(local), func(x string) bool { return x != name })); n != 2 {
			t.Errorf("%s ran %d times as a local activity, want 2: %v", name, n, local)
		}
	}
}

// runAnsweredAutoResume runs a task whose one question is answered with
// auto_resume a minute in, and fails t unless it completes.
func (h *harness) runAnsweredAutoResume(t *testing.T) {
	t.Helper()
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "large"}, AutoResume: true})
	}, time.Minute)
	h.run(task.Input{})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if h.finishIn.Status != task.StatusCompleted {
		t.Fatalf("finish %+v", h.finishIn)
	}
}

// TestTaskWorkflowTakesTheSlotFromTheReply: a slot request asks for the
// reply; a granted one starts at once (the harness sends no grant signal
// then, so a run that waited for one would never start), a queued one
// starts on the grant signal. The statuses are the same either way: the
// resume itself shows queued.
func TestTaskWorkflowTakesTheSlotFromTheReply(t *testing.T) {
	want := []task.Status{task.StatusProcessing, task.StatusNeedsInput, task.StatusQueued, task.StatusProcessing}
	for _, tc := range []struct {
		name  string
		queue bool
	}{
		{"free slot", false},
		{"all slots taken", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.queueSlots = tc.queue
			h.askOnce(question)
			h.runAnsweredAutoResume(t)
			if got := h.statuses(); !slices.Equal(got, want) {
				t.Fatalf("statuses %v, want %v", got, want)
			}
			if len(h.acquires) != 2 || !h.acquires[0].Reply || !h.acquires[1].Reply || h.acquires[0].Token == h.acquires[1].Token {
				t.Fatalf("slot requests %+v: want two, each with Reply and its own token", h.acquires)
			}
		})
	}
}

func TestTaskWorkflowClarificationTimeout(t *testing.T) {
	h := newHarness(t)
	h.clarify = func(task.ClarifyIn) []task.Question { return []task.Question{question} }
	h.run(task.Input{TaskTTLDays: 2})
	if h.finishIn == nil || h.finishIn.FailureReason != task.ReasonClarificationTimeout {
		t.Fatalf("finish %+v", h.finishIn)
	}
}

func TestTaskWorkflowCancelWhileWaiting(t *testing.T) {
	h := newHarness(t)
	h.clarify = func(task.ClarifyIn) []task.Question { return []task.Question{question} }
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, time.Hour)
	h.run(task.Input{})
	if !temporal.IsCanceledError(h.env.GetWorkflowError()) {
		t.Fatalf("error %v", h.env.GetWorkflowError())
	}
	if h.finishIn == nil || h.finishIn.Status != task.StatusCancelled || h.finishIn.FailureReason != task.ReasonCancelledByUser {
		t.Fatalf("finish %+v", h.finishIn)
	}
}

func TestTaskWorkflowPauseAndUnpause(t *testing.T) {
	h := newHarness(t)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(task.SignalPause, nil) }, 0)
	var paused task.State
	h.env.RegisterDelayedCallback(func() {
		paused = h.query()
		h.env.SignalWorkflow(task.SignalUnpause, nil)
	}, time.Hour)
	h.run(task.Input{})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if paused.Status != task.StatusPaused {
		t.Fatalf("state during pause %+v", paused)
	}
	got := h.statuses()
	if !slices.Contains(got, task.StatusPaused) || got[len(got)-1] != task.StatusProcessing {
		t.Fatalf("status transitions %v", got)
	}
}

func TestTaskWorkflowCancelWhilePaused(t *testing.T) {
	h := newHarness(t)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(task.SignalPause, nil) }, 0)
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, time.Hour)
	h.run(task.Input{})
	if !temporal.IsCanceledError(h.env.GetWorkflowError()) {
		t.Fatalf("error %v", h.env.GetWorkflowError())
	}
	if h.finishIn == nil || h.finishIn.Status != task.StatusCancelled {
		t.Fatalf("a cancel while paused must record the cancellation: %+v", h.finishIn)
	}
}

func TestTaskWorkflowContinuesAsNewKeepingAnswers(t *testing.T) {
	h := newHarness(t)
	h.askOnce(question)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "small"}})
		h.env.SignalWorkflow(task.SignalResume, task.ResumeSignal{})
	}, time.Hour)
	h.run(task.Input{ContinueAsNewAfter: 12})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("expected continue-as-new, got %v", err)
	}
	var next task.Input
	if err := decodeInput(can, &next); err != nil {
		t.Fatal(err)
	}
	cp := next.Checkpoint
	if cp == nil || cp.Answers["scope"] != "small" || cp.Plan == nil || cp.ContinuedTimes != 1 {
		t.Fatalf("checkpoint lost state: %+v", cp)
	}
	// The next run finishes from the checkpoint without redoing earlier steps.
	h2 := newHarness(t)
	next.ContinueAsNewAfter = 0
	h2.run(next)
	if err := h2.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if h2.count(task.ActPrepare) != 0 || h2.count(task.ActResearch) != 0 || h2.finishIn.Status != task.StatusCompleted {
		t.Fatalf("second run calls %v", h2.calls)
	}
	if st := h2.query(); st.ProvidedAnswers["scope"] != "small" {
		t.Fatalf("answers lost across continue-as-new: %+v", st)
	}
}

func activityName(name string) activityOpts { return activityOpts{Name: name} }
