package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/searchattr"
	"ai-platform/internal/task"
)

// What operators see of a task in the Temporal Web UI: its search attributes
// (to find it: every task parked in needs_input for more than a day, every
// failed task of a tenant) and the summaries of its activities and timers
// (to read its timeline). Summaries are ids, stage names and counts, never
// user text: the Web UI is the operators', not the task owner's.

// searchValues are the attributes the task should have now.
func (r *taskRun) searchValues() searchattr.Values {
	v := searchattr.Values{Status: r.state.Status, Stage: r.state.Stage, Template: r.in.TemplateID,
		Tenant: searchattr.TenantHash(r.in.OwnerKey)}
	if r.state.Status == task.StatusNeedsInput {
		// RequestedAt is when the pending questions were asked; a run
		// continued as new while waiting carries it in its checkpoint, so
		// the attribute keeps the first run's time.
		if at, err := time.Parse(time.RFC3339Nano, r.state.RequestedAt); err == nil {
			v.WaitingSince = at
		}
	}
	return v
}

// syncSearchAttributes upserts the attributes that differ from the ones the
// workflow has (the start options', the last upsert's or, after a
// continue-as-new, the previous run's): a status or stage change is one
// command, a step that changes neither is none. A run started before
// changeSearchAttributes upserts nothing. A failed upsert is logged: it must
// not fail the task.
func (r *taskRun) syncSearchAttributes(ctx workflow.Context) {
	if !r.searchAttrs {
		return
	}
	changes := r.searchValues().Changes(workflow.GetTypedSearchAttributes(ctx))
	if len(changes) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, changes...); err != nil {
		workflow.GetLogger(ctx).Warn("could not upsert the task's search attributes", "task_id", r.in.TaskID, "error", err)
	}
}

// summarised gives the activities started with ctx a summary, the line the
// Web UI's timeline shows for them.
func summarised(ctx workflow.Context, summary string) workflow.Context {
	opts := workflow.GetActivityOptions(ctx)
	opts.Summary = summary
	return workflow.WithActivityOptions(ctx, opts)
}

// summarisedLocal is summarised for local activities (the task-row
// updates), which the Web UI shows as markers.
func summarisedLocal(ctx workflow.Context, summary string) workflow.Context {
	opts := workflow.GetLocalActivityOptions(ctx)
	opts.Summary = summary
	return workflow.WithLocalActivityOptions(ctx, opts)
}

// updateSummary is the summary of a task-row update (a local activity):
// what it changes, e.g. "status needs_input · stage needs_input".
func updateSummary(u task.Update) string {
	var parts []string
	if u.Status != "" {
		parts = append(parts, "status "+string(u.Status))
	}
	if u.Stage != nil {
		parts = append(parts, "stage "+*u.Stage)
	}
	if u.Iteration != nil {
		parts = append(parts, fmt.Sprintf("iteration %d", *u.Iteration))
	}
	if u.Progress != nil && len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("progress %.0f%%", *u.Progress*100))
	}
	for _, e := range u.Events {
		parts = append(parts, e.Type)
	}
	if len(parts) == 0 {
		return "update task"
	}
	return strings.Join(parts, " · ")
}

// codeSummary names one implementation iteration: its number and kind.
func codeSummary(iteration int, t task.CodeTask) string {
	return fmt.Sprintf("code, iteration %d (%s)", iteration, t.Type)
}

// waitSummary names the wait for a decision at step, the timer the Web UI
// shows while the task is parked in needs_input.
func waitSummary(step string) string {
	switch step {
	case task.StepBudget:
		return "waiting for a budget decision"
	case task.StepPlanApproval:
		return "waiting for plan approval"
	}
	return "waiting for answers"
}
