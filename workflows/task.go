// Package workflows holds the deterministic workflow code: the task pipeline,
// the concurrency-slot semaphore, rerun-review and retention clean-up. It calls
// activities by their registered names (package task) and never does I/O.
//
// Running workflows replay through this code after every worker restart, so
// a change to its logic must go behind workflow.GetVersion; replay_test.go
// checks recorded histories in testdata/ (see README.md).
package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// continueAsNewEvery forces continue-as-new after this many history events even
// if the server has not suggested it; tests lower it through Input.
const continueAsNewEvery = 10000

// TaskWorkflow runs one task through the pipeline. It reads like the story:
// prepare, take a slot, research, ask and wait, design, implement, review, finish.
func TaskWorkflow(ctx workflow.Context, in task.Input) (task.Result, error) {
	r := newTaskRun(ctx, in)
	if err := r.setup(ctx); err != nil {
		return task.Result{}, err
	}
	return r.run(ctx)
}

// taskRun is the workflow's private state.
type taskRun struct {
	in    task.Input
	cp    task.Checkpoint
	state task.State

	slotToken   string
	slotGranted bool
	// queuedAtUsed is set once in.QueuedAt placed a slot request.
	queuedAtUsed bool
	// retriedFrom is the step a retried run continues at, once worked out;
	// the run's first StageStarted event names it.
	retriedFrom string

	inbox           []task.InputSignal
	resumeRequested bool
	pauseRequested  bool
	written         map[string]bool
	stepSeq         int
	// stepsThisRun counts activity steps since this run started.
	stepsThisRun int
	// searchAttrs is set when this run upserts its search attributes
	// (changeSearchAttributes).
	searchAttrs bool
	// localGate is set when this run asks for slots and runs the
	// clarification gate as local activities (changeSignalPath); asked once,
	// when the run starts, like searchAttrs.
	localGate bool
	// slotReply is set when this run's slot requests are answered in the
	// AcquireSlot result (changeSlotReply); asked once, when the run starts.
	slotReply bool
	// baseline is set when this run has every change up to changeBaseline
	// (see since).
	baseline bool
}

func newTaskRun(ctx workflow.Context, in task.Input) *taskRun {
	r := &taskRun{in: in, written: map[string]bool{}}
	if in.Checkpoint != nil {
		r.cp = *in.Checkpoint
	}
	if in.Checkpoint == nil && in.Generation > 0 {
		// A retry: the prepare step works out where it continues.
		r.cp.Retry = true
	}
	if r.cp.Stage == "" {
		r.cp.Stage = task.StepPrepare
	}
	if r.cp.Answers == nil {
		r.cp.Answers = map[string]any{}
	}
	for _, p := range r.cp.Done {
		r.written[p] = true
	}
	r.stepSeq = r.cp.StepSeq
	r.pauseRequested = r.cp.Paused
	r.inbox, r.resumeRequested = r.cp.Inbox, r.cp.Resume
	r.cp.Inbox, r.cp.Resume = nil, false
	r.state = task.State{
		TaskID:          in.TaskID,
		Status:          task.StatusQueued,
		Stage:           task.StageInitializing,
		Iteration:       r.cp.Iteration,
		ProvidedAnswers: r.cp.Answers,
		TokensIn:        r.cp.TokensIn,
		TokensOut:       r.cp.TokensOut,
		RequestedAt:     r.cp.RequestedAt,
	}
	if r.cp.Plan != nil {
		r.state.MaxIterations = r.cp.Plan.MaxIterations
	}
	if v := r.cp.View; v != nil {
		r.state.Status, r.state.Stage, r.state.Progress, r.state.ResumeFromStage = v.Status, v.Stage, v.Progress, v.ResumeFromStage
	}
	if waitsForAnswers(r.cp.Stage) && len(r.cp.Questions) > 0 {
		r.state.PendingQuestions = r.cp.Questions
	}
	return r
}

// setup registers the query and the signal pump before anything can block,
// and brings the search attributes to the run's state (a run started by an
// API from before them, or continued from a run that had none).
func (r *taskRun) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, task.QueryState, func() (task.State, error) {
		s := r.state
		s.Paused = s.Status == task.StatusPaused
		s.PauseRequested = r.pauseRequested
		return s, nil
	}); err != nil {
		return fmt.Errorf("registering query: %w", err)
	}
	// First: it decides whether the questions below are asked at all.
	r.baseline = workflow.GetVersion(ctx, changeBaseline, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	r.searchAttrs = r.since(ctx, changeSearchAttributes)
	r.syncSearchAttributes(ctx)
	r.localGate = r.since(ctx, changeSignalPath)
	r.slotReply = r.since(ctx, changeSlotReply) && r.localGate
	workflow.Go(ctx, r.pumpSignals)
	return nil
}

