package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"ai-platform/internal/llm"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

var (
	placeholderRe = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}|\[\[\s*([^\[\]]*?)\s*\]\]`)
	nonIDRe       = regexp.MustCompile(`[^a-z0-9_]+`)
	// TBD and TBC are never ordinary words; "todo" is (a todo app), so only
	// an upper-case TODO or a "todo:" note counts as an open question.
	openMarkerRe = regexp.MustCompile(`(?i:\b(?:TBD|TBC)\b)|\bTODO\b|(?i:\btodo:)|\?\?`)
)

// questionID derives a stable id from a name: lower-case, runs of other
// characters become "_"; a name with no usable character gets a hash-based
// id, so the same placeholder always maps to the same question.
func questionID(name string) string {
	id := strings.Trim(nonIDRe.ReplaceAllString(strings.ToLower(name), "_"), "_")
	if id == "" {
		sum := sha256.Sum256([]byte(name))
		id = "placeholder_" + hex.EncodeToString(sum[:4])
	}
	if len(id) > 64 {
		id = id[:64]
	}
	return id
}

// GateQuestions returns the clarification questions a description raises, in
// priority order: template questions, placeholders, too-short text, open
// markers, then the researcher's own.
func GateQuestions(description string, templateQs, researchQs []task.Question) []task.Question {
	var qs []task.Question
	qs = append(qs, templateQs...)
	for _, m := range placeholderRe.FindAllStringSubmatch(description, -1) {
		name := m[1] + m[2]
		qs = append(qs, task.Question{
			ID: questionID(name), Text: "Please clarify: " + name, Type: task.QuestionText, Required: true,
			Rationale: "This placeholder must be resolved before implementation.",
		})
	}
	if len(strings.Fields(description)) < 5 {
		qs = append(qs, task.Question{
			ID: "task_details", Text: "Please provide more detail about the desired outcome.", Type: task.QuestionText,
			Required: true, Rationale: "The task description is too short to infer requirements.",
		})
	}
	if openMarkerRe.MatchString(description) {
		qs = append(qs, task.Question{
			ID: "open_questions", Text: "Please resolve the open questions/unknowns in the task description.",
			Type: task.QuestionText, Required: true, Rationale: "Open questions must be answered before coding.",
		})
	}
	return append(qs, researchQs...)
}

// openQuestions filters qs to the ones still to ask: de-duplicated by id,
// not answered, not asked in an earlier round, at most limit. Optional
// questions alone never pause a task; they ride along when a required one
// opens the gate.
func openQuestions(qs []task.Question, answers map[string]any, asked []string, limit int) []task.Question {
	seen := map[string]bool{}
	out := []task.Question{}
	qs = slices.Clone(qs)
	slices.SortStableFunc(qs, func(a, b task.Question) int {
		switch {
		case a.Required == b.Required:
			return 0
		case a.Required:
			return -1
		}
		return 1
	})
	for _, q := range qs {
		if seen[q.ID] || task.Answered(answers[q.ID]) || slices.Contains(asked, q.ID) {
			continue
		}
		seen[q.ID] = true
		out = append(out, q)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	if !slices.ContainsFunc(out, func(q task.Question) bool { return q.Required }) {
		return []task.Question{}
	}
	return out
}

// researchQuestion turns a model's open question into a gate question. Its
// text goes through store.CleanText here, not only in the store: the
// workflow keeps this copy to show the questions and to check answers
// against the choices, and a user cannot type NUL (the API refuses it), so
// a choice must read the same in both copies to be selectable at all.
func researchQuestion(q llm.OpenQuestion) (task.Question, bool) {
	text := store.CleanText(strings.TrimSpace(q.Text))
	if text == "" {
		return task.Question{}, false
	}
	id := questionID(q.ID)
	if strings.TrimSpace(q.ID) == "" {
		id = questionID(text)
	}
	typ := q.Type
	switch typ {
	case task.QuestionChoice, task.QuestionMulti:
		if len(q.Choices) == 0 {
			typ = task.QuestionText
		}
	default:
		typ = task.QuestionText
	}
	out := task.Question{ID: id, Text: text, Type: typ, Required: true,
		Rationale: firstNonEmpty(store.CleanText(q.Rationale), "The researcher needs this to continue.")}
	if typ != task.QuestionText {
		out.Choices = make([]string, len(q.Choices))
		for i, c := range q.Choices {
			out.Choices[i] = store.CleanText(c)
		}
	}
	return out, true
}

// Clarify is the gate: it returns the questions still open and, when there
// are any, records the clarification_questions artifact and event.
func (a *Activities) Clarify(ctx context.Context, in task.ClarifyIn) ([]task.Question, error) {
	t, err := a.getTask(ctx, in.Step.TaskID)
	if err != nil {
		return nil, err
	}
	var templateQs []task.Question
	if tmpl, ok := a.Catalog.Get(t.TemplateID); ok && t.TemplateID != "" {
		templateQs = tmpl.Questions
	}
	qs := openQuestions(GateQuestions(t.Description, templateQs, in.OpenQuestions), t.ProvidedAnswers, in.Asked, in.Plan.MaxQuestions)
	if len(qs) == 0 {
		return nil, nil
	}
	now := task.FormatTime(a.Now())
	payload := map[string]any{"questions": qs, "requested_at": now, "round": in.Round}
	if _, err := a.artifact(ctx, in.Step, "questions", task.ArtifactClarificationQuestions, task.RolePlanner, payload); err != nil {
		return nil, err
	}
	if err := a.event(ctx, in.Step, "requested", task.EventClarificationRequested, map[string]any{
		"questions": qs, "requested_at": now, "resume_from_stage": task.StageDesign,
	}); err != nil {
		return nil, err
	}
	// The task may now wait for days: its snapshot should say so.
	return qs, a.saveSnapshot(ctx, t.ID, task.SnapshotClarification, fmt.Sprintf("asked %d question(s), round %d", len(qs), in.Round), nil)
}
