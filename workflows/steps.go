package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// update writes a projection change of the task row (a local activity) and
// mirrors it into the state the query returns.
func (r *taskRun) update(ctx workflow.Context, u task.Update) error {
	u.Step = r.step()
	if u.Status != "" {
		r.state.Status = u.Status
	}
	if u.Stage != nil {
		r.state.Stage = *u.Stage
	}
	if u.Progress != nil {
		r.state.Progress = *u.Progress
	}
	if u.Iteration != nil {
		r.state.Iteration = *u.Iteration
	}
	if u.MaxIterations != nil {
		r.state.MaxIterations = *u.MaxIterations
	}
	if u.PendingQuestions != nil {
		r.state.PendingQuestions = *u.PendingQuestions
	}
	if u.Answers != nil {
		r.state.ProvidedAnswers = u.Answers
	}
	if u.ResumeFromStage != nil {
		r.state.ResumeFromStage = *u.ResumeFromStage
	}
	if u.FailureReason != "" {
		r.state.FailureReason = u.FailureReason
	}
	lctx := summarisedLocal(projection(ctx), updateSummary(u))
	if err := workflow.ExecuteLocalActivity(lctx, task.ActUpdateTask, u).Get(ctx, nil); err != nil {
		return err
	}
	r.syncSearchAttributes(ctx)
	return nil
}

func ptr[T any](v T) *T { return &v }

// enterStage publishes a stage start.
func (r *taskRun) enterStage(ctx workflow.Context, stage string, progress float64, role string) error {
	return r.update(ctx, task.Update{
		Stage:    ptr(stage),
		Progress: ptr(max(progress, r.state.Progress)),
		Role:     role,
		Events:   []task.EventSpec{{Type: task.EventStageStarted, Payload: map[string]any{"stage": stage}}},
	})
}

func (r *taskRun) addTokens(in, out int64) {
	r.state.TokensIn += in
	r.state.TokensOut += out
}

func (r *taskRun) hasStage(name string) bool {
	return slices.Contains(r.plan().Stages, name)
}

// prepare loads the codex plan, checks quotas and seeds the workspace.
func (r *taskRun) prepare(ctx workflow.Context) error {
	var plan task.Plan
	in := task.PrepareIn{Step: r.step(), TemplateID: r.in.TemplateID, CodexVersion: r.in.CodexVersion}
	if err := workflow.ExecuteActivity(summarised(bookkeeping(ctx), "prepare: plan, quotas, workspace"), task.ActPrepare, in).Get(ctx, &plan); err != nil {
		return err
	}
	r.cp.Plan = &plan
	r.state.MaxIterations = plan.MaxIterations
	r.cp.Stage = task.StepResearch
	switch {
	case r.cp.RetryFrom != "":
		// A retry started by an earlier release, whose API worked out
		// where it continues and put it in the checkpoint.
		r.cp.Stage, r.cp.RetryFrom = r.cp.RetryFrom, ""
	case r.cp.Retry:
		r.cp.Retry = false
		// Before this change a retry without a checkpoint started over at
		// research.
		if r.since(ctx, changeRetryResumePoint) {
			return r.resumeRetry(ctx)
		}
	}
	return nil
}

// resumeRetry asks the store where a retried run continues and takes over
// what the failed runs left: answers, research, the plan and the files
// already written.
func (r *taskRun) resumeRetry(ctx workflow.Context) error {
	var rp task.ResumePoint
	if err := workflow.ExecuteActivity(summarised(bookkeeping(ctx), "where the retry continues"), task.ActResumePoint, task.ResumeIn{Step: r.step()}).Get(ctx, &rp); err != nil {
		return err
	}
	switch rp.Step {
	case task.StepResearch, task.StepGate, task.StepImplement:
	default:
		return pipelineFailure(task.ReasonInternalError, fmt.Sprintf("a retry cannot continue at step %q", rp.Step))
	}
	r.cp.Stage, r.retriedFrom = rp.Step, rp.Step
	if rp.Answers != nil {
		r.cp.Answers = rp.Answers
		r.state.ProvidedAnswers = rp.Answers
	}
	if rp.Researched {
		r.cp.Research = &task.ResearchOut{}
	}
	r.cp.Files = rp.Files
	for _, p := range rp.Done {
		r.written[p] = true
	}
	return nil
}

