package activities

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"ai-platform/internal/project"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
)

// saveSnapshot refreshes the snapshot's file index and history and stores it.
func (a *Activities) saveSnapshot(ctx context.Context, taskID, stage, note string, mutate func(*project.Snapshot)) error {
	s, err := project.LoadSnapshot(ctx, a.Store, taskID)
	if err != nil {
		return storeErr(err, "loading snapshot")
	}
	t, err := a.getTask(ctx, taskID)
	if err != nil {
		return err
	}
	files, err := a.Store.ListFiles(ctx, taskID)
	if err != nil {
		return storeErr(err, "listing files")
	}
	s.ProjectID, s.State, s.Progress, s.Iterations = taskID, stage, t.Progress, t.Iterations
	s.Answers = t.ProvidedAnswers
	s.Files = s.Files[:0]
	for _, f := range files {
		s.Files = append(s.Files, project.SnapshotFile{Path: f.Path, SHA256: f.SHA256, Size: f.Size, Mime: f.MimeType})
	}
	now := a.Now()
	s.UpdatedAt = now.Format("2006-01-02T15:04:05.000000Z07:00")
	if note != "" {
		s.History = append(s.History, project.SnapshotEntry{At: s.UpdatedAt, Stage: stage, Note: note})
		if len(s.History) > 200 {
			s.History = s.History[len(s.History)-200:]
		}
	}
	if mutate != nil {
		mutate(&s)
	}
	raw, err := a.redact.JSON(s)
	if err != nil {
		return fmt.Errorf("encoding snapshot: %w", err)
	}
	return storeErr(a.Store.PutSnapshot(ctx, taskID, raw), "storing snapshot")
}

// Prepare checks quotas, resolves the template, seeds the workspace with the
// template files (the diff baseline) and returns the codex plan.
func (a *Activities) Prepare(ctx context.Context, in task.PrepareIn) (task.Plan, error) {
	t, err := a.getTask(ctx, in.Step.TaskID)
	if err != nil {
		return task.Plan{}, err
	}
	if err := a.checkQuota(ctx, in.Step.OwnerKey); err != nil {
		return task.Plan{}, err
	}
	c := a.Codex
	plan := task.Plan{
		CodexVersion: c.Version, CodexHash: c.Hash, Stages: c.Stages, MaxIterations: c.MaxIterations,
		ReviewRequired: c.ReviewRequired, ApprovePlan: c.ApprovePlan, MaxQuestions: c.MaxQuestions, MaxFilesPerIteration: c.MaxFilesPerIteration,
		Timeouts: map[string]int{},
	}
	for stage, d := range c.Timeouts {
		plan.Timeouts[stage] = int(d.Seconds())
	}
	var tmpl workspace.Template
	if in.TemplateID != "" {
		var ok bool
		if tmpl, ok = a.Catalog.Get(in.TemplateID); !ok {
			return task.Plan{}, nonRetryable(task.ErrTypeTemplate, "Template '%s' not found", in.TemplateID)
		}
		plan.TemplateID, plan.TemplateHash = tmpl.ID, tmpl.Hash
	}
	if t.FilesCount == 0 && len(tmpl.Files) > 0 {
		if err := a.putFiles(ctx, t.ID, cloneFiles(tmpl.Files), nil); err != nil {
			return task.Plan{}, err
		}
	}
	if _, err := a.Store.UpdateTask(ctx, t.ID, func(row *store.Task) error {
		row.CodexVersion, row.CodexHash = c.Version, c.Hash
		row.TemplateHash = plan.TemplateHash
		row.MaxIterations = plan.MaxIterations
		return nil
	}); err != nil {
		return task.Plan{}, storeErr(err, "recording codex")
	}
	err = a.saveSnapshot(ctx, t.ID, task.StageInitializing, "workspace seeded", func(s *project.Snapshot) {
		s.TemplateID, s.TemplateHash, s.CodexVersion, s.CodexHash = plan.TemplateID, plan.TemplateHash, c.Version, c.Hash
		if s.Baseline == nil {
			s.Baseline = []project.BaselineFile{}
			for _, f := range tmpl.Files {
				s.Baseline = append(s.Baseline, project.BaselineFile{Path: f.Path, SHA256: store.SHA256Hex(f.Content),
					Content: base64.StdEncoding.EncodeToString(f.Content)})
			}
		}
	})
	if err != nil {
		return task.Plan{}, err
	}
	if err := a.event(ctx, in.Step, "codex_loaded", task.EventCodexLoaded, c.Summary()); err != nil {
		return task.Plan{}, err
	}
	return plan, nil
}

func cloneFiles(in []workspace.File) []workspace.File {
	out := make([]workspace.File, len(in))
	for i, f := range in {
		out[i] = workspace.File{Path: f.Path, Content: append([]byte(nil), f.Content...)}
	}
	return out
}

// errTerminal stops a projection update of a task that has already ended.
var errTerminal = errors.New("task already terminal")

