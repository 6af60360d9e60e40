package activities

import (
	"context"
	"errors"
	"time"

	"ai-platform/internal/llm"
	"ai-platform/internal/pricing"
	"ai-platform/internal/runner"
)

// Metrics receives the worker's observations (Deps.Metrics; nil disables).
type Metrics interface {
	// LLMRequest is one provider request: its stage, outcome (ok, error,
	// cancelled), the tokens the provider reported, their cost in US
	// dollars (0 for a model without a price) and its latency.
	LLMRequest(provider, model, stage, outcome string, tokensIn, tokensOut int64, costUSD float64, d time.Duration)
	// CommandRun is one command run by the safe runner.
	CommandRun(purpose, outcome string, d time.Duration)
	// Purged counts what a retention pass removed, by kind (tasks, events,
	// artifacts, files, usage, workspaces).
	Purged(kind string, n int64)
}

// observedProvider reports every request of the agents to Metrics. It sits
// between the agents and the provider, so corrective follow-ups and retried
// activity attempts are counted as the provider sees them: these are the
// tokens actually spent, while the task's totals charge each step once.
type observedProvider struct {
	llm.Provider
	metrics Metrics
	prices  pricing.Table
}

func (p observedProvider) Complete(ctx context.Context, req llm.Request) (llm.Response, error) {
	start := time.Now()
	resp, err := p.Provider.Complete(ctx, req)
	outcome := "ok"
	switch {
	case err != nil && (errors.Is(err, context.Canceled) || ctx.Err() != nil):
		outcome = "cancelled"
	case err != nil:
		outcome = "error"
	}
	// The request's own model when it names one (a fallback), else the
	// reply's, else the provider's.
	model := firstNonEmpty(resp.Model, req.Model, p.Model())
	cost, _ := p.prices.Cost(model, resp.Usage.InputTokens, resp.Usage.OutputTokens)
	p.metrics.LLMRequest(p.Name(), model, req.Stage, outcome,
		resp.Usage.InputTokens, resp.Usage.OutputTokens, cost, time.Since(start))
	return resp, err
}

// commandOutcome is the outcome label of a runner result.
func commandOutcome(res runner.Result) string {
	switch {
	case res.Skipped:
		return "skipped"
	case res.TimedOut:
		return "timeout"
	case res.Blocked:
		return "blocked"
	case !res.Ran || res.ExitCode == nil:
		return "error"
	case *res.ExitCode == 0:
		return "passed"
	}
	return "failed"
}

func (a *Activities) observeCommand(purpose string, res runner.Result) {
	if a.Metrics != nil {
		a.Metrics.CommandRun(purpose, commandOutcome(res), time.Duration(res.DurationSeconds*float64(time.Second)))
	}
}
