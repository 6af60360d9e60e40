package task

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// MaxAnswerChars bounds one text answer; answers travel in signals and prompts.
const MaxAnswerChars = 4000

// Answered reports whether v counts as an answer: present, not a blank string
// and not an empty list. The same rule decides /resume's missing list and the
// gate's "still open" list, so an accepted answer is never asked again.
func Answered(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(x) != ""
	case []any:
		return len(x) > 0
	case []string:
		return len(x) > 0
	}
	return true
}

// MissingRequired lists the ids of required questions without an answer, in
// question order.
func MissingRequired(qs []Question, answers map[string]any) []string {
	missing := []string{}
	for _, q := range qs {
		if q.Required && !Answered(answers[q.ID]) {
			missing = append(missing, q.ID)
		}
	}
	return missing
}

// ValidateAnswers checks answers against the pending questions and returns a
// problem per offending id (nil when all are fine).
func ValidateAnswers(qs []Question, answers map[string]any) map[string]string {
	problems := map[string]string{}
	byID := map[string]Question{}
	for _, q := range qs {
		byID[q.ID] = q
	}
	for _, id := range SortedKeys(answers) {
		v := answers[id]
		q, ok := byID[id]
		if !ok {
			problems[id] = "unknown question id"
			continue
		}
		if v == nil {
			continue // null clears an answer
		}
		switch q.Type {
		case QuestionBudget:
			if _, err := ParseBudgetAnswer(q, v); err != nil {
				problems[id] = err.Error()
			}
		case QuestionPlanApproval:
			if _, err := ParsePlanAnswer(v); err != nil {
				problems[id] = err.Error()
			}
		case QuestionChoice:
			s, ok := v.(string)
			if !ok {
				problems[id] = "must be one of the choices (a string)"
			} else if s != "" && len(q.Choices) > 0 && !slices.Contains(q.Choices, s) {
				problems[id] = fmt.Sprintf("%q is not one of the choices %v", s, q.Choices)
			}
		case QuestionMulti:
			list, ok := v.([]any)
			if !ok {
				problems[id] = "must be a list of choices"
				continue
			}
			for _, item := range list {
				s, ok := item.(string)
				if !ok || (len(q.Choices) > 0 && !slices.Contains(q.Choices, s)) {
					problems[id] = fmt.Sprintf("every item must be one of the choices %v", q.Choices)
					break
				}
			}
		default:
			s, ok := v.(string)
			if !ok {
				problems[id] = "must be a string"
			} else if len([]rune(s)) > MaxAnswerChars {
				problems[id] = fmt.Sprintf("must be at most %d characters", MaxAnswerChars)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return problems
}

// SortedKeys returns the keys of m in order; workflows range over maps only
// through it, so iteration order never depends on the runtime.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	// The order is random here and sorted below.
	//workflowcheck:ignore
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MergeAnswers returns base updated with upd (new values win; null removes).
func MergeAnswers(base, upd map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(upd))
	for _, k := range SortedKeys(base) {
		out[k] = base[k]
	}
	for _, k := range SortedKeys(upd) {
		if upd[k] == nil {
			delete(out, k)
			continue
		}
		out[k] = upd[k]
	}
	return out
}
