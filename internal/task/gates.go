package task

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Steps of the two gates that stop a task for a decision of its owner
// (beside StepGate, the clarification gate).
const (
	// StepBudget waits for a raised budget (or a decline) after an LLM
	// call did not fit in what was left of the task's budget.
	StepBudget = "budget"
	// StepPlanApproval waits for the owner to approve, revise or reject the
	// design before code is written.
	StepPlanApproval = "plan_approval"
)

// ErrTypeBudgetStop is the type of the non-retryable error an LLM-stage
// activity returns when its next call does not fit in the task's budget; its
// details are a BudgetStop. The workflow turns it into a budget question.
const ErrTypeBudgetStop = "budget_stop"

// BudgetStop says why an LLM call did not fit in the budget.
type BudgetStop struct {
	// Stage is the pipeline stage whose call was stopped.
	Stage string `json:"stage"`
	// Limit is "usd" or "tokens": the budget the call would have exceeded.
	Limit        string  `json:"limit"`
	SpentUSD     float64 `json:"spent_usd"`
	BudgetUSD    float64 `json:"budget_usd"`
	SpentTokens  int64   `json:"spent_tokens"`
	BudgetTokens int64   `json:"budget_tokens"`
	// NeededUSD and NeededTokens are the worst case of the stopped call.
	NeededUSD    float64 `json:"needed_usd"`
	NeededTokens int64   `json:"needed_tokens"`
}

// Budget limits.
const (
	BudgetLimitUSD    = "usd"
	BudgetLimitTokens = "tokens"
)

// PlanComponent is one component of the plan a plan_approval question shows.
type PlanComponent struct {
	Name  string   `json:"name"`
	Files []string `json:"files"`
}

// PlanQuestion is what a plan_approval question presents.
type PlanQuestion struct {
	// Round counts the plans shown: 1 for the first, 2 after one revision.
	Round      int             `json:"round"`
	Components []PlanComponent `json:"components"`
}

// PlanOf groups planned files by component, in plan order.
func PlanOf(round int, files []PlannedFile) *PlanQuestion {
	p := &PlanQuestion{Round: round, Components: []PlanComponent{}}
	index := map[string]int{}
	for _, f := range files {
		i, ok := index[f.Component]
		if !ok {
			i = len(p.Components)
			index[f.Component] = i
			p.Components = append(p.Components, PlanComponent{Name: f.Component})
		}
		p.Components[i].Files = append(p.Components[i].Files, f.Path)
	}
	return p
}

// Decisions of gate answers.
const (
	DecisionRaise   = "raise"
	DecisionDecline = "decline"
	DecisionApprove = "approve"
	DecisionRevise  = "revise"
	DecisionReject  = "reject"
)

// BudgetAnswer is a parsed answer to a budget question.
type BudgetAnswer struct {
	Decision string `json:"decision"` // raise | decline
	// BudgetUSD and BudgetTokens are the new budgets when raised; nil
	// leaves a budget as it is, 0 removes it.
	BudgetUSD    *float64 `json:"budget_usd,omitempty"`
	BudgetTokens *int64   `json:"budget_tokens,omitempty"`
}

// ParseBudgetAnswer reads an answer to q, a budget question: "decline"; a
// number or numeric string (the new budget of the limit that stopped the
// task: dollars or tokens); or an object {"budget_usd": N, "budget_tokens": M}
// (either may be left out; 0 removes that budget). A raised budget must be
// above what is spent.
func ParseBudgetAnswer(q Question, v any) (BudgetAnswer, error) {
	stop := BudgetStop{}
	if q.Budget != nil {
		stop = *q.Budget
	}
	var a BudgetAnswer
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if strings.EqualFold(s, DecisionDecline) {
			return BudgetAnswer{Decision: DecisionDecline}, nil
		}
		n, err := strconv.ParseFloat(strings.TrimPrefix(s, "$"), 64)
		if err != nil {
			return a, fmt.Errorf(`must be "decline", a new budget (a number) or {"budget_usd": N, "budget_tokens": M}`)
		}
		return budgetFromNumber(stop, n)
	case float64:
		return budgetFromNumber(stop, x)
	case map[string]any:
		a.Decision = DecisionRaise
		// Sorted: the outcome must not depend on map order (the workflow
		// validates answers too).
		for _, k := range SortedKeys(x) {
			val := x[k]
			switch k {
			case "budget_usd":
				n, ok := val.(float64)
				if !ok || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
					return a, fmt.Errorf("budget_usd must be a number >= 0")
				}
				a.BudgetUSD = &n
			case "budget_tokens":
				n, ok := val.(float64)
				if !ok || n < 0 || n != math.Trunc(n) || n > math.MaxInt64/2 {
					return a, fmt.Errorf("budget_tokens must be a whole number >= 0")
				}
				t := int64(n)
				a.BudgetTokens = &t
			case "decision":
				if d, _ := val.(string); d == DecisionDecline {
					return BudgetAnswer{Decision: DecisionDecline}, nil
				} else if d != DecisionRaise {
					return a, fmt.Errorf(`decision must be "raise" or "decline"`)
				}
			default:
				return a, fmt.Errorf("unknown field %q (allowed: budget_usd, budget_tokens, decision)", k)
			}
		}
		if a.BudgetUSD == nil && a.BudgetTokens == nil {
			return a, fmt.Errorf("give budget_usd and/or budget_tokens to raise the budget, or answer \"decline\"")
		}
		return a, checkRaise(stop, a)
	}
	return a, fmt.Errorf(`must be "decline", a new budget (a number) or {"budget_usd": N, "budget_tokens": M}`)
}

