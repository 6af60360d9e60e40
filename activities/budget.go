package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/llm"
	"ai-platform/internal/pricing"
	"ai-platform/internal/task"
)

// budgetCheck runs before each model request of a task with a budget. The
// worst case of the request (its estimated input plus maxOut output tokens
// at the model's prices) must fit in what is left after what the task has
// been charged and what this conversation has used so far (pending, charged
// only when the stage ends). When it does not, the stage stops with a
// non-retryable budget_stop error whose details the workflow turns into a
// budget question. A model the price table does not know costs 0, so only
// a token budget can stop its calls.
func (a *Activities) budgetCheck(ctx context.Context, taskID, stage, model string, pending llm.Usage, nextIn, maxOut int64) error {
	t, err := a.getTask(ctx, taskID)
	if err != nil {
		return err
	}
	if t.BudgetUSD <= 0 && t.BudgetTokens <= 0 {
		return nil
	}
	pendingMicros, _ := a.Prices.CostMicros(model, pending.InputTokens, pending.OutputTokens)
	needMicros, _ := a.Prices.CostMicros(model, nextIn, maxOut)
	spentMicros := pricing.Micros(t.CostUSD) + pendingMicros
	stop := task.BudgetStop{
		Stage:        stage,
		SpentUSD:     pricing.FromMicros(spentMicros),
		BudgetUSD:    t.BudgetUSD,
		SpentTokens:  t.TokensIn + t.TokensOut + pending.InputTokens + pending.OutputTokens,
		BudgetTokens: t.BudgetTokens,
		NeededUSD:    pricing.FromMicros(needMicros),
		NeededTokens: nextIn + maxOut,
	}
	switch {
	case t.BudgetTokens > 0 && stop.SpentTokens+stop.NeededTokens > t.BudgetTokens:
		stop.Limit = task.BudgetLimitTokens
		return budgetStopError(stop, fmt.Sprintf("%d of %d tokens used; the next call may need %d",
			stop.SpentTokens, t.BudgetTokens, stop.NeededTokens))
	case t.BudgetUSD > 0 && spentMicros+needMicros > pricing.Micros(t.BudgetUSD):
		stop.Limit = task.BudgetLimitUSD
		return budgetStopError(stop, fmt.Sprintf("$%s of $%s spent; the next call may cost up to $%s",
			task.FormatUSD(stop.SpentUSD), task.FormatUSD(t.BudgetUSD), task.FormatUSD(stop.NeededUSD)))
	}
	return nil
}

func budgetStopError(stop task.BudgetStop, detail string) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("The task's budget does not cover the next model call at the %s stage: %s", stop.Stage, detail),
		task.ErrTypeBudgetStop, nil, stop)
}
