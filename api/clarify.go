package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// maxAnswers bounds one /input call.
const maxAnswers = 50

// questionView is what GET /questions shows: the task row, which is the
// exact projection /input and /resume decide on (see decideOnRow).
type questionView struct {
	Status      task.Status
	Pending     []task.Question
	Answers     map[string]any
	ResumeFrom  string
	RequestedAt string
}

func (s *Server) questionState(c *gin.Context, t store.Task) questionView {
	v := questionView{Status: t.Status, Pending: t.PendingQuestions, Answers: t.ProvidedAnswers, ResumeFrom: t.ResumeFromStage}
	if v.Pending == nil {
		v.Pending = []task.Question{}
	}
	if v.Answers == nil {
		v.Answers = map[string]any{}
	}
	if v.Status == task.StatusNeedsInput {
		// One source for when the questions were asked, live or not: the
		// round's clarification_questions artifact (the workflow's own clock
		// reading differs by the time its Clarify step took to report, so
		// answers from the query and from the store fallback would disagree).
		if a, err := s.Store.LatestArtifact(c.Request.Context(), t.ID, task.ArtifactClarificationQuestions); err == nil {
			var p struct {
				RequestedAt string `json:"requested_at"`
			}
			if json.Unmarshal(a.Payload, &p) == nil && p.RequestedAt != "" {
				v.RequestedAt = p.RequestedAt
			} else {
				v.RequestedAt = task.FormatTime(a.CreatedAt)
			}
		}
	}
	return v
}

func (s *Server) getQuestions(c *gin.Context) {
	t := currentTask(c)
	v := s.questionState(c, t)
	pending := v.Pending
	if v.Status != task.StatusNeedsInput {
		pending = []task.Question{}
	}
	c.JSON(http.StatusOK, gin.H{"task_id": t.ID, "status": v.Status, "pending_questions": pending,
		"provided_answers": v.Answers, "resume_from_stage": nilIfEmpty(v.ResumeFrom), "requested_at": nilIfEmpty(v.RequestedAt),
		"missing": task.MissingRequired(pending, v.Answers)})
}

type inputRequest struct {
	Answers    map[string]any `json:"answers"`
	AutoResume bool           `json:"auto_resume"`
}

// answersWithNUL lists, sorted, the answer ids whose id or value holds
// U+0000. The store cannot keep NUL in text and would keep the escape \x00
// instead (see store.CleanText), so an answer that is not what the user typed
// would reach the model and the task page; it is refused instead, by name.
func answersWithNUL(answers map[string]any) []string {
	var ids []string
	for _, id := range task.SortedKeys(answers) {
		if strings.ContainsRune(id, 0) || valueHasNUL(answers[id]) {
			ids = append(ids, id)
		}
	}
	return ids
}

// valueHasNUL reports whether a decoded JSON value holds U+0000 in any
// string, object keys included.
func valueHasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, 0)
	case []any:
		return slices.ContainsFunc(x, valueHasNUL)
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) || valueHasNUL(e) {
				return true
			}
		}
	}
	return false
}

func notAwaiting(c *gin.Context, status task.Status) {
	failCode(c, http.StatusConflict, "task_not_awaiting_input",
		"The task is "+string(status)+"; answers and resume are accepted only while it is needs_input", gin.H{"status": status})
}

// The outcomes of a decision taken on the locked task row, which abort the
// row's update (nothing is written) and are answered by the handler.
type (
	errNotAwaiting  struct{ status task.Status }
	errBadAnswers   struct{ problems map[string]string }
	errMissing      struct{ missing []string }
	errSignalFailed struct{ err error }
)

func (e errNotAwaiting) Error() string  { return "task is " + string(e.status) }
func (e errBadAnswers) Error() string   { return "answers do not fit the pending questions" }
func (e errMissing) Error() string      { return "required answers missing" }
func (e errSignalFailed) Error() string { return "signal failed: " + e.err.Error() }
func (e errSignalFailed) Unwrap() error { return e.err }

// decideOnRow is how /input and /resume decide, without asking the
// workflow: decide runs on the task row under its lock (store.UpdateTask)
// and signals the workflow from there, so the row changes it makes are
// written only when the signal was accepted, and no other /input or
// /resume can decide on the same row meanwhile. The row is an exact
// projection of the wait: the workflow writes needs_input and the pending
// questions before it waits for them, /input writes the answers it accepts
// and /resume (or auto_resume) the queued status, so a second call sees the
// first one's outcome. A signal that still reaches a workflow that moved on
// (cancelled, timed out) is ignored by it.
func (s *Server) decideOnRow(c *gin.Context, decide func(row *store.Task) error) (store.Task, bool) {
	t := currentTask(c)
	row, err := s.Store.UpdateTask(c.Request.Context(), t.ID, decide)
	var (
		na  errNotAwaiting
		bad errBadAnswers
		mis errMissing
		sig errSignalFailed
	)
	switch {
	case err == nil:
		return row, true
	case errors.As(err, &na):
		notAwaiting(c, na.status)
	case errors.As(err, &bad):
		failCode(c, http.StatusBadRequest, "invalid_answers", "Some answers do not fit the pending questions",
			gin.H{"invalid": task.SortedKeys(bad.problems), "problems": bad.problems})
	case errors.As(err, &mis):
		failCode(c, http.StatusBadRequest, "missing_answers", "Please answer all required questions before resuming.",
			gin.H{"missing": mis.missing})
	case errors.As(err, &sig):
		s.signalFailure(c, t, sig.err)
	default:
		s.storeFailure(c, err, "deciding on answers")
	}
	return row, false
}

