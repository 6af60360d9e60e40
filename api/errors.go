package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"ai-platform/internal/store"
)

// retryAfterUnavailable is the Retry-After (seconds) sent with every 503: the
// outages behind one (Temporal busy or restarting, no worker polling, the
// database reconnecting) last seconds, and clients that honour the header
// back off instead of hammering a struggling service.
const retryAfterUnavailable = "5"

// fail writes the reference's error body {"detail": ...}.
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

// noPoller reports a query that found no worker polling the task queue:
// the workers are down or restarting, which is a temporary outage.
func noPoller(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no poller seen")
}

// temporalFailure answers a Temporal client error with 503 or 500.
func (s *Server) temporalFailure(c *gin.Context, err error, what string) {
	if noPoller(err) {
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
