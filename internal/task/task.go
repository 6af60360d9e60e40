// Package task holds the contract shared by the HTTP API, the workflows and the
// activities: workflow, signal and query names, workflow-id helpers, statuses,
// the names clients see (names.go) and the small wire types that cross Temporal.
package task

import (
	"strings"
	"time"
)

// WorkflowName is the registered name of the task pipeline workflow.
const WorkflowName = "TaskWorkflow"

// ReviewWorkflowName is the registered name of the rerun-review workflow.
const ReviewWorkflowName = "ReviewWorkflow"

// SlotsWorkflowName is the registered name of the concurrency-slot semaphore workflow.
const SlotsWorkflowName = "SlotsWorkflow"

// CleanupWorkflowName is the registered name of the retention clean-up workflow.
const CleanupWorkflowName = "CleanupWorkflow"

// Signal and query names understood by TaskWorkflow.
const (
	// SignalInput carries clarification answers (InputSignal).
	SignalInput = "input"
	// SignalResume asks a task waiting in needs_input to continue (ResumeSignal).
	SignalResume = "resume"
	// SignalSlotGranted is sent by the slots workflow when a task may start processing.
	SignalSlotGranted = "slot-granted"
	// SignalPause asks a task to stop before its next step.
	SignalPause = "pause"
	// SignalUnpause lets a paused task continue.
	SignalUnpause = "unpause"
	// QueryState returns the live State of a task.
	QueryState = "state"
)

const workflowIDPrefix = "task-"

// WorkflowID is the Temporal workflow id of a task.
func WorkflowID(taskID string) string { return workflowIDPrefix + taskID }

// IDFromWorkflowID extracts the task id from a workflow id made by WorkflowID.
func IDFromWorkflowID(workflowID string) (string, bool) {
	if !strings.HasPrefix(workflowID, workflowIDPrefix) {
		return "", false
	}
	return strings.TrimPrefix(workflowID, workflowIDPrefix), true
}

// ReviewWorkflowID is the workflow id of a task's rerun-review runs; one id
// per task means at most one rerun runs at a time.
func ReviewWorkflowID(taskID string) string { return "review-" + taskID }

// ReviewRun starts a ReviewWorkflow.
type ReviewRun struct {
	TaskID    string `json:"task_id"`
	RunID     string `json:"run_id"`
	OwnerKey  string `json:"owner_key"`
	RequestID string `json:"request_id,omitempty"`
}

// SlotsWorkflowID is the id of the single semaphore workflow of a task queue.
func SlotsWorkflowID(taskQueue string) string { return slotsIDPrefix + taskQueue }

const slotsIDPrefix = "slots-"

// SlotsTaskQueue is the task queue the semaphore workflow of taskQueue runs
// on: a queue of its own, polled by a worker of its own in every worker
// process, so that its workflow tasks never wait behind a backlog of the
// task workflows' ones. On the shared queue, 10,000 tasks created in a burst
// left a grant round waiting minutes behind 8,000 task workflow tasks, and
// every task waited for its slot meanwhile.
func SlotsTaskQueue(taskQueue string) string { return taskQueue + "-slots" }

// QueueOfSlotsWorkflow is the task queue whose semaphore workflowID is (the
// inverse of SlotsWorkflowID).
func QueueOfSlotsWorkflow(workflowID string) (string, bool) {
	q, ok := strings.CutPrefix(workflowID, slotsIDPrefix)
	return q, ok && q != ""
}

// Status is the externally visible task status; the strings are the ones
// clients of the earlier system compare against.
type Status string

// Task statuses.
const (
	StatusQueued     Status = "queued"
	StatusProcessing Status = "processing"
	StatusNeedsInput Status = "needs_input"
	StatusPaused     Status = "paused"
	StatusCompleted  Status = "completed"
	StatusFailed     Status = "failed"
	StatusCancelled  Status = "cancelled"
)

// Terminal reports whether no further transition can happen.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusQueued, StatusProcessing, StatusNeedsInput, StatusPaused,
		StatusCompleted, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// Progress values published at each stage start, the ones the earlier system
// published.
const (
	ProgressQueued     = 0.0
	ProgressStarted    = 0.1
	ProgressResearch   = 0.2
	ProgressDesign     = 0.4
	ProgressImplement  = 0.6
	ProgressReview     = 0.9
	ProgressTerminated = 1.0
)

// Question is one clarification question.
type Question struct {
	ID        string   `json:"id"`
	Text      string   `json:"text"`
	Type      string   `json:"type"` // text | choice | multi
	Choices   []string `json:"choices"`
	Required  bool     `json:"required"`
	Rationale string   `json:"rationale"`
	// Budget is set on a budget question: what stopped the task.
	Budget *BudgetStop `json:"budget,omitempty"`
	// Plan is set on a plan_approval question: the plan to approve.
	Plan *PlanQuestion `json:"plan,omitempty"`
}