// ensureSlot takes a processing slot from the slots workflow, waiting in
// status queued (FIFO) until one is free.
func (r *taskRun) ensureSlot(ctx workflow.Context) error {
	if r.cp.HoldsSlot {
		return nil
	}
	r.slotToken = fmt.Sprintf("g%d/a%d", r.in.Generation, r.stepSeq+1)
	r.slotGranted = false
	if !r.slotReply {
		// Runs from before changeSlotReply: queued, then the request.
		if err := r.setQueued(ctx); err != nil {
			return err
		}
		if err := r.bookkeeping(ctx, "queue for a processing slot", task.ActAcquireSlot, r.slotRequest(ctx)).Get(ctx, nil); err != nil {
			return err
		}
	} else {
		// Ask first: a free slot is granted in the reply, and the task goes
		// straight to processing without a status queued it would hold for
		// a few milliseconds (the API shows queued from /resume on).
		var reply task.SlotReply
		if err := r.bookkeeping(ctx, "take a processing slot", task.ActAcquireSlot, r.slotRequest(ctx)).Get(ctx, &reply); err != nil {
			return err
		}
		if reply.Granted {
			r.slotGranted = true
		} else if err := r.setQueued(ctx); err != nil {
			return err
		}
	}
	if err := workflow.Await(ctx, func() bool { return r.slotGranted }); err != nil {
		return err
	}
	r.cp.HoldsSlot, r.cp.SlotToken = true, r.slotToken
	first := r.state.Stage == task.StageInitializing
	u := task.Update{Status: task.StatusProcessing, Progress: ptr(max(task.ProgressStarted, r.state.Progress))}
	if first {
		payload := map[string]any{"stage": task.StageInitializing}
		if r.retriedFrom != "" {
			payload["retry_from"] = r.retriedFrom
		}
		u.Events = []task.EventSpec{{Type: task.EventStageStarted, Payload: payload}}
	}
	return r.update(ctx, u)
}

// slotRequest is the request for r.slotToken. The first slot is queued by
// the task's creation time; a task that gave its slot back (questions,
// pause) queues again from now.
func (r *taskRun) slotRequest(ctx workflow.Context) task.AcquireIn {
	queuedAt := r.in.QueuedAt
	if queuedAt.IsZero() || r.queuedAtUsed {
		queuedAt = workflow.Now(ctx)
	}
	r.queuedAtUsed = true
	info := workflow.GetInfo(ctx)
	return task.AcquireIn{
		WorkflowID: info.WorkflowExecution.ID,
		TaskID:     r.in.TaskID,
		Token:      r.slotToken,
		TaskQueue:  info.TaskQueueName,
		QueuedAt:   queuedAt,
		Reply:      r.slotReply,
	}
}

// setQueued shows the task waiting for a slot.
func (r *taskRun) setQueued(ctx workflow.Context) error {
	if r.state.Status == task.StatusQueued {
		return nil
	}
	return r.update(ctx, task.Update{Status: task.StatusQueued})
}

// bookkeeping runs one of the signal path's store steps: a local activity
// in a run with localGate, so the step costs no task-queue round trip (both
// are idempotent: the slots workflow keys requests by workflow and token,
// the gate's artifact and event ids by step), an activity before.
func (r *taskRun) bookkeeping(ctx workflow.Context, summary, name string, arg any) workflow.Future {
	if r.localGate {
		return workflow.ExecuteLocalActivity(summarisedLocal(localBookkeeping(ctx), summary), name, arg)
	}
	return workflow.ExecuteActivity(summarised(bookkeeping(ctx), summary), name, arg)
}

// releaseSlot gives the slot back. A failed signal is not fatal: the slots
// workflow also reclaims slots of closed workflows.
func (r *taskRun) releaseSlot(ctx workflow.Context) {
	if !r.cp.HoldsSlot {
		return
	}
	r.cp.HoldsSlot = false
	info := workflow.GetInfo(ctx)
	var err error
	if r.localGate {
		// From a local activity: no workflow task waits for the delivery.
		in := task.ReleaseIn{WorkflowID: info.WorkflowExecution.ID, Token: r.cp.SlotToken, TaskQueue: info.TaskQueueName}
		err = workflow.ExecuteLocalActivity(summarisedLocal(projection(ctx), "give the processing slot back"), task.ActReleaseSlot, in).Get(ctx, nil)
	} else {
		rel := task.SlotRelease{WorkflowID: info.WorkflowExecution.ID, Token: r.cp.SlotToken}
		id := task.SlotsWorkflowID(info.TaskQueueName)
		err = workflow.SignalExternalWorkflow(ctx, id, "", task.SignalRelease, rel).Get(ctx, nil)
	}
	if err != nil {
		workflow.GetLogger(ctx).Warn("releasing slot failed; the slots workflow will reclaim it", "error", err)
	}
}

