package workflows

import (
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// ReviewWorkflow reruns the review of an ended task outside any HTTP
// request. The task's own status, progress and result stay as they were; the
// run adds a review_report and its review_started/review_finished events.
func ReviewWorkflow(ctx workflow.Context, in task.ReviewRun) (task.ReviewOut, error) {
	step := task.Step{TaskID: in.TaskID, Key: "review/" + in.RunID, OwnerKey: in.OwnerKey, RequestID: in.RequestID}
	req := task.ReviewIn{Kind: task.ReviewRerun, RunID: in.RunID}
	var out task.ReviewOut
	if workflow.GetVersion(ctx, changeReviewSplit, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		req.Step = step
		err := workflow.ExecuteActivity(summarised(reviewStage(ctx, task.Plan{}), "review rerun"), task.ActReview, req).Get(ctx, &out)
		return out, err
	}
	// The checks keep the key the single Review activity had; the critique
	// gets its own.
	critique := step
	critique.Key += "/critique"
	steps := []task.Step{critique, step}
	return splitReview(ctx, req, func() task.Step {
		s := steps[0]
		steps = steps[1:]
		return s
	})
}

// splitReview runs a review as two activities: the model's critique (final
// and rerun reviews), then the checks, which fold the critique into the
// report they store. Each has its own retry policy and failure reason: a
// critique that fails or times out is an LLM failure and never re-runs the
// commands; the checks' commands never re-ask the model. step hands out the
// step of each activity, critique first.
func splitReview(ctx workflow.Context, in task.ReviewIn, step func() task.Step) (task.ReviewOut, error) {
	var out task.ReviewOut
	if in.Kind != task.ReviewIteration {
		var crit task.Critique
		cin := in
		cin.Step = step()
		if err := workflow.ExecuteActivity(summarised(llmStage(ctx, in.Plan, task.StageReview), "review: critique ("+in.Kind+")"), task.ActReviewCritique, cin).Get(ctx, &crit); err != nil {
			return out, err
		}
		in.Critique = &crit
	}
	in.Step = step()
	if err := workflow.ExecuteActivity(summarised(checksStage(ctx, in.Plan), "review: checks ("+in.Kind+")"), task.ActReviewChecks, in).Get(ctx, &out); err != nil {
		return out, err
	}
	if in.Critique != nil {
		out.TokensIn, out.TokensOut = in.Critique.TokensIn, in.Critique.TokensOut
	}
	return out, nil
}