// Question types.
const (
	QuestionText   = "text"
	QuestionChoice = "choice"
	QuestionMulti  = "multi"
	// QuestionBudget asks to raise the task's budget (or decline).
	QuestionBudget = "budget"
	// QuestionPlanApproval presents the plan for approval, revision or
	// rejection.
	QuestionPlanApproval = "plan_approval"
)

// Input starts a TaskWorkflow. It carries ids and small settings only; the
// description and files live in the store.
type Input struct {
	TaskID       string `json:"task_id"`
	TemplateID   string `json:"template_id,omitempty"`
	CodexVersion string `json:"codex_version,omitempty"`
	// OwnerKey is the keyed hash identifying the owner for quotas; never a raw key.
	OwnerKey string `json:"owner_key"`
	// MaxConcurrent is the MAX_CONCURRENT_TASKS value at creation, set by
	// the API of earlier releases and no longer used: the slots workflow
	// takes its capacity from the workers (CapacityAnnouncement).
	MaxConcurrent int    `json:"max_concurrent,omitempty"`
	RequestID     string `json:"request_id,omitempty"`
	// Generation counts retries of the same task (0 for the first run) and
	// namespaces event ids so a retry never collides with the first run.
	Generation int `json:"generation,omitempty"`
	// Checkpoint, when set, continues a run after continue-as-new or a retry.
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
	// TaskTTLDays bounds how long the task waits for answers (<= 0: forever).
	TaskTTLDays int `json:"task_ttl_days,omitempty"`
	// ContinueAsNewAfter forces continue-as-new once a run has taken this
	// many steps (0 = only when Temporal suggests it); tests use it.
	ContinueAsNewAfter int `json:"continue_as_new_after,omitempty"`
	// QueuedAt is when the task joined the queue (its creation, or a
	// retry): its place in the FIFO of the slots workflow for its first
	// slot, however long its preparation took. Later acquisitions (after
	// questions or a pause) queue at their own time.
	QueuedAt time.Time `json:"queued_at,omitzero"`
	// ApprovePlan makes the task wait for its owner's approval of the
	// design before code is written (approve_plan on create, or the
	// codex's default).
	ApprovePlan bool `json:"approve_plan,omitempty"`
}

// Checkpoint is the small state carried across continue-as-new.
type Checkpoint struct {
	Stage     string         `json:"stage"`
	Plan      *Plan          `json:"plan,omitempty"`
	Questions []Question     `json:"questions,omitempty"`
	Answers   map[string]any `json:"answers,omitempty"`
	Iteration int            `json:"iteration"`
	Done      []string       `json:"done,omitempty"`
	Fix       *CodeTask      `json:"fix,omitempty"`
	// StepSeq counts the steps (activity calls) taken by the runs of this
	// generation so far; the next run's step keys continue from it, so the
	// ids of the rows its steps write never repeat. Its JSON name is that of
	// an earlier, misleading Go name and stays for checkpoints in flight.
	StepSeq        int           `json:"input_seq"`
	Paused         bool          `json:"paused,omitempty"`
	TokensIn       int64         `json:"tokens_in"`
	TokensOut      int64         `json:"tokens_out"`
	Research       *ResearchOut  `json:"research,omitempty"`
	ContinuedTimes int           `json:"continued_times"`
	RequestedAt    string        `json:"requested_at,omitempty"`
	Files          []PlannedFile `json:"files,omitempty"`
	Asked          []string      `json:"asked,omitempty"`
	GateRound      int           `json:"gate_round"`
	HoldsSlot      bool          `json:"holds_slot,omitempty"`
	// RetryFrom is the step a retried run jumps to once prepared, in runs
	// whose API worked out the resume point (earlier releases).
	RetryFrom string `json:"retry_from,omitempty"`
	// Retry marks a retried run that has still to work out where it
	// continues; its prepare step asks the ResumePoint activity.
	Retry     bool   `json:"retry,omitempty"`
	SlotToken string `json:"slot_token,omitempty"`
	// Inbox and Resume are clarification signals received but not yet acted
	// on when the run continued as new; the next run acts on them.
	Inbox  []InputSignal `json:"inbox,omitempty"`
	Resume bool          `json:"resume,omitempty"`
	// Budget is set while the task waits at StepBudget: what stopped it and
	// the step it goes back to once the budget is raised.
	Budget *BudgetGate `json:"budget,omitempty"`
	// PlanRound counts the plans shown for approval; GateStops counts the
	// budget and plan questions asked (their ids are numbered by it).
	PlanRound int `json:"plan_round,omitempty"`
	GateStops int `json:"gate_stops,omitempty"`
	// View is what the state query showed, so the next run answers the same
	// (needs_input with its questions, say) before its first update.
	View *View `json:"view,omitempty"`
}

// BudgetGate is the state of a task stopped by its budget.
type BudgetGate struct {
	Stop BudgetStop `json:"stop"`
	// Back is the step that runs again once the budget is raised.
	Back string `json:"back"`
}

// View is the visible part of State carried across continue-as-new.
type View struct {
	Status          Status  `json:"status"`
	Stage           string  `json:"stage"`
	Progress        float64 `json:"progress"`
	ResumeFromStage string  `json:"resume_from_stage,omitempty"`
}