// redactAnswers replaces secrets in answer text before it is stored or
// reaches the workflow.
func (s *Server) redactAnswers(answers map[string]any) map[string]any {
	out := make(map[string]any, len(answers))
	for id, a := range answers {
		switch x := a.(type) {
		case string:
			out[id] = s.redact.String(x)
		case map[string]any:
			// A plan revision's instructions, say.
			m := make(map[string]any, len(x))
			for k, e := range x {
				if str, ok := e.(string); ok {
					e = s.redact.String(str)
				}
				m[k] = e
			}
			out[id] = m
		default:
			out[id] = a
		}
	}
	return out
}

func (s *Server) postInput(c *gin.Context) {
	var req inputRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.Answers == nil {
		req.Answers = map[string]any{}
	}
	if len(req.Answers) > maxAnswers {
		fail(c, http.StatusBadRequest, fmt.Sprintf("at most %d answers per request", maxAnswers))
		return
	}
	if ids := answersWithNUL(req.Answers); len(ids) > 0 {
		problems := map[string]string{}
		for _, id := range ids {
			problems[id] = "must not contain NUL characters"
		}
		failCode(c, http.StatusBadRequest, "invalid_answers", fmt.Sprintf("answers[%q] must not contain NUL characters", ids[0]),
			gin.H{"invalid": ids, "problems": problems})
		return
	}
	answers := s.redactAnswers(req.Answers)
	var missing []string
	var resume bool
	row, ok := s.decideOnRow(c, func(row *store.Task) error {
		if row.Status != task.StatusNeedsInput {
			return errNotAwaiting{row.Status}
		}
		// Validated as typed: a redacted choice would no longer match.
		if problems := task.ValidateAnswers(row.PendingQuestions, req.Answers); problems != nil {
			return errBadAnswers{problems}
		}
		merged := task.MergeAnswers(row.ProvidedAnswers, answers)
		missing = task.MissingRequired(row.PendingQuestions, merged)
		resume = req.AutoResume && len(missing) == 0
		sig := task.InputSignal{Answers: answers, AutoResume: resume, RequestID: requestIDOf(c), Recorded: true}
		if err := s.signalTask(c, row.ID, task.SignalInput, sig); err != nil {
			return errSignalFailed{err}
		}
		row.ProvidedAnswers = merged
		if resume {
			row.Status = task.StatusQueued
		}
		return nil
	})
	if !ok {
		return
	}
	if resume {
		c.JSON(http.StatusOK, gin.H{"task_id": row.ID, "status": task.StatusQueued, "resume_from_stage": row.ResumeFromStage,
			"provided_answers": row.ProvidedAnswers})
		return
	}
	c.JSON(http.StatusOK, gin.H{"task_id": row.ID, "status": "input_saved", "provided_answers": row.ProvidedAnswers, "missing": missing})
}

func (s *Server) postResume(c *gin.Context) {
	row, ok := s.decideOnRow(c, func(row *store.Task) error {
		if row.Status != task.StatusNeedsInput {
			return errNotAwaiting{row.Status}
		}
		if missing := task.MissingRequired(row.PendingQuestions, row.ProvidedAnswers); len(missing) > 0 {
			sort.Strings(missing)
			return errMissing{missing}
		}
		if err := s.signalTask(c, row.ID, task.SignalResume, task.ResumeSignal{RequestID: requestIDOf(c)}); err != nil {
			return errSignalFailed{err}
		}
		row.Status = task.StatusQueued
		return nil
	})
	if !ok {
		return
	}
	c.JSON(http.StatusOK, gin.H{"task_id": row.ID, "status": task.StatusQueued, "resume_from_stage": row.ResumeFromStage})
}

// signalTask sends a signal to a task's workflow within signalTimeout.
func (s *Server) signalTask(c *gin.Context, taskID, name string, arg any) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), signalTimeout)
	defer cancel()
	if err := s.Temporal.SignalWorkflow(ctx, task.WorkflowID(taskID), "", name, arg); err != nil {
		return fmt.Errorf("signal %s: %w", name, err)
	}
	return nil
}

// signal sends a signal to the task's workflow; it answers the request
// itself when that fails.
func (s *Server) signal(c *gin.Context, t store.Task, name string, arg any) bool {
	if err := s.signalTask(c, t.ID, name, arg); err != nil {
		s.signalFailure(c, t, err)
		return false
	}
	return true
}

// signalFailure answers a request whose signal Temporal refused: 409 for a
// workflow that has closed, 503 or 500 otherwise.
func (s *Server) signalFailure(c *gin.Context, t store.Task, err error) {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		failCode(c, http.StatusConflict, "task_not_running", "The task's workflow is no longer running", gin.H{"status": t.Status})
		return
	}
	s.temporalFailure(c, err, "signal")
}
