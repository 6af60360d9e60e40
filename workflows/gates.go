package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// The budget gate and plan approval stop a task for a decision of its
// owner. Both ask one question through the clarification machinery (the
// answer arrives by the input signal and is validated against the pending
// question, the task waits in needs_input holding no slot, a continue-as-new
// while waiting keeps the question) and then either go on or end the task.

// budgetStopped reports whether err is an LLM stage's budget stop; if so the
// task moves to the budget gate, which runs back again once the budget is
// raised. Runs recorded before the gate existed never saw a budget stop, so
// the version is asked only when one happens.
func (r *taskRun) budgetStopped(ctx workflow.Context, err error, back string) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != task.ErrTypeBudgetStop {
		return false
	}
	if !r.since(ctx, changeBudgetGate) {
		return false
	}
	var stop task.BudgetStop
	if appErr.HasDetails() {
		if derr := appErr.Details(&stop); derr != nil {
			workflow.GetLogger(ctx).Warn("budget stop without readable details", "error", derr)
		}
	}
	r.cp.Budget = &task.BudgetGate{Stop: stop, Back: back}
	r.cp.Stage = task.StepBudget
	return true
}

// awaitBudget asks to raise the budget and waits for the answer: a raise
// goes back to the stopped step, a decline ends the task budget_exhausted.
func (r *taskRun) awaitBudget(ctx workflow.Context) error {
	g := r.cp.Budget
	if g == nil {
		return pipelineFailure(task.ReasonInternalError, "the budget gate has no budget stop to ask about")
	}
	if len(r.cp.Questions) == 0 {
		r.cp.GateStops++
		q := task.BudgetQuestion(fmt.Sprintf("budget-%d", r.cp.GateStops), g.Stop)
		ev := task.EventSpec{Type: task.EventBudgetExceeded, Payload: map[string]any{
			"stage": g.Stop.Stage, "limit": g.Stop.Limit, "spent_usd": g.Stop.SpentUSD, "budget_usd": g.Stop.BudgetUSD,
			"spent_tokens": g.Stop.SpentTokens, "budget_tokens": g.Stop.BudgetTokens,
			"needed_usd": g.Stop.NeededUSD, "needed_tokens": g.Stop.NeededTokens, "question_id": q.ID,
		}}
		if err := r.askDecision(ctx, q, g.Stop.Stage, ev); err != nil {
			return err
		}
	}
	q := r.cp.Questions[0]
	if err := r.waitForAnswersTo(ctx, r.cp.Questions, g.Stop.Stage); err != nil {
		return err
	}
	ans, err := task.ParseBudgetAnswer(q, r.cp.Answers[q.ID])
	if err != nil {
		// applyInbox accepted only valid answers.
		return pipelineFailure(task.ReasonInternalError, "the budget answer could not be read: "+err.Error())
	}
	if ans.Decision == task.DecisionDecline {
		return pipelineFailure(task.ReasonBudgetExhausted, budgetExhaustedMessage(g.Stop))
	}
	payload := map[string]any{"stage": g.Stop.Stage, "question_id": q.ID}
	if ans.BudgetUSD != nil {
		payload["budget_usd"] = *ans.BudgetUSD
	}
	if ans.BudgetTokens != nil {
		payload["budget_tokens"] = *ans.BudgetTokens
	}
	if err := r.update(ctx, task.Update{Budget: &ans,
		Events: []task.EventSpec{{Type: task.EventBudgetRaised, Payload: payload}}}); err != nil {
		return err
	}
	r.cp.Stage, r.cp.Budget = g.Back, nil
	return nil
}

func budgetExhaustedMessage(s task.BudgetStop) string {
	if s.Limit == task.BudgetLimitTokens {
		return fmt.Sprintf("The token budget ran out at the %s stage (%d of %d tokens used) and was not raised; the work so far is kept",
			s.Stage, s.SpentTokens, s.BudgetTokens)
	}
	return fmt.Sprintf("The budget ran out at the %s stage ($%s of $%s spent) and was not raised; the work so far is kept",
		s.Stage, task.FormatUSD(s.SpentUSD), task.FormatUSD(s.BudgetUSD))
}

// wantsPlanApproval reports whether the task waits for its plan to be
// approved after design (the task's approve_plan or the codex's default).
func (r *taskRun) wantsPlanApproval(ctx workflow.Context) bool {
	if !r.in.ApprovePlan && !r.plan().ApprovePlan {
		return false
	}
	return r.since(ctx, changePlanApproval)
}

// awaitPlan presents the plan and waits for the decision: approve goes on to
// code, revise runs the design again (the instructions reach the designer
// with the answers), reject ends the task cancelled. It reports a rejection.
func (r *taskRun) awaitPlan(ctx workflow.Context) (bool, error) {
	if len(r.cp.Questions) == 0 {
		r.cp.PlanRound++
		r.cp.GateStops++
		q := task.PlanApprovalQuestion(fmt.Sprintf("plan-%d", r.cp.PlanRound), task.PlanOf(r.cp.PlanRound, r.cp.Files))
		if err := r.askDecision(ctx, q, task.StageImplement, task.EventSpec{}); err != nil {
			return false, err
		}
	}
	q := r.cp.Questions[0]
	if err := r.waitForAnswersTo(ctx, r.cp.Questions, task.StageImplement); err != nil {
		return false, err
	}
	ans, err := task.ParsePlanAnswer(r.cp.Answers[q.ID])
	if err != nil {
		return false, pipelineFailure(task.ReasonInternalError, "the plan decision could not be read: "+err.Error())
	}
	payload := map[string]any{"decision": ans.Decision, "round": r.cp.PlanRound, "question_id": q.ID}
	if ans.Instructions != "" {
		payload["instructions"] = ans.Instructions
	}
	if err := r.update(ctx, task.Update{Events: []task.EventSpec{{Type: task.EventPlanReviewed, Payload: payload}}}); err != nil {
		return false, err
	}
	switch ans.Decision {
	case task.DecisionApprove:
		r.cp.Stage = task.StepImplement
	case task.DecisionRevise:
		r.cp.Stage = task.StepDesign
	default:
		return true, nil
	}
	return false, nil
}

// askDecision puts one question to the owner: the task goes to needs_input
// and gives its slot back. ev, when it has a type, is appended with it.
func (r *taskRun) askDecision(ctx workflow.Context, q task.Question, resumeStage string, ev task.EventSpec) error {
	qs := []task.Question{q}
	r.cp.Questions = qs
	r.state.RequestedAt = task.FormatTime(workflow.Now(ctx))
	r.resumeRequested = false
	u := task.Update{
		Status: task.StatusNeedsInput, Stage: ptr(task.StageNeedsInput),
		PendingQuestions: &qs, ResumeFromStage: ptr(resumeStage),
	}
	if ev.Type != "" {
		u.Events = []task.EventSpec{ev}
	}
	if err := r.update(ctx, u); err != nil {
		return err
	}
	r.releaseSlot(ctx)
	return nil
}
