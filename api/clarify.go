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

// questionView is what /questions, /input and /resume decide on: the live
// workflow state when the workflow runs, the store row otherwise.
type questionView struct {
	Status      task.Status
	Pending     []task.Question
	Answers     map[string]any
	ResumeFrom  string
	RequestedAt string
	// Live is false when the view comes from the store because Temporal did
	// not answer: its answers may lag behind /input calls already accepted.
	Live bool
}

func (s *Server) questionState(c *gin.Context, t store.Task) (questionView, bool) {
	v := questionView{Status: t.Status, Pending: t.PendingQuestions, Answers: t.ProvidedAnswers, ResumeFrom: t.ResumeFromStage}
	live, ok, err := s.liveState(c.Request.Context(), t)
	if err != nil {
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
		case t.Status == task.StatusNeedsInput && (temporalUnavailable(err) || s.noWorker(c, err)):
			// A busy Temporal or no worker right now: the row, written when the
			// questions were asked, holds the same questions; the workflow
			// validates answers again when it receives them.
			s.logger(c).Warn("state query failed; answering questions from the store", "task_id", t.ID, "error", err)
		default:
			s.temporalFailure(c, err, "query task state")
			return v, false
		}
	}
	v.Live = ok
	if ok {
		v.Status, v.Pending, v.Answers, v.RequestedAt = live.Status, live.PendingQuestions, live.ProvidedAnswers, live.RequestedAt
		if live.ResumeFromStage != "" {
			v.ResumeFrom = live.ResumeFromStage
		}
	}
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
	return v, true
}

func (s *Server) getQuestions(c *gin.Context) {
	t := currentTask(c)
	v, ok := s.questionState(c, t)
	if !ok {
		return
	}
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

// awaitingInput reads the current task's questions for /input and /resume,
// which only a task waiting in needs_input accepts; it answers the request
// itself (409 for a task in another state) when it returns false.
func (s *Server) awaitingInput(c *gin.Context) (store.Task, questionView, bool) {
	t := currentTask(c)
	v, ok := s.questionState(c, t)
	if !ok {
		return t, v, false
	}
	if v.Status != task.StatusNeedsInput {
		notAwaiting(c, v.Status)
		return t, v, false
	}
	return t, v, true
}

func notAwaiting(c *gin.Context, status task.Status) {
	failCode(c, http.StatusConflict, "task_not_awaiting_input",
		"The task is "+string(status)+"; answers and resume are accepted only while it is needs_input", gin.H{"status": status})
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
	t, v, ok := s.awaitingInput(c)
	if !ok {
		return
	}
	if problems := task.ValidateAnswers(v.Pending, req.Answers); problems != nil {
		ids := task.SortedKeys(problems)
		failCode(c, http.StatusBadRequest, "invalid_answers", "Some answers do not fit the pending questions",
			gin.H{"invalid": ids, "problems": problems})
		return
	}
	for id, a := range req.Answers {
		switch x := a.(type) {
		case string:
			req.Answers[id] = s.redact.String(x)
		case map[string]any:
			// A plan revision's instructions, say.
			for k, e := range x {
				if str, ok := e.(string); ok {
					x[k] = s.redact.String(str)
				}
			}
		}
	}
	merged := task.MergeAnswers(v.Answers, req.Answers)
	missing := task.MissingRequired(v.Pending, merged)
	resume := req.AutoResume && len(missing) == 0
	sig := task.InputSignal{Answers: req.Answers, AutoResume: resume, RequestID: requestIDOf(c)}
	if !s.signal(c, t, task.SignalInput, sig) {
		return
	}
	if resume {
		c.JSON(http.StatusOK, gin.H{"task_id": t.ID, "status": task.StatusQueued, "resume_from_stage": v.ResumeFrom,
			"provided_answers": merged})
		return
	}
	c.JSON(http.StatusOK, gin.H{"task_id": t.ID, "status": "input_saved", "provided_answers": merged, "missing": missing})
}

func (s *Server) postResume(c *gin.Context) {
	t, v, ok := s.awaitingInput(c)
	if !ok {
		return
	}
	missing := task.MissingRequired(v.Pending, v.Answers)
	if len(missing) > 0 && !v.Live {
		// The stored answers are written after the workflow takes in an
		// /input; with Temporal busy that may not have happened yet, so
		// "missing" cannot be told from "not recorded yet".
		fail(c, http.StatusServiceUnavailable,
			"The workflow service (Temporal) is busy and could not confirm the answers yet; try again shortly")
		return
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		failCode(c, http.StatusBadRequest, "missing_answers", "Please answer all required questions before resuming.",
			gin.H{"missing": missing})
		return
	}
	if !s.signal(c, t, task.SignalResume, task.ResumeSignal{RequestID: requestIDOf(c)}) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"task_id": t.ID, "status": task.StatusQueued, "resume_from_stage": v.ResumeFrom})
}

// signal sends a signal to the task's workflow; it answers the request
// itself when that fails.
func (s *Server) signal(c *gin.Context, t store.Task, name string, arg any) bool {
	ctx, cancel := context.WithTimeout(c.Request.Context(), signalTimeout)
	defer cancel()
	err := s.Temporal.SignalWorkflow(ctx, task.WorkflowID(t.ID), "", name, arg)
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		return true
	case errors.As(err, &nf):
		failCode(c, http.StatusConflict, "task_not_running", "The task's workflow is no longer running", gin.H{"status": t.Status})
	default:
		s.temporalFailure(c, err, "signal "+name)
	}
	return false
}
