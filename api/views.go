package api

import (
	"encoding/json"
	"time"

	"ai-platform/internal/pricing"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newTaskView builds the task JSON clients see from the store row; now is
// the end of time_taken_seconds while the task runs.
func newTaskView(t store.Task, now time.Time) task.APIView {
	v := task.APIView{
		TaskID: t.ID, ID: t.ID, UserID: t.UserID, OwnerUserID: strPtr(t.OwnerUserID), Description: t.Description,
		Status: t.Status, Progress: t.Progress, CurrentStage: strPtr(t.CurrentStage), CodexVersion: t.CodexVersion,
		CodexHash: strPtr(t.CodexHash), TemplateID: strPtr(t.TemplateID), TemplateHash: strPtr(t.TemplateHash),
		PendingQuestions: t.PendingQuestions, ProvidedAnswers: t.ProvidedAnswers, ResumeFromStage: strPtr(t.ResumeFromStage),
		Result: t.Result, Error: strPtr(t.Error), FailureReason: strPtr(t.FailureReason),
		CreatedAt: task.FormatTime(t.CreatedAt), UpdatedAt: task.FormatTime(t.UpdatedAt),
		FilesCount: t.FilesCount, ArtifactsCount: t.ArtifactsCount, Iterations: t.Iterations, MaxIterations: t.MaxIterations,
		TokensIn: t.TokensIn, TokensOut: t.TokensOut, TotalTokens: t.TokensIn + t.TokensOut, Version: t.Version,
		CostUSD: pricing.Round(t.CostUSD), BudgetUSD: pricing.Round(t.BudgetUSD), BudgetTokens: t.BudgetTokens,
		ApprovePlan: t.ApprovePlan,
	}
	if v.PendingQuestions == nil {
		v.PendingQuestions = []task.Question{}
	}
	if v.ProvidedAnswers == nil {
		v.ProvidedAnswers = map[string]any{}
	}
	if len(v.Result) == 0 {
		v.Result = json.RawMessage("null")
	}
	end := now
	if t.CompletedAt != nil {
		c := task.FormatTime(*t.CompletedAt)
		v.CompletedAt = &c
		end = *t.CompletedAt
	}
	v.TimeTakenSeconds = float64(end.Sub(t.CreatedAt).Milliseconds()) / 1000
	return v
}
