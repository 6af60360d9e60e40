package activities

import (
	"context"
	"encoding/json"
	"errors"

	"ai-platform/internal/llm"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// ResumePoint works out from the store where a retried run continues: at
// research when the failed runs stored none, at the clarification gate when
// research is stored but no design, else at implementation with the stored
// plan and the planned files the coder has already written. It only reads.
func (a *Activities) ResumePoint(ctx context.Context, in task.ResumeIn) (task.ResumePoint, error) {
	t, err := a.getTask(ctx, in.Step.TaskID)
	if err != nil {
		return task.ResumePoint{}, err
	}
	rp := task.ResumePoint{Step: task.StepResearch, Answers: t.ProvidedAnswers}
	_, err = a.Store.LatestArtifact(ctx, t.ID, task.ArtifactResearchSummary)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rp, nil
	case err != nil:
		return task.ResumePoint{}, storeErr(err, "loading research")
	}
	rp.Step, rp.Researched = task.StepGate, true
	art, err := a.Store.LatestArtifact(ctx, t.ID, task.ArtifactArchitecture)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rp, nil
	case err != nil:
		return task.ResumePoint{}, storeErr(err, "loading design")
	}
	var design llm.DesignReply
	if err := json.Unmarshal(art.Payload, &design); err != nil {
		// Retrying cannot repair a stored document.
		return task.ResumePoint{}, nonRetryable(task.ReasonInternalError, "decoding the stored design: %v", err)
	}
	// Template files the plan rewrites exist from the start, so a file's
	// presence does not say the coder wrote it: the code summaries do.
	written, err := a.writtenFiles(ctx, t.ID)
	if err != nil {
		return task.ResumePoint{}, err
	}
	rp.Step, rp.Files = task.StepImplement, a.plannedFiles(design)
	for _, f := range rp.Files {
		if written[f.Path] {
			rp.Done = append(rp.Done, f.Path)
		}
	}
	return rp, nil
}

// writtenFiles is the set of paths the coder's code_summary artifacts list.
func (a *Activities) writtenFiles(ctx context.Context, taskID string) (map[string]bool, error) {
	have := map[string]bool{}
	cursor := ""
	for {
		page, err := a.Store.ListArtifacts(ctx, taskID, store.ListOptions{Type: task.ArtifactCodeSummary, Limit: 1000, Order: "asc", After: cursor})
		if err != nil {
			return nil, storeErr(err, "listing code summaries")
		}
		for _, art := range page.Items {
			var summary struct {
				Files []struct {
					Path string `json:"path"`
				} `json:"files"`
			}
			if err := json.Unmarshal(art.Payload, &summary); err != nil {
				return nil, nonRetryable(task.ReasonInternalError, "decoding code summary %s: %v", art.ID, err)
			}
			for _, f := range summary.Files {
				have[f.Path] = true
			}
		}
		if page.Next == "" {
			return have, nil
		}
		cursor = page.Next
	}
}