// research asks the researcher for requirements and open questions.
func (r *taskRun) research(ctx workflow.Context) error {
	if r.hasStage(task.StageResearch) {
		if err := r.ensureSlot(ctx); err != nil {
			return err
		}
		if err := r.enterStage(ctx, task.StageResearch, task.ProgressResearch, task.RoleResearcher); err != nil {
			return err
		}
		var out task.ResearchOut
		in := task.StageIn{Step: r.step(), Plan: r.plan()}
		if err := workflow.ExecuteActivity(summarised(llmStage(ctx, r.plan(), task.StageResearch), "research"), task.ActResearch, in).Get(ctx, &out); err != nil {
			if r.budgetStopped(ctx, err, task.StepResearch) {
				return nil
			}
			return err
		}
		r.addTokens(out.TokensIn, out.TokensOut)
		r.cp.Research = &out
	}
	r.cp.Stage = task.StepGate
	return nil
}

// awaitAnswers is the clarification gate: it asks what is still unclear and
// waits, holding no slot and no activity, until the answers arrive and the
// task is resumed.
func (r *taskRun) awaitAnswers(ctx workflow.Context) error {
	if len(r.cp.Questions) > 0 {
		// This run continued as new while waiting: the questions are out
		// already, so it waits for their answers instead of asking anew.
		if err := r.waitForAnswers(ctx, r.cp.Questions); err != nil {
			return err
		}
	}
	for {
		if err := r.applyInbox(ctx); err != nil {
			return err
		}
		var open []task.Question
		if r.cp.Research != nil {
			open = r.cp.Research.OpenQuestions
		}
		var qs []task.Question
		in := task.ClarifyIn{Step: r.step(), Plan: r.plan(), OpenQuestions: open, Asked: r.cp.Asked, Round: r.cp.GateRound}
		if err := r.bookkeeping(ctx, fmt.Sprintf("clarify: open questions, round %d", in.Round+1), task.ActClarify, in).Get(ctx, &qs); err != nil {
			return err
		}
		if len(qs) == 0 {
			break
		}
		if err := r.askAndWait(ctx, qs); err != nil {
			return err
		}
	}
	r.cp.Questions = nil
	r.cp.Stage = task.StepDesign
	return nil
}

func (r *taskRun) askAndWait(ctx workflow.Context, qs []task.Question) error {
	r.cp.Questions = qs
	for _, q := range qs {
		r.cp.Asked = append(r.cp.Asked, q.ID)
	}
	r.state.RequestedAt = task.FormatTime(workflow.Now(ctx))
	// A resume from before these questions is stale. Forget it now, before
	// the query can show needs_input: a resume sent while the update below
	// runs is meant for these questions and must be kept.
	r.resumeRequested = false
	err := r.update(ctx, task.Update{
		Status: task.StatusNeedsInput, Stage: ptr(task.StageNeedsInput),
		PendingQuestions: &qs, ResumeFromStage: ptr(task.StageDesign),
	})
	if err != nil {
		return err
	}
	r.releaseSlot(ctx)
	return r.waitForAnswers(ctx, qs)
}

// waitForAnswers blocks on the input and resume signals until every required
// question of qs is answered and a resume (or auto_resume) arrives.
func (r *taskRun) waitForAnswers(ctx workflow.Context, qs []task.Question) error {
	if err := r.waitForAnswersTo(ctx, qs, task.StageDesign); err != nil {
		return err
	}
	// Only clarification rounds count as gate rounds.
	r.cp.GateRound++
	return nil
}