func budgetFromNumber(stop BudgetStop, n float64) (BudgetAnswer, error) {
	if n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return BudgetAnswer{}, fmt.Errorf("the new budget must be a number >= 0")
	}
	a := BudgetAnswer{Decision: DecisionRaise}
	if stop.Limit == BudgetLimitTokens {
		if n != math.Trunc(n) || n > math.MaxInt64/2 {
			return a, fmt.Errorf("the new token budget must be a whole number")
		}
		t := int64(n)
		a.BudgetTokens = &t
	} else {
		a.BudgetUSD = &n
	}
	return a, checkRaise(stop, a)
}

// checkRaise refuses a budget that is not above what is spent, and a raise
// that leaves the limit that stopped the task where it was.
func checkRaise(stop BudgetStop, a BudgetAnswer) error {
	if a.BudgetUSD != nil && *a.BudgetUSD != 0 && *a.BudgetUSD <= stop.SpentUSD {
		return fmt.Errorf("the new budget $%s must be above the $%s already spent (or 0 for no budget)",
			FormatUSD(*a.BudgetUSD), FormatUSD(stop.SpentUSD))
	}
	if a.BudgetTokens != nil && *a.BudgetTokens != 0 && *a.BudgetTokens <= stop.SpentTokens {
		return fmt.Errorf("the new token budget %d must be above the %d tokens already used (or 0 for no budget)",
			*a.BudgetTokens, stop.SpentTokens)
	}
	switch {
	case stop.Limit == BudgetLimitUSD && a.BudgetUSD == nil:
		return fmt.Errorf("the dollar budget stopped the task: give a new budget_usd")
	case stop.Limit == BudgetLimitTokens && a.BudgetTokens == nil:
		return fmt.Errorf("the token budget stopped the task: give a new budget_tokens")
	}
	return nil
}

// PlanAnswer is a parsed answer to a plan_approval question.
type PlanAnswer struct {
	Decision     string `json:"decision"` // approve | revise | reject
	Instructions string `json:"instructions,omitempty"`
}

// ParsePlanAnswer reads an answer to a plan_approval question: "approve",
// "reject", "revise: <instructions>", or {"decision": "approve|revise|reject",
// "instructions": "..."} (instructions are required to revise).
func ParsePlanAnswer(v any) (PlanAnswer, error) {
	const shape = `must be "approve", "reject", "revise: <what to change>" or {"decision": "revise", "instructions": "..."}`
	var a PlanAnswer
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		low := strings.ToLower(s)
		switch {
		case low == DecisionApprove || low == DecisionReject:
			a.Decision = low
		case strings.HasPrefix(low, DecisionRevise+":"):
			a.Decision, a.Instructions = DecisionRevise, strings.TrimSpace(s[len(DecisionRevise)+1:])
		default:
			return a, fmt.Errorf("%s", shape)
		}
	case map[string]any:
		for _, k := range SortedKeys(x) {
			s, ok := x[k].(string)
			if !ok {
				return a, fmt.Errorf("%s must be a string", k)
			}
			switch k {
			case "decision":
				a.Decision = strings.ToLower(strings.TrimSpace(s))
			case "instructions":
				a.Instructions = strings.TrimSpace(s)
			default:
				return a, fmt.Errorf("unknown field %q (allowed: decision, instructions)", k)
			}
		}
		if a.Decision != DecisionApprove && a.Decision != DecisionReject && a.Decision != DecisionRevise {
			return a, fmt.Errorf(`decision must be "approve", "revise" or "reject"`)
		}
	default:
		return a, fmt.Errorf("%s", shape)
	}
	if a.Decision == DecisionRevise && a.Instructions == "" {
		return a, fmt.Errorf("say what to change to revise the plan")
	}
	if len([]rune(a.Instructions)) > MaxAnswerChars {
		return a, fmt.Errorf("instructions must be at most %d characters", MaxAnswerChars)
	}
	return a, nil
}

// FormatUSD prints dollars with enough digits for small model bills.
func FormatUSD(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// BudgetQuestion is the question a budget stop asks.
func BudgetQuestion(id string, stop BudgetStop) Question {
	var spent string
	if stop.Limit == BudgetLimitTokens {
		spent = fmt.Sprintf("Used %d of %d tokens", stop.SpentTokens, stop.BudgetTokens)
	} else {
		spent = fmt.Sprintf("Spent $%s of $%s", FormatUSD(stop.SpentUSD), FormatUSD(stop.BudgetUSD))
	}
	s := stop
	return Question{
		ID:       id,
		Type:     QuestionBudget,
		Text:     fmt.Sprintf("%s at stage %s; raise the budget to continue?", spent, stop.Stage),
		Choices:  []string{DecisionRaise, DecisionDecline},
		Required: true,
		Rationale: fmt.Sprintf("The next model call may need up to $%s / %d tokens. Answer with a higher budget to re-run the %s stage, or \"decline\" to end the task (its work is kept).",
			FormatUSD(stop.NeededUSD), stop.NeededTokens, stop.Stage),
		Budget: &s,
	}
}

// PlanApprovalQuestion is the question plan approval asks.
func PlanApprovalQuestion(id string, plan *PlanQuestion) Question {
	files := 0
	for _, c := range plan.Components {
		files += len(c.Files)
	}
	return Question{
		ID:       id,
		Type:     QuestionPlanApproval,
		Text:     fmt.Sprintf("Approve the plan (%d components, %d files) before code is written?", len(plan.Components), files),
		Choices:  []string{DecisionApprove, DecisionRevise, DecisionReject},
		Required: true,
		Rationale: "Approve to start coding; revise with instructions to run the design again; reject to cancel the task " +
			"(its work is kept). The full design is the latest architecture artifact.",
		Plan: plan,
	}
}
