package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"ai-platform/internal/store"
)

// retryAfterUnavailable is the Retry-After (seconds) sent with every 503: the
// outages behind one (Temporal busy or restarting, no worker polling, the
// database reconnecting) last seconds, and clients that honour the header
// back off instead of hammering a struggling service.
const retryAfterUnavailable = "5"

// fail writes the error body every client reads: {"detail": ...}.
func fail(c *gin.Context, status int, detail any) {
	if status == http.StatusServiceUnavailable && c.Writer.Header().Get("Retry-After") == "" {
		c.Header("Retry-After", retryAfterUnavailable)
	}
	c.AbortWithStatusJSON(status, gin.H{"detail": detail})
}

// failCode writes a structured error {"detail": {"error": code, "message": ..., extra...}}.
func failCode(c *gin.Context, status int, code, message string, extra gin.H) {
	d := gin.H{"error": code, "message": message}
	for k, v := range extra {
		d[k] = v
	}
	fail(c, status, d)
}

// Messages clients see for infrastructure failures; never an internal error text.
const (
	msgTemporalDown = "The workflow service (Temporal) is not reachable right now; try again shortly"
	msgStoreDown    = "The database is not reachable right now; try again shortly"
	msgInternal     = "Internal server error"
)

// storeFailure answers a store error with 503 (unreachable) or 500.
func (s *Server) storeFailure(c *gin.Context, err error, what string) {
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		s.logger(c).Warn("store unavailable", "what", what, "error", err)
		fail(c, http.StatusServiceUnavailable, msgStoreDown)
		return
	}
	s.logger(c).Error("store failure", "what", what, "error", err)
	fail(c, http.StatusInternalServerError, msgInternal)
}

// temporalUnavailable reports whether err means Temporal could not be reached
// (as opposed to a definite answer such as "workflow not found").
func temporalUnavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var exhausted *serviceerror.ResourceExhausted
	return errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &exhausted)
}

// recentPollerWindow is how recently a worker must have polled the task
// queue to count as present. Temporal refuses a query with "no poller seen"
// when nothing polled for two minutes, while DescribeTaskQueue keeps listing a
// poller for five minutes after its last poll; a worker that stopped between
// the two is gone.
const recentPollerWindow = 2 * time.Minute

// noWorker reports whether err means no worker is polling the task queue:
// the workers are down or restarting, which is a temporary outage. Temporal
// says so with a FailedPrecondition status (serviceerror.FailedPrecondition
// in the client) and no error type of its own, and FailedPrecondition also
// covers other refusals, so a DescribeTaskQueue of the configured queue
// confirms it: no worker polled recently. When that call fails, nothing is
// confirmed.
func (s *Server) noWorker(c *gin.Context, err error) bool {
	var precondition *serviceerror.FailedPrecondition
	if !errors.As(err, &precondition) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), queryTimeout)
	defer cancel()
	resp, derr := s.Temporal.DescribeTaskQueue(ctx, s.Config.TemporalTaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if derr != nil {
		s.logger(c).Warn("could not describe the task queue to tell a missing worker", "error", derr)
		return false
	}
	since := s.Now().Add(-recentPollerWindow)
	for _, p := range resp.GetPollers() {
		if p.GetLastAccessTime() == nil || p.GetLastAccessTime().AsTime().After(since) {
			return false
		}
	}
	return true
}

// temporalFailure answers a Temporal client error with 503 or 500.
func (s *Server) temporalFailure(c *gin.Context, err error, what string) {
	if s.noWorker(c, err) {
		s.logger(c).Warn("no worker is polling", "what", what, "error", err)
		fail(c, http.StatusServiceUnavailable, "No worker is running right now; try again shortly")
		return
	}
	if temporalUnavailable(err) {
		s.logger(c).Warn("temporal unavailable", "what", what, "error", err)
		fail(c, http.StatusServiceUnavailable, msgTemporalDown)
		return
	}
	s.logger(c).Error("temporal failure", "what", what, "error", err)
	fail(c, http.StatusInternalServerError, msgInternal)
}