// waitForAnswersTo is waitForAnswers for a task that resumes at resumeStage.
func (r *taskRun) waitForAnswersTo(ctx workflow.Context, qs []task.Question, resumeStage string) error {
	for {
		ok, err := r.awaitSignal(ctx, func() bool { return len(r.inbox) > 0 || r.resumeRequested })
		if err != nil {
			return err
		}
		if !ok {
			return pipelineFailure(task.ReasonClarificationTimeout,
				fmt.Sprintf("No answers arrived within %d days", r.in.TaskTTLDays))
		}
		if err := r.applyInbox(ctx); err != nil {
			return err
		}
		if r.resumeRequested {
			if len(task.MissingRequired(qs, r.cp.Answers)) == 0 {
				break
			}
			// The API checks for missing answers before signalling; a resume
			// that raced an answer being cleared is ignored.
			r.resumeRequested = false
		}
		if r.continueAsNewDue(ctx) {
			return r.continueAsNew(ctx)
		}
	}
	r.resumeRequested = false
	r.cp.Questions = nil
	now := task.FormatTime(workflow.Now(ctx))
	return r.update(ctx, task.Update{
		Status: task.StatusQueued, Stage: ptr(task.StageResume), PendingQuestions: &[]task.Question{},
		Events: []task.EventSpec{{Type: task.EventTaskResumed, Payload: map[string]any{
			"resume_from_stage": resumeStage, "resumed_at": now,
		}}},
	})
}

// awaitSignal waits for cond up to the task TTL (forever when the TTL is off).
// The TTL's timer is the wait the Web UI shows while the task is parked;
// its summary says what for (a summary is no part of the timer command
// that replay compares, so runs recorded before it replay as they were).
func (r *taskRun) awaitSignal(ctx workflow.Context, cond func() bool) (bool, error) {
	if r.in.TaskTTLDays <= 0 {
		return true, workflow.Await(ctx, cond)
	}
	return workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
		Timeout:      time.Duration(r.in.TaskTTLDays) * 24 * time.Hour,
		TimerOptions: workflow.TimerOptions{Summary: waitSummary(r.cp.Stage)},
	}, cond)
}

// applyInbox persists answers received by signal and honours auto_resume.
func (r *taskRun) applyInbox(ctx workflow.Context) error {
	for len(r.inbox) > 0 {
		s := r.inbox[0]
		r.inbox = r.inbox[1:]
		if problems := task.ValidateAnswers(r.cp.Questions, s.Answers); len(problems) > 0 || len(r.cp.Questions) == 0 {
			workflow.GetLogger(ctx).Warn("ignoring answers that do not fit the pending questions", "problems", problems)
			continue
		}
		merged := task.MergeAnswers(r.cp.Answers, s.Answers)
		in := task.AnswersIn{Step: r.step(), Answers: s.Answers, Merged: merged, ReceivedAt: task.FormatTime(workflow.Now(ctx)), Recorded: s.Recorded}
		if err := workflow.ExecuteLocalActivity(summarisedLocal(projection(ctx), "record answers"), task.ActRecordAnswers, in).Get(ctx, nil); err != nil {
			return err
		}
		r.cp.Answers = merged
		r.state.ProvidedAnswers = merged
		if s.AutoResume && len(task.MissingRequired(r.cp.Questions, merged)) == 0 {
			r.resumeRequested = true
		}
	}
	return nil
}

// designStep asks the designer for components and planned files.
func (r *taskRun) designStep(ctx workflow.Context) error {
	if !r.hasStage(task.StageDesign) {
		return pipelineFailure(task.ReasonInternalError, "the codex has no design stage, so there is no plan to implement")
	}
	if err := r.ensureSlot(ctx); err != nil {
		return err
	}
	if err := r.enterStage(ctx, task.StageDesign, task.ProgressDesign, task.RoleDesigner); err != nil {
		return err
	}
	var out task.DesignOut
	in := task.StageIn{Step: r.step(), Plan: r.plan()}
	if err := workflow.ExecuteActivity(summarised(llmStage(ctx, r.plan(), task.StageDesign), "design"), task.ActDesign, in).Get(ctx, &out); err != nil {
		if r.budgetStopped(ctx, err, task.StepDesign) {
			return nil
		}
		return err
	}
	r.addTokens(out.TokensIn, out.TokensOut)
	r.cp.Files = out.Files
	r.cp.Stage = task.StepImplement
	if r.wantsPlanApproval(ctx) {
		r.cp.Stage = task.StepPlanApproval
	}
	return nil
}

