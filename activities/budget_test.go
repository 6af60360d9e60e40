package activities

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/pricing"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// TestBudgetStopsTheStageBeforeItsCall: a research stage whose first call's
// worst case does not fit in what is left stops before the request with a
// budget_stop error carrying the figures; with room it runs.
func TestBudgetStopsTheStageBeforeItsCall(t *testing.T) {
	prices, err := pricing.Parse("gpt-test=1/2") // $1 in, $2 out per million tokens
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name         string
		budgetUSD    float64
		budgetTokens int64
		spentUSD     float64
		spentTokens  int64
		wantLimit    string // "" = the stage runs
	}{
		{name: "no budget", wantLimit: ""},
		{name: "room in dollars", budgetUSD: 1, wantLimit: ""},
		// max_tokens 1024 at $2/M is $0.002048 alone.
		{name: "dollars run out", budgetUSD: 0.002, wantLimit: task.BudgetLimitUSD},
		{name: "spent leaves too little", budgetUSD: 0.01, spentUSD: 0.009, wantLimit: task.BudgetLimitUSD},
		{name: "tokens run out", budgetTokens: 1000, wantLimit: task.BudgetLimitTokens},
		{name: "room in tokens", budgetTokens: 100000, spentTokens: 500, wantLimit: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "a small library", "", func(d *Deps) { d.Prices = prices })
			f.a.Agents.MaxTokens = 1024
			if _, err := f.store.UpdateTask(context.Background(), f.task.ID, func(tk *store.Task) error {
				tk.BudgetUSD, tk.BudgetTokens, tk.CostUSD, tk.TokensIn = tc.budgetUSD, tc.budgetTokens, tc.spentUSD, tc.spentTokens
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			_, err := f.a.Research(context.Background(), task.StageIn{Step: f.step("g0/s1"), Plan: task.Plan{MaxQuestions: 3}})
			if tc.wantLimit == "" {
				if err != nil {
					t.Fatalf("research with room in the budget: %v", err)
				}
				return
			}
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != task.ErrTypeBudgetStop || !appErr.NonRetryable() {
				t.Fatalf("error %v, want a non-retryable %s", err, task.ErrTypeBudgetStop)
			}
			var stop task.BudgetStop
			if err := appErr.Details(&stop); err != nil {
				t.Fatal(err)
			}
			if stop.Limit != tc.wantLimit || stop.Stage != task.StageResearch || stop.NeededTokens <= 1024 ||
				stop.BudgetUSD != tc.budgetUSD || stop.BudgetTokens != tc.budgetTokens || stop.SpentUSD != tc.spentUSD {
				t.Fatalf("stop %+v", stop)
			}
			if tc.wantLimit == task.BudgetLimitUSD && stop.NeededUSD < 0.002048 {
				t.Fatalf("needed $%v, want at least the output's worst case $0.002048", stop.NeededUSD)
			}
			// Nothing was asked of the model, so nothing is charged.
			tk, _ := f.store.GetTask(context.Background(), f.task.ID)
			if tk.TokensIn != tc.spentTokens || tk.CostUSD != tc.spentUSD {
				t.Fatalf("task charged %d tokens / $%v for a call that never happened", tk.TokensIn, tk.CostUSD)
			}
		})
	}
}

// TestRaisedBudgetIsApplied: the projection update of an answered budget
// question raises the task's budgets.
func TestRaisedBudgetIsApplied(t *testing.T) {
	f := newFixture(t, "a small library", "", nil)
	usd, tokens := 2.5, int64(0)
	err := f.a.UpdateTask(context.Background(), task.Update{Step: f.step("g0/s9"),
		Budget: &task.BudgetAnswer{Decision: task.DecisionRaise, BudgetUSD: &usd, BudgetTokens: &tokens}})
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := f.store.GetTask(context.Background(), f.task.ID)
	if tk.BudgetUSD != 2.5 || tk.BudgetTokens != 0 {
		t.Fatalf("budget %v / %d", tk.BudgetUSD, tk.BudgetTokens)
	}
}