// since reports whether this run has change (one of the changes up to
// changeBaseline). A run that recorded the baseline has them all and records
// nothing more; a run recorded before it asks GetVersion for the change, as
// it always did, so its history replays command for command.
func (r *taskRun) since(ctx workflow.Context, change string) bool {
	if r.baseline {
		return true
	}
	return workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) != workflow.DefaultVersion
}

// pumpSignals moves signals into r as they arrive, so none is lost while the
// main flow is busy in an activity; the main flow acts on them between steps.
func (r *taskRun) pumpSignals(ctx workflow.Context) {
	for {
		sel := workflow.NewSelector(ctx)
		r.addSignalReceivers(ctx, sel)
		sel.Select(ctx)
	}
}

func (r *taskRun) addSignalReceivers(ctx workflow.Context, sel workflow.Selector) {
	sel.AddReceive(workflow.GetSignalChannel(ctx, task.SignalInput), func(c workflow.ReceiveChannel, _ bool) {
		var s task.InputSignal
		c.Receive(ctx, &s)
		r.onInput(s)
	})
	sel.AddReceive(workflow.GetSignalChannel(ctx, task.SignalResume), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		r.resumeRequested = true
	})
	sel.AddReceive(workflow.GetSignalChannel(ctx, task.SignalSlotGranted), func(c workflow.ReceiveChannel, _ bool) {
		var g task.SlotGrant
		c.Receive(ctx, &g)
		r.onGrant(g)
	})
	sel.AddReceive(workflow.GetSignalChannel(ctx, task.SignalPause), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		r.pauseRequested = true
	})
	sel.AddReceive(workflow.GetSignalChannel(ctx, task.SignalUnpause), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		r.pauseRequested = false
	})
}

func (r *taskRun) onInput(s task.InputSignal) { r.inbox = append(r.inbox, s) }

func (r *taskRun) onGrant(g task.SlotGrant) {
	// A grant for an earlier acquisition (before a pause, say) is stale.
	if g.Token == r.slotToken {
		r.slotGranted = true
	}
}

// drainSignals applies signals already delivered but not yet pumped; it runs
// right before continue-as-new so none is dropped.
func (r *taskRun) drainSignals(ctx workflow.Context) {
	for {
		var s task.InputSignal
		if !workflow.GetSignalChannel(ctx, task.SignalInput).ReceiveAsync(&s) {
			break
		}
		r.onInput(s)
	}
	for workflow.GetSignalChannel(ctx, task.SignalResume).ReceiveAsync(nil) {
		r.resumeRequested = true
	}
	for {
		var g task.SlotGrant
		if !workflow.GetSignalChannel(ctx, task.SignalSlotGranted).ReceiveAsync(&g) {
			break
		}
		r.onGrant(g)
	}
	for workflow.GetSignalChannel(ctx, task.SignalPause).ReceiveAsync(nil) {
		r.pauseRequested = true
	}
	for workflow.GetSignalChannel(ctx, task.SignalUnpause).ReceiveAsync(nil) {
		r.pauseRequested = false
	}
}

// run drives the pipeline from the checkpointed step to the end.
func (r *taskRun) run(ctx workflow.Context) (task.Result, error) {
	for r.cp.Stage != task.StepDone {
		if err := r.betweenSteps(ctx); err != nil {
			// Continue-as-new passes through; a cancel while paused ends the
			// task as cancelled like any other cancel.
			return r.fail(ctx, err)
		}
		var err error
		switch r.cp.Stage {
		case task.StepPrepare:
			err = r.prepare(ctx)
		case task.StepResearch:
			err = r.research(ctx)
		case task.StepGate:
			err = r.awaitAnswers(ctx)
		case task.StepDesign:
			err = r.designStep(ctx)
		case task.StepImplement:
			err = r.implement(ctx)
		case task.StepReview:
			err = r.review(ctx)
		case task.StepBudget:
			err = r.awaitBudget(ctx)
		case task.StepPlanApproval:
			var rejected bool
			if rejected, err = r.awaitPlan(ctx); rejected {
				return r.finish(ctx, task.StatusCancelled, task.ReasonPlanRejected,
					"The plan was rejected at plan approval; the work so far is kept")
			}
		case task.StepFinish:
			return r.finish(ctx, task.StatusCompleted, "", "")
		default:
			err = fmt.Errorf("unknown checkpoint stage %q", r.cp.Stage)
		}
		if err != nil {
			return r.fail(ctx, err)
		}
	}
	return task.Result{Status: r.state.Status, Iterations: r.cp.Iteration}, nil
}