// UpdateTask writes a projection change of the task row, its events and the
// state document. A terminal task is never moved again.
func (a *Activities) UpdateTask(ctx context.Context, u task.Update) error {
	// Read first: the projection runs inside the store's transaction,
	// where it cannot use the store.
	byStage, err := a.usageByStage(ctx, u.Step.TaskID)
	if err != nil {
		return err
	}
	_, err = a.Store.UpdateTaskProjected(ctx, u.Step.TaskID, func(t *store.Task) error {
		if t.Status.Terminal() {
			return errTerminal
		}
		applyUpdate(t, u)
		return nil
	}, func(before, after store.Task) (store.Projection, error) {
		var p store.Projection
		for i, e := range u.Events {
			ev, err := a.eventRow(u.Step, fmt.Sprintf("u%d", i), e.Type, e.Payload)
			if err != nil {
				return p, err
			}
			p.Events = append(p.Events, ev)
		}
		if before.Status != after.Status || before.CurrentStage != after.CurrentStage {
			ev, err := a.eventRow(u.Step, "progress", task.EventProgressUpdate, map[string]any{
				"status": after.Status, "progress": after.Progress, "current_stage": after.CurrentStage,
			})
			if err != nil {
				return p, err
			}
			p.Events = append(p.Events, ev)
		}
		state, err := a.stateDoc(after, u.Role, byStage)
		p.State = state
		return p, err
	})
	if errors.Is(err, errTerminal) {
		return nil
	}
	return storeErr(err, "updating task")
}

func applyUpdate(t *store.Task, u task.Update) {
	if u.Status != "" {
		t.Status = u.Status
	}
	if u.Stage != nil {
		t.CurrentStage = *u.Stage
	}
	if u.Progress != nil {
		t.Progress = *u.Progress
	}
	if u.Iteration != nil {
		t.Iterations = *u.Iteration
	}
	if u.MaxIterations != nil {
		t.MaxIterations = *u.MaxIterations
	}
	if u.PendingQuestions != nil {
		t.PendingQuestions = *u.PendingQuestions
	}
	if u.Answers != nil {
		t.ProvidedAnswers = u.Answers
	}
	if u.ResumeFromStage != nil {
		t.ResumeFromStage = *u.ResumeFromStage
	}
	if u.FailureReason != "" {
		t.FailureReason = u.FailureReason
	}
	if u.Error != "" {
		t.Error = u.Error
	}
	if b := u.Budget; b != nil && b.Decision == task.DecisionRaise {
		if b.BudgetUSD != nil {
			t.BudgetUSD = *b.BudgetUSD
		}
		if b.BudgetTokens != nil {
			t.BudgetTokens = *b.BudgetTokens
		}
	}
}

// writeState replaces the task's state document.
func (a *Activities) writeState(ctx context.Context, t store.Task, role string) error {
	var byStage map[string]any
	if t.TokensIn+t.TokensOut > 0 {
		var err error
		if byStage, err = a.usageByStage(ctx, t.ID); err != nil {
			return err
		}
	}
	raw, err := a.stateDoc(t, role, byStage)
	if err != nil {
		return err
	}
	return storeErr(a.Store.PutState(ctx, t.ID, raw), "storing state")
}

// stateDoc is the state document of t; byStage is the LLM usage per stage
// (usageByStage).
func (a *Activities) stateDoc(t store.Task, role string, byStage map[string]any) (json.RawMessage, error) {
	if byStage == nil {
		byStage = map[string]any{}
	}
	summary := map[string]any{"total_tokens_in": t.TokensIn, "total_tokens_out": t.TokensOut,
		"total_tokens": t.TokensIn + t.TokensOut, "total_cost_usd": t.CostUSD, "by_stage": byStage}
	doc := map[string]any{
		"status": t.Status, "progress": t.Progress, "current_stage": t.CurrentStage, "active_role": role,
		"codex_version": t.CodexVersion, "iteration": t.Iterations, "max_iterations": t.MaxIterations,
		"container_state": t.CurrentStage, "container_progress": t.Progress,
		"llm_usage_summary": summary,
		"timestamps":        map[string]any{"created_at": task.FormatTime(t.CreatedAt), "updated_at": task.FormatTime(t.UpdatedAt)},
	}
	raw, err := a.redact.JSON(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding state: %w", err)
	}
	return raw, nil
}

// RecordAnswers stores merged clarification answers and the
// clarification_received event. Answers the API recorded in the row already
// are not written again: the row may hold a later /input's answers by now,
// and this merge, one signal older, would take them back out of it until
// the workflow caught up (a /resume in between would be refused).
func (a *Activities) RecordAnswers(ctx context.Context, in task.AnswersIn) error {
	if !in.Recorded {
		_, err := a.Store.UpdateTask(ctx, in.Step.TaskID, func(t *store.Task) error {
			t.ProvidedAnswers = in.Merged
			return nil
		})
		if err != nil {
			return storeErr(err, "storing answers")
		}
	}
	return a.event(ctx, in.Step, "answers", task.EventClarificationReceived, map[string]any{
		"answers": in.Merged, "received": in.Answers, "received_at": in.ReceivedAt,
	})
}
