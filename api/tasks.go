package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	enumspb "go.temporal.io/api/enums/v1"

	"ai-platform/internal/codex"
	"ai-platform/internal/pricing"
	"ai-platform/internal/searchattr"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// Timeouts for Temporal calls made inside a request: a slow or absent
// Temporal becomes a 503, never a hung request.
const (
	startTimeout  = 10 * time.Second
	signalTimeout = 5 * time.Second
	queryTimeout  = 5 * time.Second
	maxBodyBytes  = 1 << 20
)

// idNamespace derives task ids from idempotency keys.
var idNamespace = uuid.MustParse("2f0e3c1a-8b7d-4c6e-9f5a-0a1b2c3d4e5f")

// createRequest is the body of POST /api/tasks.
type createRequest struct {
	Description  *string `json:"description"`
	TemplateID   *string `json:"template_id"`
	CodexVersion *string `json:"codex_version"`
	UserID       *string `json:"user_id"`
	// BudgetUSD and BudgetTokens cap the task's LLM spending (0: none);
	// absent, they take TASK_BUDGET_USD and TASK_BUDGET_TOKENS.
	BudgetUSD    *float64 `json:"budget_usd"`
	BudgetTokens *int64   `json:"budget_tokens"`
	// ApprovePlan makes the task wait for approval of its design.
	ApprovePlan *bool `json:"approve_plan"`
}