// implement runs one iteration: code the next piece (or the fix the last
// review asked for), then review it. The run loop calls it until the plan is
// done, so pausing and continue-as-new can happen between iterations.
func (r *taskRun) implement(ctx workflow.Context) error {
	if err := r.ensureSlot(ctx); err != nil {
		return err
	}
	if r.state.Stage != task.StageImplement {
		if err := r.enterStage(ctx, task.StageImplement, task.ProgressImplement, task.RoleCoder); err != nil {
			return err
		}
	}
	next := r.nextCodeTask()
	if next == nil {
		r.cp.Stage = task.StepReview
		return nil
	}
	plan := r.plan()
	if r.cp.Iteration >= plan.MaxIterations {
		return pipelineFailure(task.ReasonMaxIterationsExhausted, fmt.Sprintf(
			"Stopped after %d iterations with work left: %s", r.cp.Iteration, next.Description))
	}
	r.cp.Iteration++
	if err := r.update(ctx, task.Update{Iteration: ptr(r.cp.Iteration), Role: task.RoleCoder}); err != nil {
		return err
	}
	var code task.CodeOut
	in := task.CodeIn{Step: r.step(), Plan: plan, Iteration: r.cp.Iteration, Task: *next, Planned: r.cp.Files}
	if err := workflow.ExecuteActivity(summarised(llmStage(ctx, plan, task.StageImplement), codeSummary(r.cp.Iteration, *next)), task.ActCode, in).Get(ctx, &code); err != nil {
		if r.budgetStopped(ctx, err, task.StepImplement) {
			// The iteration did not happen; it is counted again when the
			// code step runs after the budget is raised.
			r.cp.Iteration--
			return nil
		}
		return err
	}
	r.addTokens(code.TokensIn, code.TokensOut)
	for _, p := range code.FilesWritten {
		r.written[p] = true
	}
	rev, err := r.runReview(ctx, task.ReviewIteration)
	if err != nil {
		return err
	}
	r.cp.Fix = nil
	if !rev.Passed {
		r.cp.Fix = r.fixTask(rev, code.FilesWritten)
	}
	return r.update(ctx, task.Update{Progress: ptr(r.implementationProgress())})
}

func (r *taskRun) implementationProgress() float64 {
	if len(r.cp.Files) == 0 {
		return task.ProgressImplement
	}
	done := 0
	for _, f := range r.cp.Files {
		if r.written[f.Path] {
			done++
		}
	}
	span := task.ProgressReview - task.ProgressImplement
	return task.ProgressImplement + span*float64(done)/float64(len(r.cp.Files))
}

// nextCodeTask picks the fix the last review asked for, else the unwritten
// files of the next component in plan order, else nothing.
func (r *taskRun) nextCodeTask() *task.CodeTask {
	if r.cp.Fix != nil {
		return r.cp.Fix
	}
	limit := max(1, r.plan().MaxFilesPerIteration)
	var component string
	var targets []string
	tests := true
	for _, f := range r.cp.Files {
		if r.written[f.Path] {
			continue
		}
		if component == "" {
			component = f.Component
		}
		if f.Component != component || len(targets) == limit {
			continue
		}
		targets = append(targets, f.Path)
		tests = tests && f.Kind == "test"
	}
	if len(targets) == 0 {
		return nil
	}
	t := &task.CodeTask{Type: task.CodeImplement, Component: component, TargetFiles: targets,
		Description: fmt.Sprintf("Implement %s for %s", strings.Join(targets, ", "), component)}
	if tests {
		t.Type = task.CodeTests
		t.Description = "Write tests: " + strings.Join(targets, ", ")
	}
	return t
}

// runReview runs one review of kind: the model's critique (final reviews
// only), then the checks, which store the report.
func (r *taskRun) runReview(ctx workflow.Context, kind string) (task.ReviewOut, error) {
	var rev task.ReviewOut
	in := task.ReviewIn{Plan: r.plan(), Kind: kind, Iteration: r.cp.Iteration, Planned: r.cp.Files}
	if !r.since(ctx, changeReviewSplit) {
		// One Review activity ran the commands and the critique.
		in.Step = r.step()
		if err := workflow.ExecuteActivity(summarised(reviewStage(ctx, r.plan()), "review"), task.ActReview, in).Get(ctx, &rev); err != nil {
			return rev, err
		}
	} else {
		var err error
		if rev, err = splitReview(ctx, in, r.step); err != nil {
			return rev, err
		}
	}
	r.addTokens(rev.TokensIn, rev.TokensOut)
	if rev.CommandTimeout {
		return rev, pipelineFailure(task.ReasonCommandTimeout, "A review command exceeded COMMAND_TIMEOUT_SECONDS")
	}
	return rev, nil
}

