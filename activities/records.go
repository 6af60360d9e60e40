package activities

import (
	"context"
	"fmt"
	"mime"
	"path"
	"strings"
	"unicode/utf8"

	"ai-platform/internal/agents"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
)

// event appends an event whose id derives from the step and sub, so a retry
// writes the same row. Payloads always carry task_id and request_id.
func (a *Activities) event(ctx context.Context, step task.Step, sub, typ string, payload map[string]any) error {
	p := map[string]any{}
	for k, v := range payload {
		p[k] = v
	}
	p["task_id"] = step.TaskID
	if step.RequestID != "" {
		p["request_id"] = step.RequestID
	}
	raw, err := a.redact.JSON(p)
	if err != nil {
		return fmt.Errorf("encoding %s event: %w", typ, err)
	}
	_, err = a.Store.AppendEvent(ctx, store.Event{
		ID: StableID(step.TaskID, step.Key+"/ev/"+sub), TaskID: step.TaskID, Type: typ, Payload: raw, CreatedAt: a.Now(),
	})
	return storeErr(err, "appending "+typ+" event")
}

// artifactsAnnounced are the artifact types that also get an ArtifactAdded event.
var artifactsAnnounced = map[string]bool{
	"research_summary": true, "architecture": true, "usage_report": true, "patch_diff": true,
	"git_export": true, "repro_manifest": true, "review_report": true, "clarification_questions": true,
}

// artifact appends an artifact keyed by step and sub and returns its id.
func (a *Activities) artifact(ctx context.Context, step task.Step, sub, typ, producedBy string, payload any) (string, error) {
	raw, err := a.redact.JSON(payload)
	if err != nil {
		return "", fmt.Errorf("encoding %s artifact: %w", typ, err)
	}
	id := StableID(step.TaskID, step.Key+"/art/"+sub)
	_, err = a.Store.AppendArtifact(ctx, store.Artifact{
		ID: id, TaskID: step.TaskID, Type: typ, ProducedBy: producedBy, Payload: raw, CreatedAt: a.Now(),
	})
	if err != nil {
		return "", storeErr(err, "appending "+typ+" artifact")
	}
	if artifactsAnnounced[typ] {
		if err := a.event(ctx, step, "added/"+sub, "ArtifactAdded", map[string]any{"type": typ, "artifact_id": id}); err != nil {
			return "", err
		}
	}
	return id, nil
}

// chargeTokens records one stage's LLM usage exactly once: the daily charge
// is keyed by the step, and the task's running total moves only when the
// charge is new.
func (a *Activities) chargeTokens(ctx context.Context, step task.Step, stage string, call agents.Call, started string) error {
	if call.Calls == 0 {
		return nil
	}
	inserted, err := a.Store.AddUsage(ctx, store.UsageCharge{
		ID: StableID(step.TaskID, step.Key+"/tokens"), OwnerKey: step.OwnerKey, Day: a.Now(),
		TokensIn: call.Usage.InputTokens, TokensOut: call.Usage.OutputTokens,
	})
	if err != nil {
		return storeErr(err, "recording token usage")
	}
	if inserted {
		_, err = a.Store.UpdateTask(ctx, step.TaskID, func(t *store.Task) error {
			t.TokensIn += call.Usage.InputTokens
			t.TokensOut += call.Usage.OutputTokens
			return nil
		})
		if err != nil {
			return storeErr(err, "updating task token totals")
		}
	}
	report := map[string]any{
		"stage": stage, "provider": a.Provider.Name(), "model": firstNonEmpty(call.Model, a.Provider.Model()),
		"tokens_in": call.Usage.InputTokens, "tokens_out": call.Usage.OutputTokens,
		"total_tokens": call.Usage.InputTokens + call.Usage.OutputTokens, "calls": call.Calls,
		"started_at": started, "finished_at": task.FormatTime(a.Now()),
	}
	if err := a.event(ctx, step, "llm_usage", "llm_usage", report); err != nil {
		return err
	}
	_, err = a.artifact(ctx, step, "usage_report", "usage_report", roleOf(stage), report)
	return err
}

