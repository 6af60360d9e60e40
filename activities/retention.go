package activities

import (
	"context"
	"fmt"
	"time"

	"ai-platform/internal/task"
)

// PurgeExpired deletes tasks and workspaces older than their TTLs, in batches.
func (a *Activities) PurgeExpired(ctx context.Context, in task.PurgeIn) (task.PurgeOut, error) {
	defer a.keepAlive(ctx)()
	var out task.PurgeOut
	now := a.Now()
	if in.TaskTTLDays > 0 {
		cutoff := now.Add(-time.Duration(in.TaskTTLDays) * 24 * time.Hour)
		batch := in.Batch
		if batch <= 0 {
			batch = 500
		}
		for {
			r, err := a.Store.Purge(ctx, cutoff, batch)
			if err != nil {
				return out, storeErr(err, "purging expired tasks")
			}
			out.Tasks += r.Tasks
			out.Events += r.Events
			out.Artifacts += r.Artifacts
			out.Files += r.Files
			out.Usage += r.Usage
			if r.Tasks == 0 || ctx.Err() != nil {
				break
			}
		}
	}
	if in.WorkspaceTTLDays > 0 {
		removed, err := a.Workspaces.Cleanup(now.Add(-time.Duration(in.WorkspaceTTLDays) * 24 * time.Hour))
		if err != nil {
			return out, fmt.Errorf("cleaning workspaces: %w", err)
		}
		out.Workspaces = len(removed)
	}
	if a.Metrics != nil {
		for kind, n := range map[string]int64{"tasks": out.Tasks, "events": out.Events, "artifacts": out.Artifacts,
			"files": out.Files, "usage": out.Usage, "workspaces": int64(out.Workspaces)} {
			a.Metrics.Purged(kind, n)
		}
	}
	a.Logger.Info("retention purge", "tasks", out.Tasks, "events", out.Events, "artifacts", out.Artifacts,
		"files", out.Files, "usage_rows", out.Usage, "workspaces", out.Workspaces)
	return out, nil
}
