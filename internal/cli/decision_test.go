package cli

import (
	"bytes"
	"strings"
	"testing"

	"ai-platform/internal/task"
)

func TestParseDecisionAnswers(t *testing.T) {
	budget := question{ID: "budget-1", Type: task.QuestionBudget, Required: true}
	plan := question{ID: "plan-1", Type: task.QuestionPlanApproval, Required: true}
	cases := []struct {
		q       question
		line    string
		want    any
		wantErr string
	}{
		{budget, "2.5", 2.5, ""},
		{budget, "$0.75", 0.75, ""},
		{budget, "Decline", "decline", ""},
		{budget, "more please", nil, "new budget"},
		{budget, "", nil, "required"},
		{plan, "approve", "approve", ""},
		{plan, "revise: use sqlite", "revise: use sqlite", ""},
		{plan, "revise:", nil, "what to change"},
		{plan, "maybe", nil, "approve"},
	}
	for _, c := range cases {
		v, _, err := parseAnswer(c.q, c.line, true)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s %q: error %v, want one saying %q", c.q.Type, c.line, err, c.wantErr)
			}
			continue
		}
		if err != nil || v != c.want {
			t.Errorf("%s %q: got %v, %v; want %v", c.q.Type, c.line, v, err, c.want)
		}
	}
}

func TestShowDecisionPrintsThePlanAndTheBudget(t *testing.T) {
	var b bytes.Buffer
	showDecision(&b, question{Plan: task.PlanOf(2, []task.PlannedFile{
		{Path: "app/core.py", Component: "Core"}, {Path: "tests/test_core.py", Component: "Core"}, {Path: "README.md", Component: "Docs"},
	})})
	showDecision(&b, question{Budget: &task.BudgetStop{SpentUSD: 0.0123, BudgetUSD: 0.02, NeededUSD: 0.01, NeededTokens: 3000}})
	out := b.String()
	for _, want := range []string{"Plan (round 2)", "Core", "- app/core.py", "- tests/test_core.py", "Docs", "- README.md",
		"Spent: $0.0123 of $0.0200", "3000 tokens"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
