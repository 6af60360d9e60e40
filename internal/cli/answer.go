package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"ai-platform/internal/task"
)

// maxAnswerChars is the server's limit on one text answer.
const maxAnswerChars = task.MaxAnswerChars

// question is one clarification question.
type question struct {
	ID        string   `json:"id"`
	Text      string   `json:"text"`
	Type      string   `json:"type"`
	Choices   []string `json:"choices"`
	Required  bool     `json:"required"`
	Rationale string   `json:"rationale"`
	// Budget and Plan are set on budget and plan_approval questions.
	Budget *task.BudgetStop   `json:"budget,omitempty"`
	Plan   *task.PlanQuestion `json:"plan,omitempty"`
}

// kind is the question's effective type: choice questions without choices
// are answered with text.
func (q question) kind() string {
	if (q.Type == "choice" || q.Type == "multi") && len(q.Choices) > 0 {
		return q.Type
	}
	return "text"
}

// questionsView is GET /questions.
type questionsView struct {
	Status      string         `json:"status"`
	Pending     []question     `json:"pending_questions"`
	Provided    map[string]any `json:"provided_answers"`
	ResumeFrom  *string        `json:"resume_from_stage"`
	RequestedAt *string        `json:"requested_at"`
}

// round is the outcome of asking one set of questions.
type round struct {
	key    string // identifies the set, so a follow never asks it twice
	asked  bool
	status string // the task's status after the round
	raw    []byte // the API's answer to POST /input (or GET /questions)
}

func (a *app) answer(ctx context.Context, args []string) error {
	fs := a.flags("task answer")
	pos, c, err := a.parseWithClient(fs, args, 1, 1)
	if err != nil {
		return err
	}
	r, err := a.answerRound(ctx, c, pos[0], "", func() {})
	if err != nil {
		return err
	}
	if a.json {
		return writeRaw(a.stdout, r.raw)
	}
	if !r.asked {
		fmt.Fprintf(a.stdout, "Task %s is %s: no questions are pending.\n", pos[0], r.status)
		return nil
	}
	if r.status != "queued" {
		fmt.Fprintf(a.stdout, "Answers saved; task %s is %s.\n", pos[0], r.status)
	}
	return nil
}

// answerRound asks the task's pending questions (unless their set is skip)
// and sends the answers with auto_resume. Answers the server rejects are
// shown with its reasons and asked again. onAsk runs before the first
// question is shown.
func (a *app) answerRound(ctx context.Context, c *client, id, skip string, onAsk func()) (round, error) {
	var qv questionsView
	raw, err := c.getJSON(ctx, taskPath(id, "/questions"), nil, &qv)
	if err != nil {
		return round{}, notFoundTask(err, id)
	}
	if qv.Status != "needs_input" || len(qv.Pending) == 0 {
		return round{status: qv.Status, raw: raw}, nil
	}
	ids := make([]string, len(qv.Pending))
	for i, q := range qv.Pending {
		ids[i] = q.ID
	}
	key := deref(qv.RequestedAt) + "|" + strings.Join(ids, ",")
	if key == skip {
		return round{key: key, status: qv.Status, raw: raw}, nil
	}
	onAsk()
	ui := a.ui()
	resume := ""
	if s := deref(qv.ResumeFrom); s != "" {
		resume = "; the task continues with " + s + " once they are answered"
	}
	fmt.Fprintf(ui, "\nTask %s has %d question(s)%s.\n", id, len(qv.Pending), resume)
	todo := qv.Pending
	for {
		answers := map[string]any{}
		for i, q := range todo {
			v, set, err := a.ask(ctx, ui, q, i+1, len(todo), qv.Provided[q.ID])
			if err != nil {
				if errors.Is(err, errNoInput) {
					return round{}, &exitError{code: ExitNeedsInput, msg: fmt.Sprintf(
						"task %s waits for answers and none could be read from standard input; "+
							"answer with `aiplatform task answer %s` or in the web UI", id, id)}
				}
				return round{}, err
			}
			if set {
				answers[q.ID] = v
			}
		}
		var out struct {
			Status  string   `json:"status"`
			Missing []string `json:"missing"`
		}
		raw, err := c.sendJSON(ctx, http.MethodPost, taskPath(id, "/input"), nil,
			map[string]any{"answers": answers, "auto_resume": true}, &out)
		var ae *APIError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusBadRequest && ae.Code == "invalid_answers":
			fmt.Fprintln(ui, "The server did not accept some answers:")
			todo = rejected(qv.Pending, ae, ui)
			if len(todo) == 0 {
				return round{}, err
			}
			continue
		case err != nil:
			return round{}, notFoundTask(err, id)
		}
		if out.Status == "input_saved" && len(out.Missing) > 0 {
			fmt.Fprintf(ui, "Still unanswered: %s\n", strings.Join(out.Missing, ", "))
			todo = pick(qv.Pending, out.Missing)
			qv.Provided = nil
			continue
		}
		if out.Status == "queued" {
			fmt.Fprintln(ui, "Answers sent; the task resumes.")
		}
		return round{key: key, asked: true, status: out.Status, raw: raw}, nil
	}
}

// rejected prints the server's problems and returns the questions to ask again.
func rejected(qs []question, ae *APIError, w io.Writer) []question {
	var d struct {
		Problems map[string]string `json:"problems"`
	}
	_ = json.Unmarshal(ae.Detail, &d)
	for _, id := range sortedKeys(d.Problems) {
		fmt.Fprintf(w, "  %s: %s\n", id, d.Problems[id])
	}
	return pick(qs, sortedKeys(d.Problems))
}