// betweenSteps is where continue-as-new and pausing happen: never in the
// middle of a step.
func (r *taskRun) betweenSteps(ctx workflow.Context) error {
	if r.continueAsNewDue(ctx) {
		return r.continueAsNew(ctx)
	}
	if r.pauseRequested && r.cp.Stage != task.StepPrepare {
		return r.pause(ctx)
	}
	return nil
}

// continueAsNewDue reports whether the history should be cut now: Temporal
// suggests it, it is very long, or the test threshold of steps is passed.
func (r *taskRun) continueAsNewDue(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	forced := r.in.ContinueAsNewAfter > 0 && r.stepsThisRun > r.in.ContinueAsNewAfter
	return forced || info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > continueAsNewEvery
}

// continueAsNew drains the signals already delivered into the checkpoint and
// ends this run with a continue-as-new carrying it.
func (r *taskRun) continueAsNew(ctx workflow.Context) error {
	r.drainSignals(ctx)
	return workflow.NewContinueAsNewError(ctx, TaskWorkflow, r.continuedInput())
}

func (r *taskRun) continuedInput() task.Input {
	in := r.in
	if r.queuedAtUsed {
		in.QueuedAt = time.Time{}
	}
	cp := r.cp
	cp.StepSeq = r.stepSeq
	cp.Paused = r.pauseRequested
	cp.TokensIn, cp.TokensOut = r.state.TokensIn, r.state.TokensOut
	cp.RequestedAt = r.state.RequestedAt
	cp.ContinuedTimes++
	cp.Done = nil
	for _, p := range r.cp.Files {
		if r.written[p.Path] {
			cp.Done = append(cp.Done, p.Path)
		}
	}
	// Clarification signals not yet acted on go to the next run, which
	// validates and records them as this one would have. After the gate
	// they would be ignored anyway, so they are dropped there.
	if waitsForAnswers(cp.Stage) {
		cp.Inbox, cp.Resume = r.inbox, r.resumeRequested
	}
	cp.View = &task.View{Status: r.state.Status, Stage: r.state.Stage, Progress: r.state.Progress,
		ResumeFromStage: r.state.ResumeFromStage}
	in.Checkpoint = &cp
	return in
}

// waitsForAnswers tells the steps that wait for answers to questions: the
// clarification gate, the budget gate and plan approval.
func waitsForAnswers(step string) bool {
	return step == task.StepGate || step == task.StepBudget || step == task.StepPlanApproval
}

// step returns a fresh Step with a deterministic key for the next activity.
func (r *taskRun) step() task.Step {
	r.stepSeq++
	r.stepsThisRun++
	return task.Step{
		TaskID:    r.in.TaskID,
		Key:       fmt.Sprintf("g%d/s%d", r.in.Generation, r.stepSeq),
		OwnerKey:  r.in.OwnerKey,
		RequestID: r.in.RequestID,
	}
}

func (r *taskRun) plan() task.Plan {
	if r.cp.Plan == nil {
		return task.Plan{}
	}
	return *r.cp.Plan
}

// fail ends the run as failed with a documented reason, then fails the
// workflow execution so operators see it as Failed in the Temporal UI.
func (r *taskRun) fail(ctx workflow.Context, err error) (task.Result, error) {
	var can *workflow.ContinueAsNewError
	if errors.As(err, &can) {
		return task.Result{}, err
	}
	if temporal.IsCanceledError(err) || ctx.Err() != nil {
		return r.finish(ctx, task.StatusCancelled, task.ReasonCancelledByUser, "Cancelled by user")
	}
	reason, msg := failureOf(err)
	// The user sees msg; the error itself (activity ids, worker identity,
	// driver messages) goes to the worker's log only. Logging issues no
	// command, so replay is unaffected. The log line is bounded: formatting
	// megabytes here would hold the workflow goroutine past the SDK's
	// deadlock detector, and the whole failure stays in the history.
	workflow.GetLogger(ctx).Error("task failed", "failure_reason", reason, "message", msg,
		"error", clip(err.Error(), maxLoggedError))
	return r.finish(ctx, task.StatusFailed, reason, msg)
}