// review is the final review that decides completed or failed.
func (r *taskRun) review(ctx workflow.Context) error {
	if !r.plan().ReviewRequired {
		r.cp.Stage = task.StepFinish
		return nil
	}
	if err := r.ensureSlot(ctx); err != nil {
		return err
	}
	if err := r.enterStage(ctx, task.StageReview, task.ProgressReview, task.RoleReviewer); err != nil {
		return err
	}
	rev, err := r.runReview(ctx, task.ReviewFinal)
	if err != nil {
		if r.budgetStopped(ctx, err, task.StepReview) {
			return nil
		}
		return err
	}
	if rev.Passed {
		r.cp.Stage = task.StepFinish
		return nil
	}
	if r.cp.Iteration >= r.plan().MaxIterations {
		return pipelineFailure(task.ReasonReviewFailed, "Final review failed: "+summarise(rev.Findings))
	}
	// Iterations are left: the coder gets the final review's findings, then
	// the final review runs again.
	r.cp.Fix = r.fixTask(rev, nil)
	r.cp.Stage = task.StepImplement
	return nil
}

// fixTask turns a failed review into the next coder task.
func (r *taskRun) fixTask(rev task.ReviewOut, written []string) *task.CodeTask {
	targets := rev.FilesToFix
	if len(targets) == 0 {
		targets = written
	}
	return &task.CodeTask{
		Type: task.CodeFix, TargetFiles: targets, Findings: rev.Findings,
		Description: "Fix review findings: " + summarise(rev.Findings),
	}
}

// finish runs post-processing and writes the terminal projection. It runs on
// a disconnected context so a cancelled task still records how it ended.
func (r *taskRun) finish(ctx workflow.Context, status task.Status, reason, msg string) (task.Result, error) {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	in := task.FinishIn{Step: r.step(), Plan: r.plan(), Status: status, FailureReason: reason, Error: msg, Iterations: r.cp.Iteration}
	var res task.Result
	if err := workflow.ExecuteActivity(summarised(bookkeeping(dctx), "finish: "+string(status)), task.ActFinish, in).Get(dctx, &res); err != nil {
		r.releaseSlot(dctx)
		return task.Result{}, err
	}
	r.state.Status, r.state.FailureReason = status, reason
	r.state.Progress = task.ProgressTerminated
	r.syncSearchAttributes(dctx)
	r.releaseSlot(dctx)
	r.cp.Stage = task.StepDone
	switch status {
	case task.StatusFailed:
		return res, temporal.NewNonRetryableApplicationError(msg, reason, nil, res)
	case task.StatusCancelled:
		return res, temporal.NewCanceledError(reason)
	}
	return res, nil
}

// pause stops before the next step, holding no slot, until unpaused.
func (r *taskRun) pause(ctx workflow.Context) error {
	// An unpaused task shows again the stage it was in, which it resumes.
	resumes := r.state.Stage
	if err := r.update(ctx, task.Update{Status: task.StatusPaused, Stage: ptr(task.StagePaused),
		Events: []task.EventSpec{{Type: task.EventTaskPaused, Payload: map[string]any{"at_step": r.cp.Stage}}}}); err != nil {
		return err
	}
	r.releaseSlot(ctx)
	if err := workflow.Await(ctx, func() bool { return !r.pauseRequested }); err != nil {
		return err
	}
	return r.update(ctx, task.Update{Status: task.StatusQueued, Stage: ptr(resumes),
		Events: []task.EventSpec{{Type: task.EventTaskUnpaused, Payload: map[string]any{"at_step": r.cp.Stage}}}})
}

// summarise joins the first findings into one short line.
func summarise(findings []string) string {
	if len(findings) == 0 {
		return "no details"
	}
	s := strings.Join(findings[:min(3, len(findings))], "; ")
	if len(findings) > 3 {
		s += fmt.Sprintf(" (+%d more)", len(findings)-3)
	}
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}
