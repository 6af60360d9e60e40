package activities

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/llm"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

func newRetryable(msg, typ string, delay time.Duration) error {
	return temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{NextRetryDelay: delay})
}

// quote renders user text as a Markdown block quote.
func quote(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}

func bullets(b *strings.Builder, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## %s\n\n", title)
	for _, it := range items {
		fmt.Fprintf(b, "- %s\n", strings.TrimSpace(it))
	}
}

// answerText renders one answer value.
func answerText(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, 0, len(x))
		for _, p := range x {
			parts = append(parts, fmt.Sprint(p))
		}
		return strings.Join(parts, ", ")
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func renderRequirements(t store.Task, r llm.ResearchReply, asked []task.Question) string {
	var b strings.Builder
	b.WriteString("# Requirements\n\n")
	b.WriteString(quote(t.Description) + "\n")
	if r.Summary != "" {
		b.WriteString("\n" + strings.TrimSpace(r.Summary) + "\n")
	}
	reqs := make([]string, 0, len(r.Requirements))
	for _, q := range r.Requirements {
		reqs = append(reqs, fmt.Sprintf("**%s** %s", q.ID, q.Text))
	}
	bullets(&b, "Requirements", reqs)
	bullets(&b, "Assumptions", r.Assumptions)
	bullets(&b, "Technical constraints", r.TechnicalConstraints)
	if len(t.ProvidedAnswers) > 0 {
		texts := map[string]string{}
		for _, q := range asked {
			texts[q.ID] = q.Text
		}
		var lines []string
		for _, id := range task.SortedKeys(t.ProvidedAnswers) {
			label := id
			if txt := texts[id]; txt != "" {
				label = txt + " (" + id + ")"
			}
			lines = append(lines, fmt.Sprintf("%s: **%s**", label, answerText(t.ProvidedAnswers[id])))
		}
		bullets(&b, "Clarifications from the user", lines)
	}
	return b.String()
}

func renderStories(r llm.ResearchReply) string {
	var b strings.Builder
	b.WriteString("# User stories\n")
	if len(r.UserStories) == 0 {
		b.WriteString("\nNo user stories were derived.\n")
	}
	for i, s := range r.UserStories {
		fmt.Fprintf(&b, "\n%d. %s\n", i+1, strings.TrimSpace(s))
	}
	return b.String()
}

func renderArchitecture(t store.Task, d llm.DesignReply) string {
	var b strings.Builder
	b.WriteString("# Architecture\n\n")
	b.WriteString(quote(t.Description) + "\n")
	if d.Summary != "" {
		b.WriteString("\n" + strings.TrimSpace(d.Summary) + "\n")
	}
	for _, c := range d.Components {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", c.Name, strings.TrimSpace(c.Description))
		for _, f := range c.Files {
			fmt.Fprintf(&b, "- `%s`\n", f)
		}
	}
	bullets(&b, "Dependencies", d.Dependencies)
	return b.String()
}

func renderPlan(d llm.DesignReply) string {
	var b strings.Builder
	b.WriteString("# Implementation plan\n\nFiles in the order they are written:\n\n")
	for i, f := range d.Files {
		fmt.Fprintf(&b, "%d. `%s` (%s, %s): %s\n", i+1, f.Path, f.Component, f.Kind, strings.TrimSpace(f.Purpose))
	}
	return b.String()
}