// maxFailureMessage bounds the message a task shows (its error field, the
// stage_failed event and the workflow's failure). Known failures carry
// sentences the activities wrote; the bound only guards against one that
// quotes too much. maxLoggedError bounds the error fail logs.
const (
	maxFailureMessage = 2000
	maxLoggedError    = 16 << 10
)

// failureOf maps an activity error to a failure_reason and the message the
// user sees. Failures the activities classified (a known error type) keep
// their message, which the activities wrote for the user. Anything else is
// an internal error whose text may be Temporal's (activity ids, the worker's
// PID and host name: "activity error (type: Research, scheduledEventID: 11,
// ..., identity: 4242@worker-1@)"), a database driver's or Go's: the user
// gets a generic message naming the step, and fail logs the error itself.
//
// Its result only fills in the Finish input and the workflow's failure; the
// commands issued stay the same, so changing the mapping needs no
// workflow.GetVersion (replay compares commands, not their inputs).
func failureOf(err error) (string, string) {
	step := "a"
	var actErr *temporal.ActivityError
	if errors.As(err, &actErr) {
		step = "the " + actErr.ActivityType().GetName()
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case task.ErrTypeLLMTransient:
			// The retries ran out on a transient provider failure; the
			// message names the stage and the attempt.
			return task.ReasonLLMProviderError, clipMessage(appErr.Message())
		case task.ErrTypeQuota, task.ErrTypeStorageLimit, task.ErrTypeLLMProvider, task.ErrTypeLLMInvalid,
			task.ErrTypeTemplate, task.ErrTypePayloadTooBig, task.ReasonMaxIterationsExhausted,
			task.ReasonCommandTimeout, task.ReasonReviewFailed, task.ReasonClarificationTimeout,
			task.ErrTypeLLMRefused, task.ReasonBudgetExhausted:
			return appErr.Type(), clipMessage(appErr.Message())
		case task.ReasonInternalError:
			// pipelineFailure: the workflow's own words, never an activity's.
			if actErr == nil {
				return task.ReasonInternalError, clipMessage(appErr.Message())
			}
		}
		return task.ReasonInternalError, internalMessage(step)
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		// An LLM stage that outlives its codex timeout on every attempt is a
		// provider that does not answer in time, not a fault of ours.
		if actErr != nil && actErr.ActivityType().GetName() == task.ActReviewChecks {
			// The checks' time goes to the review's commands.
			return task.ReasonCommandTimeout, fmt.Sprintf("The review's commands did not finish within the review step's time limit on any attempt (%s timeout)",
				timeoutErr.TimeoutType())
		}
		if actErr != nil && isLLMActivity(actErr.ActivityType().GetName()) {
			return task.ReasonLLMProviderError, fmt.Sprintf("The LLM provider did not answer within the %s step's time limit on any attempt (%s timeout)",
				actErr.ActivityType().GetName(), timeoutErr.TimeoutType())
		}
		return task.ReasonInternalError, fmt.Sprintf("%s step did not finish within its time limit (%s timeout)",
			capitalize(step), timeoutErr.TimeoutType())
	}
	return task.ReasonInternalError, internalMessage(step)
}

// internalMessage is what a user sees of an internal error at step.
func internalMessage(step string) string {
	return fmt.Sprintf("An internal error stopped the task in %s step (%s); the details are in the worker's log",
		step, task.ReasonInternalError)
}

// clipMessage bounds a failure message to maxFailureMessage bytes.
func clipMessage(s string) string { return clip(s, maxFailureMessage) }

// clip cuts s to at most n bytes at a character boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// isLLMActivity reports whether an activity's time goes to LLM calls.
func isLLMActivity(name string) bool {
	switch name {
	case task.ActResearch, task.ActDesign, task.ActCode, task.ActReviewCritique:
		return true
	}
	return false
}

// pipelineFailure is a failure decided by the workflow itself.
func pipelineFailure(reason, msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, reason, nil)
}