// bindJSON decodes a JSON object body; it answers 413/422 itself on failure.
func bindJSON(c *gin.Context, out any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	if err != nil {
		fail(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body is larger than %d bytes", maxBodyBytes))
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		fail(c, http.StatusUnprocessableEntity, "Request body must be a JSON object")
		return false
	}
	if err := json.Unmarshal(body, out); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			fail(c, http.StatusUnprocessableEntity, fmt.Sprintf("Field %q must be of type %s", typeErr.Field, typeErr.Type.String()))
			return false
		}
		fail(c, http.StatusUnprocessableEntity, "Request body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

// Limits and defaults of POST /api/tasks.
const (
	// maxCodexVersionLen bounds codex_version, a label the task only records.
	maxCodexVersionLen = 64
	// maxUserIDLen bounds user_id, a free-form label of API-key callers.
	maxUserIDLen = 128
	// maxIdempotencyKeyLen bounds the Idempotency-Key header.
	maxIdempotencyKeyLen = 200
	// anonymousUserID is the user_id of a task created with neither a user_id
	// nor a signed-in user.
	anonymousUserID = "anonymous"
	// estimatedTimeSeconds is the create answer's estimated_time: a fixed
	// hint clients of the earlier system read; the platform does not
	// estimate durations.
	estimatedTimeSeconds = 60
)

// createTask stores a new task, records its TaskCreated event and starts its
// workflow. With an Idempotency-Key, a repeated request answers with the task
// the first one made instead of creating another.
func (s *Server) createTask(c *gin.Context) {
	var req createRequest
	if !bindJSON(c, &req) {
		return
	}
	p := principalOf(c)
	t, cerr := s.newTaskRow(c, p, req)
	if cerr != nil {
		fail(c, cerr.status, cerr.detail)
		return
	}
	ctx := c.Request.Context()
	created, replay, err := s.insertOrReplay(ctx, p, t)
	if err != nil {
		s.storeFailure(c, err, "create task")
		return
	}
	s.scopeTask(c, created)
	if !replay {
		if err := s.recordCreated(ctx, created, requestIDOf(c)); err != nil {
			s.storeFailure(c, err, "task created event")
			return
		}
	}
	if err := s.startTask(ctx, created, 0); err != nil {
		s.abandonStart(c, created, err)
		return
	}
	if s.Metrics != nil && !replay {
		s.Metrics.TaskCreated()
	}
	s.logger(c).Info("task created", "template_id", created.TemplateID, "replay", replay)
	c.JSON(http.StatusOK, gin.H{
		"task_id": created.ID, "status": created.Status, "message": "Task queued for processing",
		"progress": created.Progress, "estimated_time": estimatedTimeSeconds,
	})
}

// requestError is a request the API refuses: the status and detail it answers.
type requestError struct {
	status int
	detail string
}

func badRequest(detail string) *requestError {
	return &requestError{status: http.StatusBadRequest, detail: detail}
}

// newTaskRow validates a create request and builds the row of the new task,
// checking the fields in a fixed order so the same request always gets the
// same refusal.
func (s *Server) newTaskRow(c *gin.Context, p Principal, req createRequest) (store.Task, *requestError) {
	desc, rerr := s.description(req.Description)
	if rerr != nil {
		return store.Task{}, rerr
	}
	t := store.Task{
		Status: task.StatusQueued, Description: desc, OwnerKeyHash: p.OwnerKey, OwnerUserID: p.UserID,
		ClientIP: c.ClientIP(), RequestID: requestIDOf(c), CodexVersion: codex.DefaultVersion,
		PendingQuestions: []task.Question{}, ProvidedAnswers: map[string]any{},
	}
	if t.TemplateID, t.TemplateHash, rerr = s.template(req.TemplateID); rerr != nil {
		return store.Task{}, rerr
	}
	if v, rerr := codexVersion(req.CodexVersion); rerr != nil {
		return store.Task{}, rerr
	} else if v != "" {
		t.CodexVersion = v
	}
	if t.UserID, rerr = taskUserID(p, req.UserID); rerr != nil {
		return store.Task{}, rerr
	}
	if t.BudgetUSD, t.BudgetTokens, rerr = s.budget(req.BudgetUSD, req.BudgetTokens); rerr != nil {
		return store.Task{}, rerr
	}
	t.ApprovePlan = req.ApprovePlan != nil && *req.ApprovePlan
	if t.ID, t.IdempotencyKey, rerr = taskID(p, c.GetHeader("Idempotency-Key")); rerr != nil {
		return store.Task{}, rerr
	}
	return t, nil
}

// description is the task description with surrounding space trimmed and
// configured secrets redacted: required, not blank, at most
// MAX_DESCRIPTION_CHARS characters and free of NUL.
func (s *Server) description(raw *string) (string, *requestError) {
	if raw == nil {
		return "", badRequest("description is required")
	}
	desc := s.redact.String(strings.TrimSpace(*raw))
	if desc == "" {
		return "", badRequest("description must not be empty")
	}
	if n := utf8.RuneCountInString(desc); n > s.Config.MaxDescription {
		return "", badRequest(fmt.Sprintf("description is %d characters; the limit is %d (MAX_DESCRIPTION_CHARS)", n, s.Config.MaxDescription))
	}
	if strings.ContainsRune(desc, 0) {
		return "", badRequest("description must not contain NUL characters")
	}
	return desc, nil
}

// maxBudgetUSD bounds budget_usd, as TASK_BUDGET_USD is bounded.
const maxBudgetUSD = 1_000_000

// budget is the task's budget: the request's budget_usd and budget_tokens,
// each defaulting to TASK_BUDGET_USD / TASK_BUDGET_TOKENS when absent (or
// null); 0 means no budget. Dollars are kept to the micro-dollar, the
// precision of every cost.
func (s *Server) budget(usd *float64, tokens *int64) (float64, int64, *requestError) {
	outUSD, outTokens := s.Config.TaskBudgetUSD, s.Config.TaskBudgetTokens
	if usd != nil {
		if *usd < 0 || *usd > maxBudgetUSD {
			return 0, 0, badRequest(fmt.Sprintf("budget_usd must be between 0 and %d US dollars (0: no budget)", maxBudgetUSD))
		}
		outUSD = *usd
	}
	if tokens != nil {
		if *tokens < 0 {
			return 0, 0, badRequest("budget_tokens must be a whole number >= 0 (0: no budget)")
		}
		outTokens = *tokens
	}
	return pricing.Round(outUSD), outTokens, nil
}

// template resolves template_id (trimmed; empty means none) to the id and
// content hash of a catalog template.
func (s *Server) template(raw *string) (id, hash string, rerr *requestError) {
	if raw == nil {
		return "", "", nil
	}
	id = strings.TrimSpace(*raw)
	if id == "" {
		return "", "", nil
	}
	tmpl, ok := s.Catalog.Get(id)
	if !ok {
		return "", "", badRequest("Template not found")
	}
	return id, tmpl.Hash, nil
}

// codexVersion is the requested codex_version, trimmed; "" when the request
// names none.
func codexVersion(raw *string) (string, *requestError) {
	if raw == nil {
		return "", nil
	}
	v := strings.TrimSpace(*raw)
	switch {
	case v == "":
		return "", nil
	case len(v) > maxCodexVersionLen:
		return "", badRequest(fmt.Sprintf("codex_version must be at most %d characters", maxCodexVersionLen))
	case strings.ContainsRune(v, 0):
		return "", badRequest("codex_version must not contain NUL characters")
	}
	return v, nil
}

// taskUserID is the user_id the task records: the request's (trimmed), which
// a signed-in user may only set to their own id, else the caller's user id,
// else anonymousUserID.
func taskUserID(p Principal, raw *string) (string, *requestError) {
	userID := p.UserID
	if raw != nil && strings.TrimSpace(*raw) != "" {
		if len(*raw) > maxUserIDLen {
			return "", badRequest(fmt.Sprintf("user_id must be at most %d characters", maxUserIDLen))
		}
		if strings.ContainsRune(*raw, 0) {
			return "", badRequest("user_id must not contain NUL characters")
		}
		if p.IsUser() && strings.TrimSpace(*raw) != p.UserID {
			return "", &requestError{status: http.StatusForbidden, detail: "Forbidden"}
		}
		userID = strings.TrimSpace(*raw)
	}
	if userID == "" {
		userID = anonymousUserID
	}
	return userID, nil
}

// taskID is a new task's id: random, or, with an Idempotency-Key header,
// derived from the caller and the key, so that a retried create of the same
// caller names the same task (and another caller's key never collides).
func taskID(p Principal, header string) (id, key string, rerr *requestError) {
	key = strings.TrimSpace(header)
	if key == "" {
		return uuid.NewString(), "", nil
	}
	if len(key) > maxIdempotencyKeyLen {
		return "", "", badRequest(fmt.Sprintf("Idempotency-Key must be at most %d characters", maxIdempotencyKeyLen))
	}
	return uuid.NewSHA1(idNamespace, []byte(p.OwnerKey+"\x00"+p.UserID+"\x00"+key)).String(), key, nil
}

// insertOrReplay stores the new task row. A retried create (same
// Idempotency-Key, so the same id) gets the row its first attempt stored
// instead, with replay set; if that attempt could not start the workflow,
// the row is queued again so this attempt starts it. Another owner's row
// under the id is a conflict.
func (s *Server) insertOrReplay(ctx context.Context, p Principal, t store.Task) (store.Task, bool, error) {
	created, err := s.Store.CreateTask(ctx, t)
	if !errors.Is(err, store.ErrConflict) || t.IdempotencyKey == "" {
		return created, false, err
	}
	prior, err := s.Store.GetTask(ctx, t.ID)
	if err == nil && !owns(p, prior) {
		err = store.ErrConflict
	}
	if err != nil {
		return store.Task{}, false, err
	}
	if prior.FailureReason == task.ReasonWorkflowStartFailed {
		prior, err = s.requeueUnstarted(ctx, t.ID)
	}
	return prior, true, err
}

// requeueUnstarted puts a task whose workflow could not be started (see
// abandonStart) back to queued, so that starting it again is a fresh start.
func (s *Server) requeueUnstarted(ctx context.Context, id string) (store.Task, error) {
	return s.Store.UpdateTask(ctx, id, func(row *store.Task) error {
		row.Status, row.FailureReason, row.Error, row.CurrentStage, row.CompletedAt = task.StatusQueued, "", "", "", nil
		return nil
	})
}

// recordCreated appends the task's TaskCreated event, under an id derived
// from the task id so the event is written once.
func (s *Server) recordCreated(ctx context.Context, t store.Task, requestID string) error {
	_, err := s.Store.AppendEvent(ctx, store.Event{
		ID: uuid.NewSHA1(idNamespace, []byte(t.ID+"/created")).String(), TaskID: t.ID, Type: task.EventTaskCreated,
		Payload: mustJSON(gin.H{"task_id": t.ID, "request_id": requestID, "user_id": t.UserID,
			"codex_version": t.CodexVersion, "template_id": nilIfEmpty(t.TemplateID),
			"template_hash": nilIfEmpty(t.TemplateHash)}),
	})
	if err != nil {
		return fmt.Errorf("appending TaskCreated: %w", err)
	}
	return nil
}

// startTask starts the task's workflow; generation > 0 is a retry, whose run
// works out itself where it continues. For a first run, finding it already
// running (a retried create) is success; a retry must start a new run, so
// there it is an error.
func (s *Server) startTask(ctx context.Context, t store.Task, generation int) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	opts := client.StartWorkflowOptions{
		ID:                    task.WorkflowID(t.ID),
		TaskQueue:             s.Config.TemporalTaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		StaticSummary:         startSummary(t, generation),
		// Findable in the Web UI from its first second; the workflow
		// starts from the same values and upserts them as the task moves.
		TypedSearchAttributes: searchattr.Initial(t.TemplateID, t.OwnerKeyHash).Attributes(),
	}
	// A new task queues by its creation time, a retry from now.
	queuedAt := t.CreatedAt
	if generation > 0 || queuedAt.IsZero() {
		queuedAt = s.Now()
	}
	in := task.Input{
		TaskID: t.ID, TemplateID: t.TemplateID, CodexVersion: t.CodexVersion, OwnerKey: t.OwnerKeyHash,
		RequestID: t.RequestID, TaskTTLDays: s.Config.TaskTTLDays,
		Generation: generation, QueuedAt: queuedAt, ApprovePlan: t.ApprovePlan,
	}
	_, err := s.Temporal.ExecuteWorkflow(ctx, opts, task.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) && generation == 0 {
		return nil
	}
	return err
}

// startSummary is the one line the Temporal Web UI shows for a task's
// workflow: its id, template and retry. Never the description: it is the
// user's own text (it may quote a credential), Temporal gets only ids and
// hashes (see workflows/README.md), and the Web UI is read by operators, not
// by the task's owner.
func startSummary(t store.Task, generation int) string {
	s := "Task " + t.ID
	if t.TemplateID != "" {
		s += " · template " + t.TemplateID
	}
	if generation > 0 {
		s += fmt.Sprintf(" · retry %d", generation)
	}
	return s
}

// abandonStart marks a task whose workflow could not be started, so it does
// not sit in "queued" forever, and answers 503.
func (s *Server) abandonStart(c *gin.Context, t store.Task, err error) {
	now := s.Now()
	_, uerr := s.Store.UpdateTask(context.WithoutCancel(c.Request.Context()), t.ID, func(row *store.Task) error {
		if row.Status == task.StatusQueued && row.Progress == 0 {
			row.Status, row.FailureReason, row.CurrentStage = task.StatusFailed, task.ReasonWorkflowStartFailed, task.StageFailed
			row.Error = "The task could not be started because Temporal was not reachable; create it again"
			row.CompletedAt = &now
		}
		return nil
	})
	if uerr != nil {
		s.logger(c).Error("could not mark unstarted task", "error", uerr)
	}
	s.temporalFailure(c, err, "start workflow")
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with plain maps of JSON-safe values
	}
	return b
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// loadOwnedTask loads :task_id and checks the caller owns it. Another owner's
// task and a malformed id get the same 404 as a task that does not exist.
func (s *Server) loadOwnedTask() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.Param("task_id")
		if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
			fail(c, http.StatusNotFound, "Task not found")
			return
		}
		t, err := s.Store.GetTask(c.Request.Context(), id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !owns(principalOf(c), t)) {
			fail(c, http.StatusNotFound, "Task not found")
			return
		}
		if err != nil {
			s.storeFailure(c, err, "load task")
			return
		}
		s.scopeTask(c, t)
		c.Next()
	}
}

