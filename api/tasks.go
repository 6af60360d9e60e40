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

func (s *Server) createTask(c *gin.Context) {
	var req createRequest
	if !bindJSON(c, &req) {
		return
	}
	p := principalOf(c)
	if req.Description == nil {
		fail(c, http.StatusBadRequest, "description is required")
		return
	}
	desc := s.redact.String(strings.TrimSpace(*req.Description))
	if desc == "" {
		fail(c, http.StatusBadRequest, "description must not be empty")
		return
	}
	if n := utf8.RuneCountInString(desc); n > s.Config.MaxDescription {
		fail(c, http.StatusBadRequest, fmt.Sprintf("description is %d characters; the limit is %d (MAX_DESCRIPTION_CHARS)", n, s.Config.MaxDescription))
		return
	}
	if strings.ContainsRune(desc, 0) {
		fail(c, http.StatusBadRequest, "description must not contain NUL characters")
		return
	}
	t := store.Task{
		Status: task.StatusQueued, Description: desc, OwnerKeyHash: p.OwnerKey, OwnerUserID: p.UserID,
		ClientIP: c.ClientIP(), RequestID: requestIDOf(c), CodexVersion: "1.0.0",
		PendingQuestions: []task.Question{}, ProvidedAnswers: map[string]any{},
	}
	if req.TemplateID != nil {
		t.TemplateID = strings.TrimSpace(*req.TemplateID)
		if t.TemplateID != "" {
			tmpl, ok := s.Catalog.Get(t.TemplateID)
			if !ok {
				fail(c, http.StatusBadRequest, "Template not found")
				return
			}
			t.TemplateHash = tmpl.Hash
		}
	}
	if req.CodexVersion != nil && strings.TrimSpace(*req.CodexVersion) != "" {
		v := strings.TrimSpace(*req.CodexVersion)
		switch {
		case len(v) > 64:
			fail(c, http.StatusBadRequest, "codex_version must be at most 64 characters")
			return
		case strings.ContainsRune(v, 0):
			fail(c, http.StatusBadRequest, "codex_version must not contain NUL characters")
			return
		}
		t.CodexVersion = v
	}
	t.UserID = p.UserID
	if req.UserID != nil && strings.TrimSpace(*req.UserID) != "" {
		if len(*req.UserID) > 128 {
			fail(c, http.StatusBadRequest, "user_id must be at most 128 characters")
			return
		}
		if strings.ContainsRune(*req.UserID, 0) {
			fail(c, http.StatusBadRequest, "user_id must not contain NUL characters")
			return
		}
		if p.Kind == "user" && strings.TrimSpace(*req.UserID) != p.UserID {
			fail(c, http.StatusForbidden, "Forbidden")
			return
		}
		t.UserID = strings.TrimSpace(*req.UserID)
	}
	if t.UserID == "" {
		t.UserID = "anonymous"
	}
	t.ID = uuid.NewString()
	if key := strings.TrimSpace(c.GetHeader("Idempotency-Key")); key != "" {
		if len(key) > 200 {
			fail(c, http.StatusBadRequest, "Idempotency-Key must be at most 200 characters")
			return
		}
		t.IdempotencyKey = key
		t.ID = uuid.NewSHA1(idNamespace, []byte(p.OwnerKey+"\x00"+p.UserID+"\x00"+key)).String()
	}
	created, err := s.Store.CreateTask(c.Request.Context(), t)
	replay := false
	if errors.Is(err, store.ErrConflict) && t.IdempotencyKey != "" {
		// A retried create: answer with the task the first attempt made.
		created, err = s.Store.GetTask(c.Request.Context(), t.ID)
		if err == nil && !owns(p, created) {
			err = store.ErrConflict
		}
		replay = err == nil
		if replay && created.FailureReason == task.ReasonWorkflowStartFailed {
			created, err = s.Store.UpdateTask(c.Request.Context(), t.ID, func(row *store.Task) error {
				row.Status, row.FailureReason, row.Error, row.CurrentStage, row.CompletedAt = task.StatusQueued, "", "", "", nil
				return nil
			})
		}
	}
	if err != nil {
		s.storeFailure(c, err, "create task")
		return
	}
	s.scopeTask(c, created)
	if !replay {
		_, err = s.Store.AppendEvent(c.Request.Context(), store.Event{
			ID: uuid.NewSHA1(idNamespace, []byte(created.ID+"/created")).String(), TaskID: created.ID, Type: task.EventTaskCreated,
			Payload: mustJSON(gin.H{"task_id": created.ID, "request_id": requestIDOf(c), "user_id": created.UserID,
				"codex_version": created.CodexVersion, "template_id": nilIfEmpty(created.TemplateID),
				"template_hash": nilIfEmpty(created.TemplateHash)}),
		})
		if err != nil {
			s.storeFailure(c, err, "task created event")
			return
		}
	}
	if err := s.startTask(c.Request.Context(), created, 0); err != nil {
		s.abandonStart(c, created, err)
		return
	}
	if s.Metrics != nil && !replay {
		s.Metrics.TaskCreated()
	}
	s.logger(c).Info("task created", "template_id", created.TemplateID, "replay", replay)
	c.JSON(http.StatusOK, gin.H{
		"task_id": created.ID, "status": created.Status, "message": "Task queued for processing",
		"progress": created.Progress, "estimated_time": 60,
	})
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
		StaticSummary:         "Task " + t.ID,
	}
	// A new task queues by its creation time, a retry from now.
	queuedAt := t.CreatedAt
	if generation > 0 || queuedAt.IsZero() {
		queuedAt = s.Now()
	}
	in := task.Input{
		TaskID: t.ID, TemplateID: t.TemplateID, CodexVersion: t.CodexVersion, OwnerKey: t.OwnerKeyHash,
		RequestID: t.RequestID, TaskTTLDays: s.Config.TaskTTLDays,
		Generation: generation, QueuedAt: queuedAt,
	}
	_, err := s.Temporal.ExecuteWorkflow(ctx, opts, task.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) && generation == 0 {
		return nil
	}
	return err
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
	if p.Kind == "user" {
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
	if p.Kind == "user" {
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

// listUserTasks keeps the reference's route: a JWT user may list only their
// own id; an API key lists its tasks created with that user_id.
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
	if p.Kind == "user" {
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