// Plan is what the prepare activity learns from the codex and the template.
type Plan struct {
	CodexVersion         string   `json:"codex_version"`
	CodexHash            string   `json:"codex_hash"`
	TemplateID           string   `json:"template_id,omitempty"`
	TemplateHash         string   `json:"template_hash,omitempty"`
	Stages               []string `json:"stages"`
	MaxIterations        int      `json:"max_iterations"`
	ReviewRequired       bool     `json:"review_required"`
	MaxQuestions         int      `json:"max_questions"`
	MaxFilesPerIteration int      `json:"max_files_per_iteration"`
	// Timeouts per stage in seconds, from the codex.
	Timeouts map[string]int `json:"timeouts,omitempty"`
	// ApprovePlan is the codex's default for plan approval (a task's
	// approve_plan turns it on too).
	ApprovePlan bool `json:"approve_plan,omitempty"`
}

// ResearchOut is the small summary the research activity returns.
type ResearchOut struct {
	Requirements  int        `json:"requirements"`
	OpenQuestions []Question `json:"open_questions,omitempty"`
	TokensIn      int64      `json:"tokens_in"`
	TokensOut     int64      `json:"tokens_out"`
}

// PlannedFile is one file the design asks for.
type PlannedFile struct {
	Path      string `json:"path"`
	Component string `json:"component"`
	Kind      string `json:"kind"` // source | test | docs | config
}

// DesignOut is the small summary the design activity returns.
type DesignOut struct {
	Files     []PlannedFile `json:"files"`
	TokensIn  int64         `json:"tokens_in"`
	TokensOut int64         `json:"tokens_out"`
}

// CodeTask is the unit of work of one implementation iteration.
type CodeTask struct {
	Type        string   `json:"type"` // implement_component | write_tests | fix_review_issues
	Component   string   `json:"component,omitempty"`
	TargetFiles []string `json:"target_files,omitempty"`
	Description string   `json:"description"`
	// Findings are review messages the coder must address (capped in size).
	Findings []string `json:"findings,omitempty"`
}

// Code task types.
const (
	CodeImplement = "implement_component"
	CodeTests     = "write_tests"
	CodeFix       = "fix_review_issues"
)

// CodeOut summarises one coder step.
type CodeOut struct {
	FilesWritten []string `json:"files_written"`
	TokensIn     int64    `json:"tokens_in"`
	TokensOut    int64    `json:"tokens_out"`
}

// ReviewOut summarises one review.
type ReviewOut struct {
	Passed         bool     `json:"passed"`
	Status         string   `json:"status"`
	IssuesCount    int      `json:"issues_count"`
	WarningsCount  int      `json:"warnings_count"`
	Findings       []string `json:"findings,omitempty"`
	FilesToFix     []string `json:"files_to_fix,omitempty"`
	CommandTimeout bool     `json:"command_timeout"`
	ReportID       string   `json:"report_id"`
	TokensIn       int64    `json:"tokens_in"`
	TokensOut      int64    `json:"tokens_out"`
}

// InputSignal carries clarification answers.
type InputSignal struct {
	Answers    map[string]any `json:"answers"`
	AutoResume bool           `json:"auto_resume"`
	RequestID  string         `json:"request_id,omitempty"`
	// Recorded: the sender stored the merged answers in the task row under
	// its row lock before sending (the API does since it decides on the
	// row). The row may already hold later answers than this signal's, so
	// the workflow must not write its own, older merge over them.
	Recorded bool `json:"recorded,omitempty"`
}

// ResumeSignal asks a task in needs_input to continue.
type ResumeSignal struct {
	RequestID string `json:"request_id,omitempty"`
}

// SlotGrant is the payload of SignalSlotGranted.
type SlotGrant struct {
	Token string `json:"token"`
}

// State is the live view returned by QueryState.
type State struct {
	TaskID           string         `json:"task_id"`
	Status           Status         `json:"status"`
	Stage            string         `json:"stage"`
	Progress         float64        `json:"progress"`
	Iteration        int            `json:"iteration"`
	MaxIterations    int            `json:"max_iterations"`
	PendingQuestions []Question     `json:"pending_questions"`
	ProvidedAnswers  map[string]any `json:"provided_answers"`
	ResumeFromStage  string         `json:"resume_from_stage,omitempty"`
	RequestedAt      string         `json:"requested_at,omitempty"`
	TokensIn         int64          `json:"tokens_in"`
	TokensOut        int64          `json:"tokens_out"`
	FailureReason    string         `json:"failure_reason,omitempty"`
	Paused           bool           `json:"paused"`
	PauseRequested   bool           `json:"pause_requested"`
}

// Result is the workflow result of a task that ended normally.
type Result struct {
	Status        Status `json:"status"`
	FailureReason string `json:"failure_reason,omitempty"`
	Iterations    int    `json:"iterations"`
	FilesCount    int    `json:"files_count"`
}

// FormatTime renders timestamps the same way everywhere (RFC 3339, UTC, microseconds).
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}
