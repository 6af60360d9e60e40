// Package store defines the persistence contract of the platform and its two
// implementations: PostgreSQL (pgx) and memory with optional JSON files.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ai-platform/internal/task"
)

// Errors shared by every implementation.
var (
	// ErrNotFound means the row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness or state precondition failed.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable means the backing database cannot be reached right now.
	ErrUnavailable = errors.New("store unavailable")
)

// LimitError reports a task that would exceed MAX_TASK_FILES or MAX_TASK_BYTES.
type LimitError struct {
	Kind  string // "files" or "bytes"
	Value int64
	Max   int64
}

func (e *LimitError) Error() string {
	if e.Kind == "files" {
		return fmt.Sprintf("Task file count limit exceeded (%d > %d)", e.Value, e.Max)
	}
	return fmt.Sprintf("Task storage limit exceeded (%d > %d bytes)", e.Value, e.Max)
}

// Task is the task row: the projection of a workflow the API reads.
type Task struct {
	ID               string          `json:"id"`
	UserID           string          `json:"user_id"`
	OwnerUserID      string          `json:"owner_user_id,omitempty"`
	OwnerKeyHash     string          `json:"owner_key_hash"`
	ClientIP         string          `json:"client_ip,omitempty"`
	RequestID        string          `json:"request_id,omitempty"`
	IdempotencyKey   string          `json:"idempotency_key,omitempty"`
	Description      string          `json:"description"`
	Status           task.Status     `json:"status"`
	Progress         float64         `json:"progress"`
	CurrentStage     string          `json:"current_stage,omitempty"`
	CodexVersion     string          `json:"codex_version,omitempty"`
	CodexHash        string          `json:"codex_hash,omitempty"`
	TemplateID       string          `json:"template_id,omitempty"`
	TemplateHash     string          `json:"template_hash,omitempty"`
	PendingQuestions []task.Question `json:"pending_questions"`
	ProvidedAnswers  map[string]any  `json:"provided_answers"`
	ResumeFromStage  string          `json:"resume_from_stage,omitempty"`
	Result           json.RawMessage `json:"result,omitempty"`
	Error            string          `json:"error,omitempty"`
	FailureReason    string          `json:"failure_reason,omitempty"`
	Iterations       int             `json:"iterations"`
	MaxIterations    int             `json:"max_iterations"`
	TokensIn         int64           `json:"tokens_in"`
	TokensOut        int64           `json:"tokens_out"`
	FilesCount       int             `json:"files_count"`
	FilesBytes       int64           `json:"files_bytes"`
	ArtifactsCount   int             `json:"artifacts_count"`
	Generation       int             `json:"generation"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	CompletedAt      *time.Time      `json:"completed_at,omitempty"`
	// Version grows by one on every write; watchers compare it to see changes.
	Version int64 `json:"version"`

	// CostUSD is the task's LLM cost in US dollars, a sum of per-call costs
	// rounded to the micro-dollar (package pricing); it moves with the
	// token totals, once per step.
	CostUSD float64 `json:"cost_usd"`
	// BudgetUSD and BudgetTokens cap what the task may spend (0: no
	// budget); the budget gate raises them when the owner agrees to.
	BudgetUSD    float64 `json:"budget_usd"`
	BudgetTokens int64   `json:"budget_tokens"`
	// ApprovePlan makes the task wait for approval of its design.
	ApprovePlan bool `json:"approve_plan"`
}

// TaskFilter selects tasks for listing. Empty fields do not filter.
type TaskFilter struct {
	OwnerKeyHash string
	OwnerUserID  string
	UserID       string
	Status       task.Status
	// Limit is 1..1000; callers validate.
	Limit int
	// Before is a keyset cursor from Page.Next: only tasks older than it.
	Before string
}

// Page is a slice of a list with the cursor to the next slice ("" at the end).
type Page[T any] struct {
	Items []T
	Next  string
	Total int
}

// Event is one entry of a task's event log. ID is deterministic (derived from
// the task, run and step) so that a retried activity never appends twice.
type Event struct {
	ID        string          `json:"id"`
	TaskID    string          `json:"task_id"`
	Type      string          `json:"type"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
	Seq       int64           `json:"-"`
}

// Artifact is one typed result of a task (review report, patch, ...).
type Artifact struct {
	ID         string          `json:"id"`
	TaskID     string          `json:"task_id"`
	Type       string          `json:"type"`
	ProducedBy string          `json:"produced_by"`
	Payload    json.RawMessage `json:"payload"`
	CreatedAt  time.Time       `json:"created_at"`
	Seq        int64           `json:"-"`
}

// ListOptions pages events and artifacts. Order is "asc" or "desc".
type ListOptions struct {
	Type  string
	Limit int
	Order string
	// After is a cursor from Page.Next.
	After string
}