// chargeCommand counts one command run against the owner's daily quota.
func (a *Activities) chargeCommand(ctx context.Context, step task.Step, sub string) error {
	_, err := a.Store.AddUsage(ctx, store.UsageCharge{
		ID: StableID(step.TaskID, step.Key+"/cmd/"+sub), OwnerKey: step.OwnerKey, Day: a.Now(), CommandRuns: 1,
	})
	return storeErr(err, "recording command run")
}

// checkQuota refuses work once the owner's daily token or command budget is spent.
func (a *Activities) checkQuota(ctx context.Context, owner string) error {
	if a.MaxTokensPerDay <= 0 && a.MaxCommandRunsPerDay <= 0 {
		return nil
	}
	u, err := a.Store.GetUsage(ctx, owner, a.Now())
	if err != nil {
		return storeErr(err, "reading usage")
	}
	if a.MaxTokensPerDay > 0 && u.TokensIn+u.TokensOut >= a.MaxTokensPerDay {
		return nonRetryable(task.ErrTypeQuota, "Daily token quota exceeded: %d of MAX_TOKENS_PER_DAY=%d tokens used today (UTC)",
			u.TokensIn+u.TokensOut, a.MaxTokensPerDay)
	}
	if a.MaxCommandRunsPerDay > 0 && u.CommandRuns >= a.MaxCommandRunsPerDay {
		return nonRetryable(task.ErrTypeQuota, "Daily command quota exceeded: %d of MAX_COMMAND_RUNS_PER_DAY=%d command runs used today (UTC)",
			u.CommandRuns, a.MaxCommandRunsPerDay)
	}
	return nil
}

// putFiles stores files (the source of truth) and then mirrors them into the
// workspace. Limits are checked atomically by the store.
func (a *Activities) putFiles(ctx context.Context, taskID string, files []workspace.File, remove []string) error {
	if len(files) == 0 && len(remove) == 0 {
		return nil
	}
	rows := make([]store.File, 0, len(files))
	for i := range files {
		files[i].Content = a.redact.Bytes(files[i].Content)
		rows = append(rows, store.File{Path: files[i].Path, Content: files[i].Content, MimeType: mimeOf(files[i].Path, files[i].Content)})
	}
	if err := a.Store.PutFiles(ctx, taskID, rows, remove, a.Limits); err != nil {
		return storeErr(err, "storing files")
	}
	dir, err := a.Workspaces.Open(taskID)
	if err != nil {
		return fmt.Errorf("opening workspace: %w", err)
	}
	defer dir.Close()
	for _, f := range files {
		if err := dir.Write(f.Path, f.Content); err != nil {
			return fmt.Errorf("writing %s to the workspace: %w", f.Path, err)
		}
	}
	for _, p := range remove {
		if err := dir.Remove(p); err != nil {
			return fmt.Errorf("removing %s from the workspace: %w", p, err)
		}
	}
	return nil
}

// workspace returns the task's workspace with exactly the stored files. A
// worker that never saw the task (or lost its disk) rebuilds it here.
func (a *Activities) workspace(ctx context.Context, taskID string) (*workspace.Dir, []store.File, error) {
	files, err := a.Store.GetFiles(ctx, taskID)
	if err != nil {
		return nil, nil, storeErr(err, "loading files")
	}
	dir, err := a.Workspaces.Open(taskID)
	if err != nil {
		return nil, nil, fmt.Errorf("opening workspace: %w", err)
	}
	want := make([]workspace.File, 0, len(files))
	for _, f := range files {
		want = append(want, workspace.File{Path: f.Path, Content: f.Content})
	}
	if _, _, err := dir.Sync(want); err != nil {
		dir.Close()
		return nil, nil, fmt.Errorf("syncing workspace: %w", err)
	}
	return dir, files, nil
}

func mimeOf(p string, content []byte) string {
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	switch path.Ext(p) {
	case ".py":
		return "text/x-python"
	case ".md":
		return "text/markdown"
	case ".toml", ".cfg", ".ini", ".txt", "":
		if utf8.Valid(content) {
			return "text/plain; charset=utf-8"
		}
	}
	if utf8.Valid(content) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

func roleOf(stage string) string {
	switch stage {
	case "research":
		return "researcher"
	case "design":
		return "designer"
	case "review":
		return "reviewer"
	}
	return "coder"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
