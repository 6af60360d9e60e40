package task

import "time"

// Registered activity names. Workflows call activities by these names only, so
// the workflows package never imports the activities package.
const (
	ActPrepare       = "Prepare"
	ActUpdateTask    = "UpdateTask"
	ActResearch      = "Research"
	ActClarify       = "Clarify"
	ActRecordAnswers = "RecordAnswers"
	ActDesign        = "Design"
	ActCode          = "Code"
	ActReview        = "Review"
	ActFinish        = "Finish"
	ActAcquireSlot   = "AcquireSlot"
	// ActReleaseSlot signals a release to the slots workflow from a local
	// activity (runs before the signal-path change signal it from the
	// workflow, which waits a workflow task for the delivery).
	ActReleaseSlot  = "ReleaseSlot"
	ActCheckHolders = "CheckHolders"
	ActPurge        = "PurgeExpired"
	// ActResumePoint works out where a retried run continues.
	ActResumePoint = "ResumePoint"
	// ActReviewCritique asks the model to review the project (final and
	// rerun reviews); ActReviewChecks runs the review's commands and writes
	// the review_report. Together they replace ActReview, which stays
	// registered for runs recorded before the split.
	ActReviewCritique = "ReviewCritique"
	ActReviewChecks   = "ReviewChecks"
)

// Error types of non-retryable activity failures; each maps to a failure_reason.
const (
	ErrTypeQuota          = ReasonQuotaExceeded
	ErrTypeStorageLimit   = ReasonStorageLimitExceeded
	ErrTypeLLMProvider    = ReasonLLMProviderError
	ErrTypeLLMInvalid     = ReasonLLMInvalidResponse
	ErrTypeTemplate       = ReasonTemplateNotFound
	ErrTypePayloadTooBig  = ReasonPayloadTooLarge
	ErrTypeLLMRefused     = ReasonLLMRefused
	ErrTypeTaskNotFound   = "task_not_found"
	ErrTypeInvalidRequest = "invalid_request"
)

// ErrTypeLLMTransient is the type of a retryable LLM provider failure; the
// workflow reports llm_provider_error should the retries run out.
const ErrTypeLLMTransient = ErrTypeLLMProvider + "_transient"

// Step identifies one activity call of one run; activities derive the ids of
// the events, artifacts and usage charges they write from it, so a retried
// activity rewrites the same rows instead of adding new ones.
type Step struct {
	TaskID string `json:"task_id"`
	// Key is unique within the task, e.g. "g0/s12".
	Key string `json:"key"`
	// OwnerKey is the owner's keyed hash, for quota accounting.
	OwnerKey  string `json:"owner_key"`
	RequestID string `json:"request_id,omitempty"`
}

// EventSpec is an event the workflow asks UpdateTask to append.
type EventSpec struct {
	Type    string         `json:"type"`
	Payload map[string]any `json:"payload,omitempty"`
}

// Update is a projection change of the task row written by UpdateTask. Nil
// pointers leave fields unchanged.
type Update struct {
	Step             Step           `json:"step"`
	Status           Status         `json:"status,omitempty"`
	Stage            *string        `json:"stage,omitempty"`
	Role             string         `json:"role,omitempty"`
	Progress         *float64       `json:"progress,omitempty"`
	Iteration        *int           `json:"iteration,omitempty"`
	MaxIterations    *int           `json:"max_iterations,omitempty"`
	PendingQuestions *[]Question    `json:"pending_questions,omitempty"`
	Answers          map[string]any `json:"answers,omitempty"`
	ResumeFromStage  *string        `json:"resume_from_stage,omitempty"`
	FailureReason    string         `json:"failure_reason,omitempty"`
	Error            string         `json:"error,omitempty"`
	Result           *Result        `json:"result,omitempty"`
	Events           []EventSpec    `json:"events,omitempty"`
	// Budget raises the task's budget (an answered budget question).
	Budget *BudgetAnswer `json:"budget,omitempty"`
}

// PrepareIn starts a run.
type PrepareIn struct {
	Step         Step   `json:"step"`
	TemplateID   string `json:"template_id,omitempty"`
	CodexVersion string `json:"codex_version,omitempty"`
}

// StageIn is the input of the research and design activities.
type StageIn struct {
	Step Step `json:"step"`
	Plan Plan `json:"plan"`
}

// ClarifyIn asks the gate which questions are still open.
type ClarifyIn struct {
	Step          Step       `json:"step"`
	Plan          Plan       `json:"plan"`
	OpenQuestions []Question `json:"open_questions,omitempty"`
	// Asked are ids asked in earlier rounds; they are not asked again.
	Asked []string `json:"asked,omitempty"`
	Round int      `json:"round"`
}

// AnswersIn records clarification answers received by signal.
type AnswersIn struct {
	Step       Step           `json:"step"`
	Answers    map[string]any `json:"answers"`
	Merged     map[string]any `json:"merged"`
	ReceivedAt string         `json:"received_at"`
	// Recorded: the API has stored these answers in the task row already
	// (InputSignal.Recorded), so the row is not written again.
	Recorded bool `json:"recorded,omitempty"`
}

// CodeIn asks the coder for one iteration.
type CodeIn struct {
	Step      Step          `json:"step"`
	Plan      Plan          `json:"plan"`
	Iteration int           `json:"iteration"`
	Task      CodeTask      `json:"task"`
	Planned   []PlannedFile `json:"planned"`
}

