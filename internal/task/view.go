package task

import "encoding/json"

// APIView is the task JSON of GET /api/tasks/{id}, the task lists and the
// WebSocket updates: the API writes it and the command-line client reads it,
// so both use this one type. The field names are part of the HTTP contract
// (docs/openapi.yaml). The owner's key hash and the client IP are kept out
// on purpose.
type APIView struct {
	TaskID           string          `json:"task_id"`
	ID               string          `json:"id"`
	UserID           string          `json:"user_id"`
	OwnerUserID      *string         `json:"owner_user_id"`
	Description      string          `json:"description"`
	Status           Status          `json:"status"`
	Progress         float64         `json:"progress"`
	CurrentStage     *string         `json:"current_stage"`
	CodexVersion     string          `json:"codex_version"`
	CodexHash        *string         `json:"codex_hash"`
	TemplateID       *string         `json:"template_id"`
	TemplateHash     *string         `json:"template_hash"`
	PendingQuestions []Question      `json:"pending_questions"`
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

	// CostUSD is what the task's LLM calls cost (6 decimals).
	CostUSD float64 `json:"cost_usd"`
	// BudgetUSD and BudgetTokens are the task's budget (0: none).
	BudgetUSD    float64 `json:"budget_usd"`
	BudgetTokens int64   `json:"budget_tokens"`
	ApprovePlan  bool    `json:"approve_plan"`
}
