package api

import (
	"encoding/json"
	"time"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// taskView is the task JSON clients see: the reference's fields plus derived
// ones. Owner hashes and client IPs are deliberately absent.
type taskView struct {
	TaskID           string          `json:"task_id"`
	ID               string          `json:"id"`
	UserID           string          `json:"user_id"`
	OwnerUserID      *string         `json:"owner_user_id"`
	Description      string          `json:"description"`
	Status           task.Status     `json:"status"`
	Progress         float64         `json:"progress"`
	CurrentStage     *string         `json:"current_stage"`
	CodexVersion     string          `json:"codex_version"`
	CodexHash        *string         `json:"codex_hash"`
	TemplateID       *string         `json:"template_id"`
	TemplateHash     *string         `json:"template_hash"`
	PendingQuestions []task.Question `json:"pending_questions"`
	ProvidedAnswers  map[string]any  `json:"provided_answers"`
	ResumeFromStage  *string         `json:"resume_from_stage"`
	Result           json.RawMessage `json:"result"`
	Error            *string         `json:"error"`
	FailureReason    *string         `json:"failure_reason"`
	CreatedAt        string          `json:"created_at"`
	UpdatedAt        string          `json:"updated_at"`
	CompletedAt      *string         `json:"completed_at"`
	FilesCount       int             `json:"files_count"`
	ArtifactsCount   int             `json:"artifacts_count"`
	Iterations       int             `json:"iterations"`
	MaxIterations    int             `json:"max_iterations"`
	TimeTakenSeconds float64         `json:"time_taken_seconds"`
	TokensIn         int64           `json:"tokens_in"`
	TokensOut        int64           `json:"tokens_out"`
	TotalTokens      int64           `json:"total_tokens"`
	Version          int64           `json:"version"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func newTaskView(t store.Task, now time.Time) taskView {
	v := taskView{
		TaskID: t.ID, ID: t.ID, UserID: t.UserID, OwnerUserID: strPtr(t.OwnerUserID), Description: t.Description,
		Status: t.Status, Progress: t.Progress, CurrentStage: strPtr(t.CurrentStage), CodexVersion: t.CodexVersion,
		CodexHash: strPtr(t.CodexHash), TemplateID: strPtr(t.TemplateID), TemplateHash: strPtr(t.TemplateHash),
		PendingQuestions: t.PendingQuestions, ProvidedAnswers: t.ProvidedAnswers, ResumeFromStage: strPtr(t.ResumeFromStage),
		Result: t.Result, Error: strPtr(t.Error), FailureReason: strPtr(t.FailureReason),
		CreatedAt: task.FormatTime(t.CreatedAt), UpdatedAt: task.FormatTime(t.UpdatedAt),
		FilesCount: t.FilesCount, ArtifactsCount: t.ArtifactsCount, Iterations: t.Iterations, MaxIterations: t.MaxIterations,
		TokensIn: t.TokensIn, TokensOut: t.TokensOut, TotalTokens: t.TokensIn + t.TokensOut, Version: t.Version,
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
