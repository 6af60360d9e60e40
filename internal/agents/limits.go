package agents

import (
	"fmt"
	"unicode/utf8"

	"ai-platform/internal/llm"
)

// Bounds on a model reply. Part of each reply goes back to the workflow as
// the activity's result (open questions, planned files, written paths) and
// rides along in its checkpoint across continue-as-new. Temporal refuses any
// single payload over 2 MB by default (and warns from 512 KB); a refused
// result does not come back as a clear error but fails the task with
// Temporal's own message. A 3 MB question with 20,000 choices did exactly
// that. With these bounds the worst case stays well below the limit: 20
// open questions of at most 6,200 characters come to ~125 KB of ASCII
// (~750 KB if every character were a six-byte JSON escape such as \u003c),
// and 300 planned files of a 256-character path and two 100-character names
// to ~140 KB (~820 KB). In practice far less goes back: the codex's
// max_questions (3 by default) trims the questions the workflow gets. A reply
// over a bound is an invalid reply like any other: the model gets one
// corrective retry, then the stage fails with llm_invalid_response naming
// the bound.
//
// The other fields (summaries, requirements, findings) stay in the store,
// but they are sent back to the model in later briefs and rendered into the
// project's documents, so they are bounded too, generously.
const (
	// MaxOpenQuestions is the most open questions a research reply may ask.
	MaxOpenQuestions = 20
	// MaxQuestionChars bounds an open question's text.
	MaxQuestionChars = 1000
	// MaxChoices bounds the choices of one open question.
	MaxChoices = 20
	// MaxChoiceChars bounds one choice.
	MaxChoiceChars = 200
	// MaxRationaleChars bounds an open question's rationale.
	MaxRationaleChars = 1000
	// MaxNameChars bounds ids, names and kinds (question and requirement
	// ids, component names, file kinds).
	MaxNameChars = 100
	// MaxPathChars bounds a planned or written path. workspace.CleanPath
	// allows 1024 bytes, but these paths go back to the workflow, and real
	// project paths are far shorter.
	MaxPathChars = 256
	// MaxPlannedFiles bounds the files of a design (and of one component).
	MaxPlannedFiles = 300
	// MaxReplyFiles bounds the files of one code reply.
	MaxReplyFiles = 100
	// MaxSummaryChars bounds a reply's summary.
	MaxSummaryChars = 10000
	// MaxListItems bounds every other list of a reply (requirements, user
	// stories, assumptions, constraints, components, dependencies, issues,
	// warnings).
	MaxListItems = 200
	// MaxItemChars bounds one item of such a list.
	MaxItemChars = 2000
)

// excerptChars is how much of an offending value a validation message
// quotes: enough to recognise it, never the whole of a huge reply (the
// message becomes the task's error and travels through Temporal).
const excerptChars = 60

// excerpt quotes the start of s for a validation message.
func excerpt(s string) string {
	if utf8.RuneCountInString(s) <= excerptChars {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q…", string(r[:excerptChars]))
}

// textLimit checks one text field; what names it in the message.
func textLimit(what, s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Errorf("%s is %d characters; the limit is %d", what, n, limit)
	}
	return nil
}

// countLimit checks the length of one list field.
func countLimit(what string, n, limit int) error {
	if n > limit {
		return fmt.Errorf("%s has %d entries; the limit is %d", what, n, limit)
	}
	return nil
}

// listLimit checks a list of strings: its length and each item's.
func listLimit(what string, items []string, limit, itemLimit int) error {
	if err := countLimit(fmt.Sprintf("%q", what), len(items), limit); err != nil {
		return err
	}
	for i, s := range items {
		if err := textLimit(fmt.Sprintf("%q item %d", what, i+1), s, itemLimit); err != nil {
			return err
		}
	}
	return nil
}

