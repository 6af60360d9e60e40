package agents

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"ai-platform/internal/llm"
	"ai-platform/internal/task"
)

const jsonRule = "Reply with ONLY one JSON object, no prose and no code fences. " +
	"Never include secrets, credentials or API keys."

const researchSystem = `You are the researcher of a software team. Read the user's request (the
"description" field of the JSON brief), the project template, and the user's answers to earlier
questions. Derive numbered, testable requirements, user stories, assumptions and technical
constraints. If something essential is unclear, add it to open_questions (at most max_questions,
each with id, text, type text|choice|multi, choices for choice/multi, and rationale); otherwise leave
open_questions empty. Shape: {"summary": str, "requirements": [{"id": "REQ-001", "text": str}],
"user_stories": [str], "assumptions": [str], "open_questions": [...],
"technical_constraints": [str]}. `

const designSystem = `You are the designer of a software team. From the requirements, the answers and
the project template in the JSON brief, plan a small Python project: components and the files each
owns, in the order they should be written (source before its tests), including tests for every
source module and a README. Paths are relative, use "/", and stay inside the project. Shape:
{"summary": str, "components": [{"name": str, "description": str, "files": [str]}],
"files": [{"path": str, "component": str, "kind": "source|test|docs|config", "purpose": str}],
"dependencies": [str]}. `

const codeSystem = `You are the coder of a software team. Write the COMPLETE content of every file in
target_files (at most max_files files), following the architecture, the requirements, the user's
answers, the constraints, and, for fix tasks, every finding of the last review. Existing file
contents are in existing_files. Paths are relative and must stay inside the project. Shape:
{"files": [{"path": str, "content": str}], "summary": str}. `

const reviewSystem = `You are the reviewer of a software team. Judge the project in existing_files
against the requirements, the user's answers and the checklist. Shape: {"verdict":
"approve|request_changes", "issues": [str], "warnings": [str], "summary": str}. `

// Research runs the researcher.
func (a *Agents) Research(ctx context.Context, b llm.Brief, attempt int, before BeforeCall) (llm.ResearchReply, Call, error) {
	b.Stage = task.StageResearch
	var out llm.ResearchReply
	call, err := a.ask(ctx, task.StageResearch, researchSystem+jsonRule, b, attempt, before, &out, func() error {
		if err := researchLimits(&out); err != nil {
			return err
		}
		if len(out.Requirements) == 0 {
			return errors.New(`"requirements" must list at least one requirement`)
		}
		for i, r := range out.Requirements {
			if strings.TrimSpace(r.Text) == "" {
				return fmt.Errorf("requirement %d has no text", i+1)
			}
		}
		return nil
	})
	return out, call, err
}

// Design runs the designer. checkPath validates a planned path.
func (a *Agents) Design(ctx context.Context, b llm.Brief, attempt int, before BeforeCall, checkPath func(string) error) (llm.DesignReply, Call, error) {
	b.Stage = task.StageDesign
	var out llm.DesignReply
	call, err := a.ask(ctx, task.StageDesign, designSystem+jsonRule, b, attempt, before, &out, func() error {
		if err := designLimits(&out); err != nil {
			return err
		}
		if len(out.Files) == 0 {
			return errors.New(`"files" must list the planned files`)
		}
		seen := map[string]bool{}
		for _, f := range out.Files {
			if err := checkPath(f.Path); err != nil {
				return fmt.Errorf("planned file %s: %v", excerpt(f.Path), err)
			}
			if seen[f.Path] {
				return fmt.Errorf("planned file %s is listed twice", excerpt(f.Path))
			}
			seen[f.Path] = true
		}
		return nil
	})
	return out, call, err
}

// Code runs the coder. checkFile validates each written file.
func (a *Agents) Code(ctx context.Context, b llm.Brief, attempt int, before BeforeCall, checkFile func(llm.FileContent) error) (llm.CodeReply, Call, error) {
	b.Stage = task.LLMStage(task.StageImplement)
	var out llm.CodeReply
	call, err := a.ask(ctx, b.Stage, codeSystem+jsonRule, b, attempt, before, &out, func() error {
		if err := codeLimits(&out); err != nil {
			return err
		}
		if len(out.Files) == 0 {
			return errors.New(`"files" must contain at least one file`)
		}
		for _, f := range out.Files {
			if err := checkFile(f); err != nil {
				return fmt.Errorf("file %s: %v", excerpt(f.Path), err)
			}
		}
		return nil
	})
	return out, call, err
}

// Review runs the model critique.
func (a *Agents) Review(ctx context.Context, b llm.Brief, attempt int, before BeforeCall) (llm.ReviewReply, Call, error) {
	b.Stage = task.StageReview
	var out llm.ReviewReply
	call, err := a.ask(ctx, task.StageReview, reviewSystem+jsonRule, b, attempt, before, &out, func() error {
		if err := reviewLimits(&out); err != nil {
			return err
		}
		if out.Verdict != "approve" && out.Verdict != "request_changes" {
			return fmt.Errorf(`"verdict" must be "approve" or "request_changes", got %s`, excerpt(out.Verdict))
		}
		return nil
	})
	return out, call, err
}
