package activities

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"unicode/utf8"

	"ai-platform/internal/llm"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
)

// Bounds on what the coder is shown, so prompts stay within model limits.
const (
	maxShownFile  = 32 << 10
	maxShownTotal = 160 << 10
)

// Code asks the coder for one iteration's files and stores them.
func (a *Activities) Code(ctx context.Context, in task.CodeIn) (task.CodeOut, error) {
	defer a.keepAlive(ctx)()
	started := task.FormatTime(a.Now())
	t, b, err := a.taskBrief(ctx, in.Step.TaskID, task.LLMStage(task.StageImplement))
	if err != nil {
		return task.CodeOut{}, err
	}
	dir, files, err := a.workspace(ctx, t.ID)
	if err != nil {
		return task.CodeOut{}, err
	}
	dir.Close()
	limit := max(1, in.Plan.MaxFilesPerIteration)
	b.Iteration, b.TaskType, b.TargetFiles, b.Findings = in.Iteration, in.Task.Type, in.Task.TargetFiles, in.Task.Findings
	b.MaxFiles, b.Constraints = limit, a.Codex.CoderConstraints
	b.ExistingFiles = shownFiles(files, in.Task, in.Planned)
	defer a.liveOutput(&ctx, in.Step, task.StageImplement)()
	reply, call, err := a.Agents.Code(ctx, b, a.turn(ctx, in.Step, task.StageImplement, true), a.checkGenerated)
	if err := a.settleCall(ctx, in.Step, task.StageImplement, call, started, err); err != nil {
		return task.CodeOut{}, err
	}
	var writes []workspace.File
	seen := map[string]bool{}
	for _, f := range reply.Files {
		p, _ := workspace.CleanPath(f.Path)
		if seen[p] || len(writes) == limit {
			continue
		}
		seen[p] = true
		writes = append(writes, workspace.File{Path: p, Content: []byte(f.Content)})
	}
	if err := a.putFiles(ctx, t.ID, writes, nil); err != nil {
		return task.CodeOut{}, err
	}
	a.log(ctx, in.Step).Info("code written", "iteration", in.Iteration, "task_type", in.Task.Type, "files", len(writes))
	out := task.CodeOut{TokensIn: call.Usage.InputTokens, TokensOut: call.Usage.OutputTokens}
	summary := make([]map[string]any, 0, len(writes))
	for _, w := range writes {
		out.FilesWritten = append(out.FilesWritten, w.Path)
		summary = append(summary, map[string]any{"path": w.Path, "sha256": store.SHA256Hex(w.Content),
			"size": len(w.Content), "lines": bytes.Count(w.Content, []byte("\n"))})
	}
	payload := map[string]any{"iteration": in.Iteration, "task": in.Task, "files": summary,
		"summary": firstNonEmpty(reply.Summary, fmt.Sprintf("Updated files: %v", out.FilesWritten))}
	if _, err := a.artifact(ctx, in.Step, "code", task.ArtifactCodeSummary, task.RoleCoder, payload); err != nil {
		return task.CodeOut{}, err
	}
	if err := a.event(ctx, in.Step, "code", task.EventCodeGenerated, map[string]any{
		"iteration": in.Iteration, "task_type": in.Task.Type, "files": out.FilesWritten,
	}); err != nil {
		return task.CodeOut{}, err
	}
	return out, a.saveSnapshot(ctx, t.ID, task.StageImplement, fmt.Sprintf("iteration %d: %v", in.Iteration, out.FilesWritten), nil)
}

// checkGenerated validates one generated file: a safe path and a size within
// the codex's max_file_size.
func (a *Activities) checkGenerated(f llm.FileContent) error {
	if _, err := workspace.CleanPath(f.Path); err != nil {
		return err
	}
	if int64(len(f.Content)) > a.Codex.MaxFileSize {
		return fmt.Errorf("is %d bytes, over the codex limit of %d bytes", len(f.Content), a.Codex.MaxFileSize)
	}
	return nil
}

// shownFiles picks what the coder sees: the targets, the other files of the
// same component (the code under test for tests), then the rest of the plan,
// within size bounds. Binary files are never shown.
func shownFiles(files []store.File, t task.CodeTask, planned []task.PlannedFile) []llm.FileContent {
	byPath := map[string]store.File{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	var order []string
	add := func(p string) {
		if _, ok := byPath[p]; ok && !slices.Contains(order, p) {
			order = append(order, p)
		}
	}
	for _, p := range t.TargetFiles {
		add(p)
	}
	for _, f := range planned {
		if f.Component == t.Component || t.Type == task.CodeFix {
			add(f.Path)
		}
	}
	for _, f := range planned {
		add(f.Path)
	}
	var out []llm.FileContent
	total := 0
	for _, p := range order {
		c := byPath[p].Content
		if len(c) > maxShownFile || !utf8.Valid(c) || total+len(c) > maxShownTotal {
			continue
		}
		total += len(c)
		out = append(out, llm.FileContent{Path: p, Content: string(c)})
	}
	return out
}
