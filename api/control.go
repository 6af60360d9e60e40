package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	enumspb "go.temporal.io/api/enums/v1"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

func (s *Server) cancelTask(c *gin.Context) {
	t := currentTask(c)
	switch {
	case t.Status == task.StatusCancelled:
		c.JSON(http.StatusOK, gin.H{"task_id": t.ID, "status": t.Status})
		return
	case t.Status.Terminal():
		failCode(c, http.StatusConflict, "task_already_finished", "The task has already ended as "+string(t.Status), gin.H{"status": t.Status})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), signalTimeout)
	defer cancel()
	err := s.Temporal.CancelWorkflow(ctx, task.WorkflowID(t.ID), "")
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		s.temporalFailure(c, err, "cancel workflow")
		return
	}
	s.logger(c).Info("task cancel requested")
	c.JSON(http.StatusAccepted, gin.H{"task_id": t.ID, "status": "cancelling"})
}

func (s *Server) pauseTask(c *gin.Context) {
	t := currentTask(c)
	if t.Status.Terminal() {
		failCode(c, http.StatusConflict, "task_already_finished", "The task has already ended as "+string(t.Status), gin.H{"status": t.Status})
		return
	}
	if t.Status == task.StatusPaused {
		c.JSON(http.StatusOK, gin.H{"task_id": t.ID, "status": t.Status})
		return
	}
	if !s.signal(c, t, task.SignalPause, nil) {
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"task_id": t.ID, "status": "pausing",
		"message": "The task pauses before its next step"})
}

func (s *Server) unpauseTask(c *gin.Context) {
	t := currentTask(c)
	live, ok, err := s.liveState(c.Request.Context(), t)
	if err != nil {
		s.temporalFailure(c, err, "query task state")
		return
	}
	if !ok || (live.Status != task.StatusPaused && !live.PauseRequested) {
		failCode(c, http.StatusConflict, "task_not_paused", "The task is not paused", gin.H{"status": t.Status})
		return
	}
	if !s.signal(c, t, task.SignalUnpause, nil) {
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"task_id": t.ID, "status": task.StatusQueued})
}

// retryTask starts a new run of a failed task under the same workflow id
// (Temporal allows that only after a failure). The API only flips the row
// back to queued and starts the run; the run itself works out from the store
// where it continues (keeping the stored research, design, answers and
// files) and names that step in its first StageStarted event.
func (s *Server) retryTask(c *gin.Context) {
	t := currentTask(c)
	if t.Status != task.StatusFailed {
		failCode(c, http.StatusConflict, "task_not_failed", "Only failed tasks can be retried; this one is "+string(t.Status),
			gin.H{"status": t.Status})
		return
	}
	// The failed run records its failure just before its workflow closes;
	// a retry must wait for that, or Temporal would see the id still in use.
	if err := s.awaitClosed(c.Request.Context(), task.WorkflowID(t.ID)); err != nil {
		if temporalUnavailable(err) {
			s.temporalFailure(c, err, "describe workflow")
			return
		}
		failCode(c, http.StatusConflict, "task_still_finishing", "The failed run is still closing; retry in a moment", nil)
		return
	}
	var prev store.Task
	updated, err := s.Store.UpdateTask(c.Request.Context(), t.ID, func(row *store.Task) error {
		prev = *row
		if row.Status != task.StatusFailed {
			return store.ErrConflict
		}
		row.Generation++
		row.Status, row.CurrentStage, row.FailureReason, row.Error, row.CompletedAt = task.StatusQueued, "", "", "", nil
		row.Result = nil
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		failCode(c, http.StatusConflict, "task_not_failed", "The task is no longer failed", nil)
		return
	}
	if err != nil {
		s.storeFailure(c, err, "retry task")
		return
	}
	_, _ = s.Store.AppendEvent(c.Request.Context(), store.Event{
		ID: uuid.NewSHA1(idNamespace, []byte(t.ID+"/retry/"+uuid.NewString())).String(), TaskID: t.ID, Type: task.EventTaskRetried,
		Payload: mustJSON(gin.H{"task_id": t.ID, "generation": updated.Generation,
			"previous_failure_reason": prev.FailureReason, "request_id": requestIDOf(c)}),
	})
	if err := s.startTask(c.Request.Context(), updated, updated.Generation); err != nil {
		_, _ = s.Store.UpdateTask(context.WithoutCancel(c.Request.Context()), t.ID, func(row *store.Task) error {
			row.Status, row.FailureReason, row.Error, row.CompletedAt = prev.Status, prev.FailureReason, prev.Error, prev.CompletedAt
			row.Result = prev.Result
			return nil
		})
		s.temporalFailure(c, err, "start retry")
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"task_id": t.ID, "status": task.StatusQueued, "generation": updated.Generation})
}

// rerunReview starts a review run as its own workflow (one at a time per
// task) and answers 202 with its run id.
func (s *Server) rerunReview(c *gin.Context) {
	t := currentTask(c)
	if !t.Status.Terminal() {
		failCode(c, http.StatusConflict, "task_running",
			"The task is still "+string(t.Status)+"; rerun the review once it has ended", gin.H{"status": t.Status})
		return
	}
	runID := uuid.NewString()
	ctx, cancel := context.WithTimeout(c.Request.Context(), startTimeout)
	defer cancel()
	opts := client.StartWorkflowOptions{
		ID: task.ReviewWorkflowID(t.ID), TaskQueue: s.Config.TemporalTaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}
	in := task.ReviewRun{TaskID: t.ID, RunID: runID, OwnerKey: t.OwnerKeyHash, RequestID: requestIDOf(c)}
	_, err := s.Temporal.ExecuteWorkflow(ctx, opts, task.ReviewWorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		failCode(c, http.StatusConflict, "review_in_progress", "A review rerun of this task is already running", nil)
		return
	}
	if err != nil {
		s.temporalFailure(c, err, "start review")
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"task_id": t.ID, "run_id": runID, "status": "started",
		"workflow_id": task.ReviewWorkflowID(t.ID)})
}

// awaitClosed waits (bounded) until the workflow's current run has closed.
func (s *Server) awaitClosed(ctx context.Context, workflowID string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		desc, err := s.Temporal.DescribeWorkflow(ctx, workflowID, "")
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			return nil
		case err != nil:
			return err
		case desc.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("workflow still running")
		case <-time.After(100 * time.Millisecond):
		}
	}
}
