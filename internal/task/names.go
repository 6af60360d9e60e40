package task

// The names in this file are part of the HTTP contract: clients read them in
// current_stage, failure_reason, event types and artifact types, and filter
// on them (?type=). Each thing has exactly one constant here; code elsewhere
// uses the constant, never the string. The values never change.

// Stage names as they appear in current_stage, in StageStarted events, in
// the stage of usage reports, llm_usage and llm_error events, and in a
// codex's workflow.stages and workflow.timeouts.
const (
	StageInitializing = "initializing"
	StageResearch     = "research"
	StageDesign       = "design"
	StageNeedsInput   = "needs_input"
	StageResume       = "clarification_resume"
	StageImplement    = "implementation"
	StageReview       = "review"
	StageFinalize     = "finalize"
	StageCompleted    = "completed"
	StageFailed       = "failed"
	StageCancelled    = "cancelled"
	StagePaused       = "paused"
)

// Stages lists every value current_stage can take.
var Stages = []string{
	StageInitializing, StageResearch, StageDesign, StageNeedsInput, StageResume, StageImplement,
	StageReview, StageFinalize, StageCompleted, StageFailed, StageCancelled, StagePaused,
}

// PipelineStages are the stages a codex may list in workflow.stages and time
// in workflow.timeouts, in the order the pipeline runs them.
var PipelineStages = []string{StageResearch, StageDesign, StageImplement, StageReview}

// LLMStageCode is what the coding stage (StageImplement) is called inside
// its LLM conversation: the "stage" field of the brief the model reads, the
// stage of the provider request (which the mock provider dispatches on and
// the LLM request metrics carry as a label) and the stage named in an
// invalid-reply error. Clients see StageImplement everywhere else.
const LLMStageCode = "code"

// LLMStage is the name a pipeline stage goes by inside its LLM conversation:
// the stage itself, except LLMStageCode for StageImplement.
func LLMStage(stage string) string {
	if stage == StageImplement {
		return LLMStageCode
	}
	return stage
}

// Failure reasons: the documented values of failure_reason on failed and
// cancelled tasks.
const (
	ReasonQuotaExceeded          = "quota_exceeded"
	ReasonMaxIterationsExhausted = "max_iterations_exhausted"
	ReasonCommandTimeout         = "command_timeout"
	ReasonReviewFailed           = "review_failed"
	ReasonStorageLimitExceeded   = "storage_limit_exceeded"
	ReasonLLMProviderError       = "llm_provider_error"
	ReasonLLMInvalidResponse     = "llm_invalid_response"
	ReasonTemplateNotFound       = "template_not_found"
	// ReasonPayloadTooLarge is the failure reason of ErrTypePayloadTooBig,
	// which no activity raises; it is not in FailureReasons.
	ReasonPayloadTooLarge      = "payload_too_large"
	ReasonClarificationTimeout = "clarification_timeout"
	ReasonCancelledByUser      = "cancelled_by_user"
	// ReasonLLMRefused: the model refused on content-policy grounds; no
	// retry can change that.
	ReasonLLMRefused = "llm_refused"
	// ReasonBudgetExhausted: the task's budget ran out and its owner
	// declined to raise it (the work so far is kept).
	ReasonBudgetExhausted = "budget_exhausted"
	// ReasonPlanRejected: the task was cancelled because its owner rejected
	// the plan at plan approval (the work so far is kept).
	ReasonPlanRejected = "plan_rejected"
	// ReasonWorkflowStartFailed marks a task whose row was stored but whose
	// workflow could not be started; creating it again with the same
	// idempotency key starts it.
	ReasonWorkflowStartFailed = "workflow_start_failed"
	ReasonInternalError       = "internal_error"
)

// FailureReasons lists every failure_reason a task can end with.
var FailureReasons = []string{
	ReasonQuotaExceeded, ReasonMaxIterationsExhausted, ReasonCommandTimeout, ReasonReviewFailed,
	ReasonStorageLimitExceeded, ReasonLLMProviderError, ReasonLLMInvalidResponse, ReasonTemplateNotFound,
	ReasonClarificationTimeout, ReasonCancelledByUser, ReasonWorkflowStartFailed, ReasonInternalError,
	ReasonLLMRefused, ReasonBudgetExhausted, ReasonPlanRejected,
}

