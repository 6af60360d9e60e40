package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
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
		{question{ID: "budget-2", Type: task.QuestionBudget, Budget: &task.BudgetStop{Limit: task.BudgetLimitUSD, SpentUSD: 0.5}},
			"0.3", nil, "above the $0.5000 already spent"},
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

// TestCreateSendsBudgetAndApproval: the budget and approval flags reach the
// request body; unset budget flags are left out so the server's defaults
// apply.
func TestCreateSendsBudgetAndApproval(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = nil
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"task_id":"00000000-0000-0000-0000-000000000001","status":"queued"}`))
	}))
	defer srv.Close()
	env := envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL, "AIPLATFORM_API_KEY": "k"})
	cases := []struct {
		args []string
		want map[string]any
	}{
		{[]string{"task", "create", "x"}, map[string]any{"description": "x"}},
		{[]string{"task", "create", "x", "--budget-usd", "0.5", "--approve-plan"},
			map[string]any{"description": "x", "budget_usd": 0.5, "approve_plan": true}},
		{[]string{"task", "create", "--budget-tokens=20000", "x", "--budget-usd", "0"},
			map[string]any{"description": "x", "budget_tokens": float64(20000), "budget_usd": float64(0)}},
	}
	for _, c := range cases {
		if r := runCLI(t, env, "", c.args...); r.code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, r.code, r.errOut)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v sent %v, want %v", c.args, got, c.want)
		}
	}
}
