package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"

	"ai-platform/internal/project"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
)

// maxStoredDiff bounds the diff kept inside the patch_diff artifact; the
// git-export download always recomputes the full patch from the files.
const maxStoredDiff = 1 << 20

// Finish runs post-processing (patch, git export, repro manifest) and writes
// the terminal state of the task. It is safe to run twice.
func (a *Activities) Finish(ctx context.Context, in task.FinishIn) (task.Result, error) {
	defer a.keepAlive(ctx)()
	t, err := a.getTask(ctx, in.Step.TaskID)
	if err != nil {
		return task.Result{}, err
	}
	review, err := a.reviewSummary(ctx, t.ID)
	if err != nil {
		return task.Result{}, err
	}
	if err := a.postProcess(ctx, in, t, review); err != nil {
		return task.Result{}, err
	}
	now := a.Now()
	stage := map[task.Status]string{task.StatusCompleted: task.StageCompleted, task.StatusFailed: task.StageFailed,
		task.StatusCancelled: task.StageCancelled}[in.Status]
	var final store.Task
	final, err = a.Store.UpdateTask(ctx, t.ID, func(row *store.Task) error {
		if row.Status.Terminal() {
			return nil
		}
		row.Status, row.CurrentStage, row.Progress = in.Status, stage, task.ProgressTerminated
		row.FailureReason, row.Error = in.FailureReason, in.Error
		row.Iterations = in.Iterations
		row.PendingQuestions = []task.Question{}
		row.CompletedAt = &now
		res := map[string]any{
			"status": in.Status, "task_id": row.ID, "state": stage, "progress": task.ProgressTerminated,
			"files_count": row.FilesCount, "artifacts_count": row.ArtifactsCount, "iterations": in.Iterations,
			"max_iterations": row.MaxIterations, "failure_reason": nilIfEmpty(in.FailureReason),
			"error": nilIfEmpty(in.Error), "review_summary": review,
		}
		raw, err := a.redact.JSON(res)
		if err != nil {
			return err
		}
		row.Result = raw
		return nil
	})
	if err != nil {
		return task.Result{}, storeErr(err, "recording the end of the task")
	}
	if in.Status == task.StatusFailed {
		if err := a.event(ctx, in.Step, "stage_failed", task.EventStageFailed, map[string]any{
			"stage": t.CurrentStage, "reason": in.FailureReason, "error": in.Error, "status": task.StatusFailed,
		}); err != nil {
			return task.Result{}, err
		}
	}
	a.log(ctx, in.Step).Info("task finished", "status", final.Status, "failure_reason", final.FailureReason,
		"iterations", final.Iterations, "files", final.FilesCount)
	endType := task.EventTaskCompleted
	if in.Status == task.StatusCancelled {
		endType = task.EventTaskCancelled
	}
	if err := a.event(ctx, in.Step, "end", endType, map[string]any{
		"status": final.Status, "progress": final.Progress, "failure_reason": nilIfEmpty(final.FailureReason),
	}); err != nil {
		return task.Result{}, err
	}
	if err := a.writeState(ctx, final, ""); err != nil {
		return task.Result{}, err
	}
	if err := a.saveSnapshot(ctx, t.ID, string(final.Status), "task ended: "+string(final.Status), nil); err != nil {
		return task.Result{}, err
	}
	return task.Result{Status: final.Status, FailureReason: final.FailureReason, Iterations: final.Iterations,
		FilesCount: final.FilesCount}, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// reviewSummary condenses the latest review report (nil when none ran).
func (a *Activities) reviewSummary(ctx context.Context, taskID string) (map[string]any, error) {
	art, err := a.Store.LatestArtifact(ctx, taskID, task.ArtifactReviewReport)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeErr(err, "loading review")
	}
	var r Report
	if err := json.Unmarshal(art.Payload, &r); err != nil {
		return nil, fmt.Errorf("decoding review report: %w", err)
	}
	return map[string]any{"passed": r.Passed, "status": r.Status, "issues_count": len(r.Errors),
		"warnings_count": len(r.Warnings), "kind": r.Kind, "run_id": r.RunID, "report_id": art.ID}, nil
}

func (a *Activities) postProcess(ctx context.Context, in task.FinishIn, t store.Task, review map[string]any) error {
	patch, err := project.Patch(ctx, a.Store, t.ID)
	if err != nil {
		return storeErr(err, "building patch")
	}
	stored := patch
	truncated := len(patch.Diff) > maxStoredDiff
	if truncated {
		stored.Diff = clip(patch.Diff, maxStoredDiff)
	}
	if _, err := a.artifact(ctx, in.Step, "patch", task.ArtifactPatchDiff, task.RoleSystem, map[string]any{
		"diff": stored.Diff, "changed_files": stored.Changes, "stats": stored.Stats, "truncated": truncated,
	}); err != nil {
		return err
	}
	export := map[string]string{}
	for _, f := range workspace.GitExportFiles(stored) {
		export[f.Path] = string(f.Content)
	}
	if _, err := a.artifact(ctx, in.Step, "git_export", task.ArtifactGitExport, task.RoleSystem, map[string]any{
		"files": export, "patch_stats": patch.Stats, "download": "/api/tasks/" + t.ID + "/git-export.zip",
	}); err != nil {
		return err
	}
	_, err = a.artifact(ctx, in.Step, "repro", task.ArtifactReproManifest, task.RoleSystem, a.reproManifest(ctx, t, in, review))
	return err
}

func (a *Activities) reproManifest(ctx context.Context, t store.Task, in task.FinishIn, review map[string]any) map[string]any {
	m := map[string]any{
		"task_id": t.ID, "generated_at": task.FormatTime(a.Now()), "created_at": task.FormatTime(t.CreatedAt),
		"go_version": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
		"python_version": a.Tools.PythonVersion, "ruff_version": nilIfEmpty(a.Tools.RuffVersion),
		"pytest_version": nilIfEmpty(a.Tools.PytestVersion), "lint_tool": a.Tools.Lint.Name,
		"sandbox": a.Runner.Sandbox(), "codex_version": in.Plan.CodexVersion, "codex_hash": in.Plan.CodexHash,
		"template_id": nilIfEmpty(t.TemplateID), "template_hash": nilIfEmpty(in.Plan.TemplateHash),
		"llm_provider": a.Provider.Name(), "llm_model": a.Provider.Model(), "review_summary": review,
		"requirements_path": nil, "requirements_sha256": nil,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		build := map[string]any{"module": bi.Main.Path, "version": bi.Main.Version}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.time" || s.Key == "vcs.modified" {
				build[s.Key] = s.Value
			}
		}
		m["worker_build"] = build
	}
	if f, err := a.Store.GetFile(ctx, t.ID, "requirements.txt"); err == nil {
		m["requirements_path"], m["requirements_sha256"] = f.Path, f.SHA256
	}
	return m
}