// Event types of a task's event log (GET /api/tasks/{id}/events, the
// websocket). The CamelCase ones and the snake_case ones are both what
// clients of the earlier system read, spelled as it spelled them.
const (
	// EventTaskCreated is appended when the task is created.
	EventTaskCreated = "TaskCreated"
	// EventProgressUpdate follows every change of the task row's projection.
	EventProgressUpdate = "ProgressUpdate"
	// EventStageStarted marks the start of a run and of each stage.
	EventStageStarted = "StageStarted"
	// EventCodexLoaded records the codex version and hash a run uses.
	EventCodexLoaded = "codex_loaded"
	// EventArtifactAdded announces the artifact types in AnnouncedArtifacts.
	EventArtifactAdded = "ArtifactAdded"
	// EventLLMUsage reports one provider request's token usage.
	EventLLMUsage = "llm_usage"
	// EventLLMError reports one failed attempt of a stage conversation.
	EventLLMError = "llm_error"
	// EventLLMFallback reports a call moved to a fallback model after the
	// primary model's retries ran out.
	EventLLMFallback = "llm_fallback"
	// EventLLMTruncated reports a reply cut off at the token limit and what
	// was done about it (continued, or asked again with fewer files).
	EventLLMTruncated = "llm_truncated"
	// EventBudgetExceeded marks a task stopping for a budget question;
	// EventBudgetRaised marks the answer that raised the budget.
	EventBudgetExceeded = "budget_exceeded"
	EventBudgetRaised   = "budget_raised"
	// EventPlanReviewed records the owner's decision on the plan
	// (approve, revise or reject).
	EventPlanReviewed = "plan_reviewed"
	// EventCodeGenerated lists the files one coder iteration wrote.
	EventCodeGenerated = "code_generated"
	// EventReviewStarted and EventReviewFinished bracket one review.
	EventReviewStarted  = "review_started"
	EventReviewFinished = "review_finished"
	// EventReviewResult summarises a pipeline (not rerun) review.
	EventReviewResult = "ReviewResult"
	// EventCommandStarted and EventCommandFinished bracket one review command.
	EventCommandStarted  = "command_started"
	EventCommandFinished = "command_finished"
	// EventCommandReused records a review command not run again because a
	// passing run of the same task had the same inputs (project content,
	// command, tool version, sandbox); run_id names that run.
	EventCommandReused = "command_reused"
	// EventClarificationRequested carries the questions of a gate stop.
	EventClarificationRequested = "clarification_requested"
	// EventClarificationReceived carries answers received by POST /input.
	EventClarificationReceived = "clarification_received"
	// EventTaskResumed marks a task leaving needs_input.
	EventTaskResumed = "task_resumed"
	// EventTaskPaused and EventTaskUnpaused mark a pause taking effect and its end.
	EventTaskPaused   = "task_paused"
	EventTaskUnpaused = "task_unpaused"
	// EventTaskRetried marks POST /retry starting a new run of a failed task.
	EventTaskRetried = "task_retried"
	// EventStageFailed records the stage and failure_reason of a failed task.
	EventStageFailed = "stage_failed"
	// EventTaskCompleted ends the log of a completed or failed task.
	EventTaskCompleted = "TaskCompleted"
	// EventTaskCancelled ends the log of a cancelled task.
	EventTaskCancelled = "task_cancelled"
)

// EventTypes lists every event type the platform appends.
var EventTypes = []string{
	EventTaskCreated, EventProgressUpdate, EventStageStarted, EventCodexLoaded, EventArtifactAdded,
	EventLLMUsage, EventLLMError, EventCodeGenerated, EventReviewStarted, EventReviewFinished,
	EventReviewResult, EventCommandStarted, EventCommandFinished, EventClarificationRequested,
	EventClarificationReceived, EventTaskResumed, EventTaskPaused, EventTaskUnpaused, EventTaskRetried,
	EventStageFailed, EventTaskCompleted, EventTaskCancelled,
	EventLLMFallback, EventLLMTruncated, EventBudgetExceeded, EventBudgetRaised, EventPlanReviewed,
	EventCommandReused,
}

// Artifact types of GET /api/tasks/{id}/artifacts.
const (
	ArtifactResearchSummary        = "research_summary"
	ArtifactArchitecture           = "architecture"
	ArtifactClarificationQuestions = "clarification_questions"
	ArtifactUsageReport            = "usage_report"
	ArtifactCodeSummary            = "code_summary"
	ArtifactReviewReport           = "review_report"
	ArtifactCommandLog             = "command_log"
	ArtifactPatchDiff              = "patch_diff"
	ArtifactGitExport              = "git_export"
	ArtifactReproManifest          = "repro_manifest"
)

// ArtifactTypes lists every artifact type the platform stores.
var ArtifactTypes = []string{
	ArtifactResearchSummary, ArtifactArchitecture, ArtifactClarificationQuestions, ArtifactUsageReport,
	ArtifactCodeSummary, ArtifactReviewReport, ArtifactCommandLog, ArtifactPatchDiff, ArtifactGitExport,
	ArtifactReproManifest,
}

// AnnouncedArtifacts are the artifact types whose storing also appends an
// ArtifactAdded event; the others (code_summary, command_log) have events of
// their own.
var AnnouncedArtifacts = []string{
	ArtifactResearchSummary, ArtifactArchitecture, ArtifactUsageReport, ArtifactPatchDiff,
	ArtifactGitExport, ArtifactReproManifest, ArtifactReviewReport, ArtifactClarificationQuestions,
}

// Roles: the produced_by of artifacts and the active_role of the state
// document.
const (
	RoleResearcher = "researcher"
	RoleDesigner   = "designer"
	RolePlanner    = "planner"
	RoleCoder      = "coder"
	RoleReviewer   = "reviewer"
	RoleRunner     = "runner"
	RoleSystem     = "system"
)

// Roles lists every role.
var Roles = []string{RoleResearcher, RoleDesigner, RolePlanner, RoleCoder, RoleReviewer, RoleRunner, RoleSystem}

// SnapshotClarification is the state the project snapshot records when a
// run stops to ask clarification questions; its other states are stage
// names and terminal statuses.
const SnapshotClarification = "clarification"