// File is one file of a task's project.
type File struct {
	Path      string    `json:"path"`
	Content   []byte    `json:"-"`
	MimeType  string    `json:"mime_type"`
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FileLimits bounds a task's stored files; a value <= 0 disables that bound.
type FileLimits struct {
	MaxFiles int
	MaxBytes int64
}

// UsageCharge is one idempotent increment of an owner's daily usage. ID is a
// deterministic key of the step that incurred it, so retries charge once.
type UsageCharge struct {
	ID          string
	OwnerKey    string
	Day         time.Time // UTC date
	TokensIn    int64
	TokensOut   int64
	CostUSD     float64 // LLM cost, already rounded to the micro-dollar
	CommandRuns int64
}

// Usage is an owner's total for one UTC day.
type Usage struct {
	OwnerKey    string    `json:"key_hash"`
	Day         time.Time `json:"usage_date"`
	TokensIn    int64     `json:"tokens_in"`
	TokensOut   int64     `json:"tokens_out"`
	CostUSD     float64   `json:"cost_usd"`
	CommandRuns int64     `json:"command_runs"`
}

// User is an account for AUTH_MODE auth/hybrid.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	PasswordHash string    `json:"-"`
	IsAdmin      bool      `json:"is_admin"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// RefreshSession is one refresh token. Tokens descended from one login share a
// FamilyID; a rotated token has RotatedAt set and must never be accepted again.
type RefreshSession struct {
	ID         string
	FamilyID   string
	UserID     string
	TokenHash  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	RotatedAt  *time.Time
	LastUsedAt *time.Time
	UserAgent  string
	IP         string
}

// PurgeResult counts what a retention purge removed.
type PurgeResult struct {
	Tasks     int64 `json:"tasks"`
	Events    int64 `json:"events"`
	Artifacts int64 `json:"artifacts"`
	Files     int64 `json:"files"`
	Usage     int64 `json:"usage"`
	Sessions  int64 `json:"sessions"`
}

// Store is everything the platform persists. Both implementations follow
// the rules of the PostgreSQL schema:
//   - ids of tasks, events, artifacts, users, sessions and session families
//     are canonical lower-case UUID strings (uuid.NewString, or
//     uuid.NewSHA1(ns, key).String() for deterministic ones); a malformed id
//     names no row (ErrNotFound) and cannot be inserted;
//   - times come back in UTC, truncated to the microsecond;
//   - JSON documents must be valid and come back equal in meaning, not byte
//     for byte (jsonb drops whitespace and reorders keys);
//   - ErrUnavailable (wrapped) means the database could not be reached.
//
// Store is the sum of one interface per group of tables. The groups are
// declared here, next to the contract they document, rather than at each
// consumer: the API, the activities, the account service and the retention
// purge each use a different mix of the same few groups, so a consumer names
// the groups it needs (the account service needs only AuthStore) and every
// method is documented once. Only the code that opens a store holds a Store.
type Store interface {
	TaskStore
	EventLog
	FileStore
	UsageStore
	AuthStore
	Purger
	Pinger
	Close() error
}

// Projection is what a task update writes beside the row: its events and,
// unless State is nil, the task's state document (PutState).
type Projection struct {
	Events []Event
	State  json.RawMessage
}

// ProjectFunc returns the projection of a task update from the row before
// and after it (after carries the new Version and UpdatedAt).
type ProjectFunc func(before, after Task) (Projection, error)

// TaskStore keeps the task rows.
type TaskStore interface {
	// CreateTask inserts a new task. With a non-empty IdempotencyKey an
	// existing task of the same owner and key is returned with ErrConflict.
	CreateTask(ctx context.Context, t Task) (Task, error)
	GetTask(ctx context.Context, id string) (Task, error)
	// UpdateTask applies fn to the current row atomically (a row lock),
	// bumps Version and UpdatedAt, and returns the new row. fn cannot change
	// ID, CreatedAt or the counters the store keeps (FilesCount, FilesBytes,
	// ArtifactsCount); its error is returned as is and nothing is written.
	// fn may do I/O: other UpdateTask calls of the same task wait for it,
	// those of other tasks and every read do not.
	UpdateTask(ctx context.Context, id string, fn func(*Task) error) (Task, error)
	// UpdateTaskProjected is UpdateTask that also appends the events and
	// stores the state document that project returns for the row before
	// and after fn's change. PostgreSQL writes all of it in the row's
	// transaction: one commit, so one WAL flush where separate writes paid
	// one each. The memory store writes them right after the row, still
	// holding its row lock. Events keep AppendEvent's rules (an existing id
	// is skipped) and must belong to the task. project runs inside the
	// transaction and must not use the store; its error is returned as is
	// and nothing is written.
	UpdateTaskProjected(ctx context.Context, id string, fn func(*Task) error, project ProjectFunc) (Task, error)
	ListTasks(ctx context.Context, f TaskFilter) (Page[Task], error)
	// CountTasksByStatus returns the number of tasks per status.
	CountTasksByStatus(ctx context.Context) (map[task.Status]int, error)
}

// EventLog keeps a task's append-only events and artifacts.
type EventLog interface {
	// AppendEvent inserts e unless an event with the same ID exists (on any
	// task); it reports whether a row was inserted.
	AppendEvent(ctx context.Context, e Event) (bool, error)
	ListEvents(ctx context.Context, taskID string, o ListOptions) (Page[Event], error)
	// AppendArtifact is AppendEvent for artifacts; it also bumps the task's
	// ArtifactsCount (and Version) when a row is inserted.
	AppendArtifact(ctx context.Context, a Artifact) (bool, error)
	ListArtifacts(ctx context.Context, taskID string, o ListOptions) (Page[Artifact], error)
	GetArtifact(ctx context.Context, taskID, id string) (Artifact, error)
	// LatestArtifact returns the newest artifact of a type.
	LatestArtifact(ctx context.Context, taskID, typ string) (Artifact, error)
}

// FileStore keeps a task's project files and its two JSON documents: the
// workflow's state and the project snapshot.
type FileStore interface {
	PutState(ctx context.Context, taskID string, state json.RawMessage) error
	GetState(ctx context.Context, taskID string) (json.RawMessage, time.Time, error)

	// PutFiles upserts files and deletes the paths in remove, in one atomic
	// step that checks limits against the task's totals after the change;
	// on *LimitError (returned unwrapped) nothing is written. It keeps the
	// task's FilesCount and FilesBytes current and bumps its Version.
	PutFiles(ctx context.Context, taskID string, files []File, remove []string, lim FileLimits) error
	// ListFiles returns metadata (no content) sorted by path.
	ListFiles(ctx context.Context, taskID string) ([]File, error)
	GetFile(ctx context.Context, taskID, path string) (File, error)
	// GetFiles returns every file with content, sorted by path.
	GetFiles(ctx context.Context, taskID string) ([]File, error)

	PutSnapshot(ctx context.Context, taskID string, snap json.RawMessage) error
	GetSnapshot(ctx context.Context, taskID string) (json.RawMessage, error)
}

// UsageStore keeps each owner's daily token, cost and command-run totals.
type UsageStore interface {
	// AddUsage applies c once; a second call with the same ID is a no-op that
	// reports false.
	AddUsage(ctx context.Context, c UsageCharge) (bool, error)
	GetUsage(ctx context.Context, ownerKey string, day time.Time) (Usage, error)
	// UsageSince sums usage per owner from day on, largest first.
	UsageSince(ctx context.Context, day time.Time, limit int) ([]Usage, error)
	// UsageDays returns one owner's daily rows for the UTC days from..to
	// (inclusive), newest first; days without usage have no row.
	UsageDays(ctx context.Context, ownerKey string, from, to time.Time) ([]Usage, error)
}

// AuthStore keeps user accounts and their refresh sessions.
type AuthStore interface {
	CreateUser(ctx context.Context, u User) (User, error)
	GetUserByEmail(ctx context.Context, email string) (User, error)
	GetUserByID(ctx context.Context, id string) (User, error)
	CreateRefreshSession(ctx context.Context, s RefreshSession) error
	GetRefreshSessionByHash(ctx context.Context, tokenHash string) (RefreshSession, error)
	// RotateRefreshSession marks oldID rotated and inserts next, only if oldID
	// is neither rotated nor revoked (else ErrConflict), atomically.
	RotateRefreshSession(ctx context.Context, oldID string, next RefreshSession, now time.Time) error
	// RevokeRefreshFamily revokes every live token of a family.
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) (int64, error)
}

// Purger removes what the retention period has expired.
type Purger interface {
	// Purge deletes tasks in a terminal status (completed, failed,
	// cancelled) that ended before cutoff (CompletedAt, or UpdatedAt when a
	// terminal row has none), with everything they own, at most batch tasks
	// per call (callers loop until Tasks == 0); and usage rows and expired
	// sessions older than cutoff. A task that is not terminal (queued,
	// processing, needs_input, paused) is never purged, however old: its
	// workflow may still be running.
	Purge(ctx context.Context, cutoff time.Time, batch int) (PurgeResult, error)
}

// Pinger checks the backing database.
type Pinger interface {
	// Ping checks the backing database.
	Ping(ctx context.Context) error
}