// firstError returns the first non-nil error of checks, in order.
func firstError(checks ...func() error) error {
	for _, c := range checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

// researchLimits bounds a research reply.
func researchLimits(r *llm.ResearchReply) error {
	return firstError(
		func() error { return textLimit(`"summary"`, r.Summary, MaxSummaryChars) },
		func() error { return countLimit(`"requirements"`, len(r.Requirements), MaxListItems) },
		func() error {
			for i, q := range r.Requirements {
				if err := textLimit(fmt.Sprintf("requirement %d's id", i+1), q.ID, MaxNameChars); err != nil {
					return err
				}
				if err := textLimit(fmt.Sprintf("requirement %d's text", i+1), q.Text, MaxItemChars); err != nil {
					return err
				}
			}
			return nil
		},
		func() error { return listLimit("user_stories", r.UserStories, MaxListItems, MaxItemChars) },
		func() error { return listLimit("assumptions", r.Assumptions, MaxListItems, MaxItemChars) },
		func() error {
			return listLimit("technical_constraints", r.TechnicalConstraints, MaxListItems, MaxItemChars)
		},
		func() error { return countLimit(`"open_questions"`, len(r.OpenQuestions), MaxOpenQuestions) },
		func() error {
			for i, q := range r.OpenQuestions {
				if err := questionLimits(i+1, q); err != nil {
					return err
				}
			}
			return nil
		},
	)
}

// questionLimits bounds one open question (n counts from 1).
func questionLimits(n int, q llm.OpenQuestion) error {
	what := func(field string) string { return fmt.Sprintf("open question %d's %s", n, field) }
	return firstError(
		func() error { return textLimit(what("id"), q.ID, MaxNameChars) },
		func() error { return textLimit(what("text"), q.Text, MaxQuestionChars) },
		func() error { return textLimit(what("type"), q.Type, MaxNameChars) },
		func() error { return textLimit(what("rationale"), q.Rationale, MaxRationaleChars) },
		func() error { return countLimit(what(`"choices"`), len(q.Choices), MaxChoices) },
		func() error {
			for i, c := range q.Choices {
				if err := textLimit(what(fmt.Sprintf("choice %d", i+1)), c, MaxChoiceChars); err != nil {
					return err
				}
			}
			return nil
		},
	)
}

// designLimits bounds a design reply.
func designLimits(r *llm.DesignReply) error {
	return firstError(
		func() error { return textLimit(`"summary"`, r.Summary, MaxSummaryChars) },
		func() error { return countLimit(`"files"`, len(r.Files), MaxPlannedFiles) },
		func() error {
			for i, f := range r.Files {
				what := func(field string) string { return fmt.Sprintf("planned file %d's %s", i+1, field) }
				if err := firstError(
					func() error { return textLimit(what("path"), f.Path, MaxPathChars) },
					func() error { return textLimit(what("component"), f.Component, MaxNameChars) },
					func() error { return textLimit(what("kind"), f.Kind, MaxNameChars) },
					func() error { return textLimit(what("purpose"), f.Purpose, MaxItemChars) },
				); err != nil {
					return err
				}
			}
			return nil
		},
		func() error { return countLimit(`"components"`, len(r.Components), MaxListItems) },
		func() error {
			for i, c := range r.Components {
				what := func(field string) string { return fmt.Sprintf("component %d's %s", i+1, field) }
				if err := firstError(
					func() error { return textLimit(what("name"), c.Name, MaxNameChars) },
					func() error { return textLimit(what("description"), c.Description, MaxItemChars) },
					func() error { return listLimit(what("files"), c.Files, MaxPlannedFiles, MaxPathChars) },
				); err != nil {
					return err
				}
			}
			return nil
		},
		func() error { return listLimit("dependencies", r.Dependencies, MaxListItems, MaxItemChars) },
	)
}

// codeLimits bounds a code reply. File contents are bounded by the codex's
// max_file_size (checkFile); they go to the store, never to the workflow.
func codeLimits(r *llm.CodeReply) error {
	return firstError(
		func() error { return textLimit(`"summary"`, r.Summary, MaxSummaryChars) },
		func() error { return countLimit(`"files"`, len(r.Files), MaxReplyFiles) },
		func() error {
			for i, f := range r.Files {
				if err := textLimit(fmt.Sprintf("file %d's path", i+1), f.Path, MaxPathChars); err != nil {
					return err
				}
			}
			return nil
		},
	)
}

// reviewLimits bounds a review reply.
func reviewLimits(r *llm.ReviewReply) error {
	return firstError(
		func() error { return textLimit(`"verdict"`, r.Verdict, MaxNameChars) },
		func() error { return textLimit(`"summary"`, r.Summary, MaxSummaryChars) },
		func() error { return listLimit("issues", r.Issues, MaxListItems, MaxItemChars) },
		func() error { return listLimit("warnings", r.Warnings, MaxListItems, MaxItemChars) },
	)
}
