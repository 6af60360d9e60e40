package agents

import (
	"embed"
	"fmt"
	"strings"
)

// The role prompts live as text files in prompts/, each beside the JSON
// shape its reply must have, so a person reads and tunes them in one place
// (prompts/README.md).
//
//go:embed prompts/*.md prompts/*.json
var promptFiles embed.FS

// Role names of the prompts: the file names in prompts/ and the keys of a
// codex's "prompts" override.
const (
	RoleResearch = "research"
	RoleDesign   = "design"
	RoleCode     = "code"
	RoleReview   = "review"
)

// Roles lists every role that has a prompt, in pipeline order.
func Roles() []string { return []string{RoleResearch, RoleDesign, RoleCode, RoleReview} }

// shapeMarker in a prompt text is replaced by the role's JSON shape.
const shapeMarker = "{{shape}}"

// Prompt is one role's embedded prompt text and reply shape.
type Prompt struct {
	Text  string
	Shape string
}

// EmbeddedPrompt returns a role's prompt as embedded from prompts/.
func EmbeddedPrompt(role string) (Prompt, error) {
	text, err := promptFiles.ReadFile("prompts/" + role + ".md")
	if err != nil {
		return Prompt{}, fmt.Errorf("agents: no prompt for role %q (known: %s): %w", role, strings.Join(Roles(), ", "), err)
	}
	shape, err := promptFiles.ReadFile("prompts/" + role + ".shape.json")
	if err != nil {
		return Prompt{}, fmt.Errorf("agents: no reply shape for role %q: %w", role, err)
	}
	return Prompt{Text: strings.TrimSpace(string(text)), Shape: strings.TrimSpace(string(shape))}, nil
}

// jsonRule is appended to every system prompt, an override's too: the
// platform parses the reply as one JSON object whatever the prompt says.
func jsonRule() (string, error) {
	b, err := promptFiles.ReadFile("prompts/rule.md")
	if err != nil {
		return "", fmt.Errorf("agents: reading the JSON rule: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// SystemPrompt is the system message a role's conversation starts with:
// the codex's override of the role's text when there is one, else the
// embedded text, with {{shape}} replaced by the role's reply shape and the
// JSON rule appended.
func (a *Agents) SystemPrompt(role string) (string, error) {
	p, err := EmbeddedPrompt(role)
	if err != nil {
		return "", err
	}
	text := p.Text
	if o := strings.TrimSpace(a.Prompts[role]); o != "" {
		text = o
	}
	rule, err := jsonRule()
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(text, shapeMarker, p.Shape) + " " + rule, nil
}