// owns reports whether p may see t. JWT users own the tasks created with
// their tokens; API keys own tasks created with the same key and no user.
func owns(p Principal, t store.Task) bool {
	if p.Admin {
		return true
	}
	if p.IsUser() {
		return t.OwnerUserID != "" && t.OwnerUserID == p.UserID
	}
	return t.OwnerUserID == "" && p.OwnerKey != "" && t.OwnerKeyHash == p.OwnerKey
}

func taskOf(v any) store.Task {
	t, _ := v.(store.Task)
	return t
}

func currentTask(c *gin.Context) store.Task {
	v, _ := c.Get(ctxTask)
	return taskOf(v)
}

func (s *Server) getTask(c *gin.Context) {
	c.JSON(http.StatusOK, newTaskView(currentTask(c), s.Now()))
}

// parseLimit reads a limit query parameter within [1, max].
func parseLimit(c *gin.Context, def, maxLimit int) (int, bool) {
	raw := c.Query("limit")
	if raw == "" {
		return def, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxLimit {
		fail(c, http.StatusBadRequest, fmt.Sprintf("limit must be a whole number between 1 and %d", maxLimit))
		return 0, false
	}
	return n, true
}

func (s *Server) listTasks(c *gin.Context) {
	limit, ok := parseLimit(c, 20, 100)
	if !ok {
		return
	}
	p := principalOf(c)
	f := store.TaskFilter{Limit: limit, Before: c.Query("cursor")}
	if p.IsUser() {
		f.OwnerUserID = p.UserID
	} else {
		f.OwnerKeyHash = p.OwnerKey
	}
	if st := c.Query("status"); st != "" {
		if !task.Status(st).Valid() {
			fail(c, http.StatusBadRequest, "status must be one of queued, processing, needs_input, paused, completed, failed, cancelled")
			return
		}
		f.Status = task.Status(st)
	}
	s.writeTaskPage(c, f, gin.H{})
}

func (s *Server) writeTaskPage(c *gin.Context, f store.TaskFilter, extra gin.H) {
	page, err := s.Store.ListTasks(c.Request.Context(), f)
	if errors.Is(err, store.ErrBadCursor) {
		fail(c, http.StatusBadRequest, "cursor is not valid")
		return
	}
	if err != nil {
		s.storeFailure(c, err, "list tasks")
		return
	}
	now := s.Now()
	views := make([]task.APIView, 0, len(page.Items))
	for _, t := range page.Items {
		views = append(views, newTaskView(t, now))
	}
	body := gin.H{"tasks": views, "total": page.Total, "limit": f.Limit, "next_cursor": nilIfEmpty(page.Next)}
	for k, v := range extra {
		body[k] = v
	}
	c.JSON(http.StatusOK, body)
}

// listUserTasks serves GET /api/users/{user_id}/tasks, a route clients of the
// earlier system use: a signed-in user may list only their own id; an API key
// lists its tasks created with that user_id.
func (s *Server) listUserTasks(c *gin.Context) {
	limit, ok := parseLimit(c, 10, 100)
	if !ok {
		return
	}
	p := principalOf(c)
	userID := c.Param("user_id")
	if strings.ContainsRune(userID, 0) {
		fail(c, http.StatusBadRequest, "user_id must not contain NUL characters")
		return
	}
	f := store.TaskFilter{Limit: limit, Before: c.Query("cursor")}
	if p.IsUser() {
		if userID != p.UserID {
			fail(c, http.StatusForbidden, "Forbidden")
			return
		}
		f.OwnerUserID = p.UserID
	} else {
		f.OwnerKeyHash, f.UserID = p.OwnerKey, userID
	}
	s.writeTaskPage(c, f, gin.H{"user_id": userID})
}