// Review kinds.
const (
	ReviewIteration = "iteration"
	ReviewFinal     = "final"
	ReviewRerun     = "rerun"
)

// ReviewIn asks for one review, or for one of its two parts.
type ReviewIn struct {
	Step      Step          `json:"step"`
	Plan      Plan          `json:"plan"`
	Kind      string        `json:"kind"`
	Iteration int           `json:"iteration"`
	RunID     string        `json:"run_id,omitempty"`
	Planned   []PlannedFile `json:"planned,omitempty"`
	// Critique is the model's critique the checks fold into the report
	// (ActReviewChecks of a final or rerun review).
	Critique *Critique `json:"critique,omitempty"`
}

// Critique is the model's review of a project (ActReviewCritique): its
// verdict and short findings, never file contents.
type Critique struct {
	Verdict  string   `json:"verdict"` // approve | request_changes
	Summary  string   `json:"summary,omitempty"`
	Issues   []string `json:"issues,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// StartedAt is when the review started: the critique runs first.
	StartedAt string `json:"started_at"`
	TokensIn  int64  `json:"tokens_in"`
	TokensOut int64  `json:"tokens_out"`
}

// FinishIn ends a run: post-processing and the terminal projection.
type FinishIn struct {
	Step          Step   `json:"step"`
	Plan          Plan   `json:"plan"`
	Status        Status `json:"status"`
	FailureReason string `json:"failure_reason,omitempty"`
	Error         string `json:"error,omitempty"`
	Iterations    int    `json:"iterations"`
}

// ReleaseIn is the ReleaseSlot activity's input: the slot of WorkflowID
// granted under Token, on the slots workflow of TaskQueue.
type ReleaseIn struct {
	WorkflowID string `json:"workflow_id"`
	Token      string `json:"token"`
	TaskQueue  string `json:"task_queue"`
}

// AcquireIn asks the slots workflow for a processing slot.
type AcquireIn struct {
	WorkflowID string `json:"workflow_id"`
	TaskID     string `json:"task_id"`
	Token      string `json:"token"`
	// Capacity is the MAX_CONCURRENT_TASKS a task was created with, sent by
	// runs of earlier releases; it is ignored: the capacity comes from the
	// workers (CapacityAnnouncement).
	Capacity  int    `json:"capacity,omitempty"`
	TaskQueue string `json:"task_queue"`
	// QueuedAt orders the request among waiters (see SlotRequest).
	QueuedAt time.Time `json:"queued_at,omitzero"`
	// Reply asks for the answer in the activity's result: a free slot is
	// granted at once (the slots workflow's UpdateAcquire), a busy one
	// queues the request and the grant comes later as SignalSlotGranted.
	// Without it (runs of earlier releases) the grant always comes as the
	// signal.
	Reply bool `json:"reply,omitempty"`
}

// SlotReply is the AcquireSlot result of a request with Reply, and the
// result of the slots workflow's UpdateAcquire.
type SlotReply struct {
	// Granted: the slot is the task's now; no SignalSlotGranted follows.
	// Otherwise the request waits in the queue for that signal.
	Granted bool `json:"granted"`
}

// SlotRequest is the acquire signal payload of the slots workflow.
type SlotRequest struct {
	WorkflowID string `json:"workflow_id"`
	Token      string `json:"token"`
	// Capacity, set only by workers of earlier releases, overwrote the
	// capacity; slots runs that take capacity from CapacityAnnouncement
	// ignore it.
	Capacity int `json:"capacity,omitempty"`
	// QueuedAt places the request among the waiters (earliest first), so
	// the order is the tasks' and not the order in which their requests
	// happened to arrive; zero queues at the end.
	QueuedAt time.Time `json:"queued_at,omitzero"`
}

// SlotRelease is the release signal payload of the slots workflow.
type SlotRelease struct {
	WorkflowID string `json:"workflow_id"`
	Token      string `json:"token"`
}

// Slots signal names.
const (
	SignalAcquire = "acquire"
	SignalRelease = "release"
	// SignalCapacity carries a worker's CapacityAnnouncement.
	SignalCapacity = "capacity"
	// UpdateAcquire is the slots workflow's update that takes a free slot
	// (or queues the request) and answers which it did; an update is a
	// request and its reply in one round trip, where a signal's grant
	// needs a second one back to the task.
	UpdateAcquire = "acquire-now"
)

// CapacityAnnouncement is what a worker tells the slots workflow of its task
// queue when it starts: its MAX_CONCURRENT_TASKS and its start time. The
// capacity is that of the most recently started worker, so during a deploy
// the workers started last (the new configuration) win, and an old task that
// acquires a slot again never brings back the value it was created with.
type CapacityAnnouncement struct {
	Capacity  int       `json:"capacity"`
	StartedAt time.Time `json:"started_at"`
	Worker    string    `json:"worker,omitempty"`
}

// PurgeIn asks for one retention pass.
type PurgeIn struct {
	TaskTTLDays      int `json:"task_ttl_days"`
	WorkspaceTTLDays int `json:"workspace_ttl_days"`
	Batch            int `json:"batch"`
}

// PurgeOut reports what a retention pass removed.
type PurgeOut struct {
	Tasks      int64 `json:"tasks"`
	Events     int64 `json:"events"`
	Artifacts  int64 `json:"artifacts"`
	Files      int64 `json:"files"`
	Usage      int64 `json:"usage"`
	Workspaces int   `json:"workspaces"`
}
