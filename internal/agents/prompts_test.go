package agents

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"ai-platform/internal/llm"
)

// TestEmbeddedPromptsLoadWithValidShapes: every role has its text and its
// shape; the shape is valid JSON of exactly the Go reply type's fields (an
// unknown field fails), and the system prompt the model gets carries the
// shape in place of the marker and the JSON rule.
func TestEmbeddedPromptsLoadWithValidShapes(t *testing.T) {
	types := map[string]any{
		RoleResearch: &llm.ResearchReply{}, RoleDesign: &llm.DesignReply{},
		RoleCode: &llm.CodeReply{}, RoleReview: &llm.ReviewReply{},
	}
	if len(Roles()) != len(types) {
		t.Fatalf("roles %v, want one per reply type", Roles())
	}
	a := &Agents{}
	for _, role := range Roles() {
		t.Run(role, func(t *testing.T) {
			p, err := EmbeddedPrompt(role)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.Text, shapeMarker) {
				t.Fatalf("prompt text of %s does not include its shape (%s)", role, shapeMarker)
			}
			if !json.Valid([]byte(p.Shape)) {
				t.Fatalf("shape of %s is not valid JSON: %s", role, p.Shape)
			}
			dec := json.NewDecoder(bytes.NewReader([]byte(p.Shape)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(types[role]); err != nil {
				t.Fatalf("shape of %s does not match its reply type: %v", role, err)
			}
			sys, err := a.SystemPrompt(role)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(sys, shapeMarker) || !strings.Contains(sys, p.Shape) ||
				!strings.Contains(sys, "Reply with ONLY one JSON object") || !strings.Contains(sys, "Never include secrets") {
				t.Fatalf("system prompt of %s:\n%s", role, sys)
			}
		})
	}
	if _, err := EmbeddedPrompt("planner"); err == nil || !strings.Contains(err.Error(), "known: research, design, code, review") {
		t.Fatalf("unknown role: %v", err)
	}
}

// TestPromptWordingKept: the texts moved to files say what the constants in
// code said (the same instructions reach the model).
func TestPromptWordingKept(t *testing.T) {
	a := &Agents{}
	want := map[string][]string{
		RoleResearch: {"You are the researcher of a software team.", "at most max_questions", `"REQ-001"`, "technical_constraints"},
		RoleDesign:   {"You are the designer of a software team.", "source before its tests", "source|test|docs|config"},
		RoleCode:     {"You are the coder of a software team.", "COMPLETE content of every file in\ntarget_files", "existing_files"},
		RoleReview:   {"You are the reviewer of a software team.", "approve|request_changes", "checklist"},
	}
	for role, phrases := range want {
		sys, err := a.SystemPrompt(role)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range phrases {
			if !strings.Contains(sys, p) {
				t.Errorf("%s prompt lacks %q", role, p)
			}
		}
	}
}

// TestOverrideReplacesOneRolesPrompt: a codex override changes the coder's
// system message and no other role's; the override's {{shape}} is expanded
// and the JSON rule still follows.
func TestOverrideReplacesOneRolesPrompt(t *testing.T) {
	plain, custom := &Agents{}, &Agents{Prompts: map[string]string{RoleCode: "You write tidy Python. Shape: {{shape}}."}}
	for _, role := range Roles() {
		before, err := plain.SystemPrompt(role)
		if err != nil {
			t.Fatal(err)
		}
		after, err := custom.SystemPrompt(role)
		if err != nil {
			t.Fatal(err)
		}
		if role != RoleCode {
			if after != before {
				t.Errorf("%s prompt changed by the coder's override", role)
			}
			continue
		}
		code, _ := EmbeddedPrompt(RoleCode)
		if after == before || !strings.HasPrefix(after, "You write tidy Python. Shape: "+code.Shape+".") ||
			!strings.HasSuffix(after, "Never include secrets, credentials or API keys.") || strings.Contains(after, "coder of a software team") {
			t.Errorf("overridden code prompt:\n%s", after)
		}
	}
	// The request the coder sends starts with the override.
	p := &scripted{replies: []string{`{"files":[{"path":"a.py","content":"x = 1\n"}],"summary":"s"}`}}
	custom.Provider = p
	if _, _, err := custom.Code(context.Background(), llm.Brief{}, Turn{Attempt: 1}, func(llm.FileContent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if sys := p.reqs[0].Messages[0]; sys.Role != "system" || !strings.HasPrefix(sys.Content, "You write tidy Python.") {
		t.Fatalf("system message %+v", sys)
	}
}