func pick(qs []question, ids []string) []question {
	var out []question
	for _, q := range qs {
		if slices.Contains(ids, q.ID) {
			out = append(out, q)
		}
	}
	return out
}

// ask shows one question and reads answers until one is valid. set is
// false when the question is skipped (optional, or keeping current).
func (a *app) ask(ctx context.Context, w io.Writer, q question, n, of int, current any) (any, bool, error) {
	need := "optional"
	if q.Required {
		need = "required"
	}
	fmt.Fprintf(w, "\n[%d/%d] %s (%s)\n", n, of, q.Text, need)
	if q.Rationale != "" {
		fmt.Fprintf(w, "      Why: %s\n", q.Rationale)
	}
	for i, ch := range q.Choices {
		if q.kind() != "text" {
			fmt.Fprintf(w, "      %d) %s\n", i+1, ch)
		}
	}
	showDecision(w, q)
	has := task.Answered(current)
	if has {
		fmt.Fprintf(w, "      Current answer: %s (Enter keeps it)\n", render(current))
	}
	label := map[string]string{"text": "Answer", "choice": "Choose a number", "multi": "Choose numbers, comma-separated"}[q.kind()]
	switch q.Type {
	case task.QuestionBudget:
		label = "New budget (a number), or decline"
	case task.QuestionPlanApproval:
		label = "approve, reject, or revise: <what to change>"
	}
	if !q.Required && !has {
		label += " (Enter to skip)"
	}
	for {
		line, err := a.prompt(ctx, w, "      "+label+": ")
		if err != nil {
			return nil, false, err
		}
		v, skip, err := parseAnswer(q, line, q.Required && !has)
		if err != nil {
			fmt.Fprintf(w, "      %s\n", err)
			continue
		}
		return v, !skip, nil
	}
}

// parseAnswer checks one typed answer locally: numbers for choices, at
// least one pick for required multi questions, the text length limit.
// skip is true for an empty answer that may be left out.
func parseAnswer(q question, line string, required bool) (v any, skip bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" {
		if required {
			return nil, false, errors.New("an answer is required")
		}
		return nil, true, nil
	}
	switch q.Type {
	case task.QuestionBudget:
		// The server's own rule (a raise above what is spent), checked
		// before sending; a number is sent as a number.
		a, err := task.ParseBudgetAnswer(task.Question{Type: q.Type, Budget: q.Budget}, line)
		if err != nil {
			return nil, false, err
		}
		if a.Decision == task.DecisionDecline {
			return task.DecisionDecline, false, nil
		}
		f, _ := strconv.ParseFloat(strings.TrimPrefix(line, "$"), 64)
		return f, false, nil
	case task.QuestionPlanApproval:
		if _, err := task.ParsePlanAnswer(line); err != nil {
			return nil, false, err
		}
		return line, false, nil
	}
	switch q.kind() {
	case "choice":
		ch, err := choice(q.Choices, line)
		if err != nil {
			return nil, false, err
		}
		return ch, false, nil
	case "multi":
		var picked []string
		for _, part := range strings.Split(line, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			ch, err := choice(q.Choices, part)
			if err != nil {
				return nil, false, err
			}
			if !slices.Contains(picked, ch) {
				picked = append(picked, ch)
			}
		}
		if len(picked) == 0 {
			return nil, false, errors.New("pick at least one choice")
		}
		return picked, false, nil
	}
	if n := utf8.RuneCountInString(line); n > maxAnswerChars {
		return nil, false, fmt.Errorf("the answer has %d characters; at most %d are allowed", n, maxAnswerChars)
	}
	return line, false, nil
}

// choice accepts a choice's number or its exact text (any case).
func choice(choices []string, s string) (string, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n >= 1 && n <= len(choices) {
			return choices[n-1], nil
		}
		return "", fmt.Errorf("%d is not a choice: enter a number from 1 to %d", n, len(choices))
	}
	for _, ch := range choices {
		if strings.EqualFold(ch, s) {
			return ch, nil
		}
	}
	return "", fmt.Errorf("%q is not a choice: enter a number from 1 to %d", s, len(choices))
}

func render(v any) string {
	switch x := v.(type) {
	case string:
		return truncate(x, 80)
	case []any:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = fmt.Sprint(it)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// showDecision prints what a budget or plan_approval question is about: the
// figures that stopped the task, or the plan, component by component.
func showDecision(w io.Writer, q question) {
	if b := q.Budget; b != nil {
		fmt.Fprintf(w, "      Spent: $%s of $%s, %d of %d tokens (0 = no budget); the next call may need $%s / %d tokens\n",
			task.FormatUSD(b.SpentUSD), task.FormatUSD(b.BudgetUSD), b.SpentTokens, b.BudgetTokens,
			task.FormatUSD(b.NeededUSD), b.NeededTokens)
	}
	if p := q.Plan; p != nil {
		fmt.Fprintf(w, "      Plan (round %d):\n", p.Round)
		for _, c := range p.Components {
			fmt.Fprintf(w, "        %s\n", c.Name)
			for _, f := range c.Files {
				fmt.Fprintf(w, "          - %s\n", f)
			}
		}
	}
}
