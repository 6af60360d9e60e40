package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"ai-platform/internal/ratelimit"
)

// Rate-limit scopes, as in the reference.
const (
	ScopeCreate      = "create_task"
	ScopeRerunReview = "rerun_review"
	ScopeDownload    = "download"
	// ScopeTaskControl covers cancel, pause and unpause (retry starts a run
	// and counts against ScopeCreate).
	ScopeTaskControl = "task_control"
)

// RateDecision is a limiter's answer for one request.
type RateDecision = ratelimit.Decision

// RateLimiter counts requests per scope and principal.
type RateLimiter interface {
	Allow(ctx context.Context, scope, key string) (RateDecision, error)
}

// Metrics receives request and domain observations.
type Metrics interface {
	ObserveRequest(method, route string, status int, d time.Duration)
	RateLimited(scope string)
	TaskCreated()
}

// rateLimit enforces the scope's per-principal limit: 429 with Retry-After
// and X-RateLimit-* headers. It runs after authentication; on routes under
// /api/tasks/{id} also after the ownership check, so probing someone else's
// task ids (404) never uses up the caller's allowance.
func (s *Server) rateLimit(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.Limiter == nil {
			c.Next()
			return
		}
		p := principalOf(c)
		d, err := s.Limiter.Allow(c.Request.Context(), scope, p.OwnerKey)
		if err != nil {
			// A limiter outage must not take the API down; it is logged and
			// the request goes through.
			s.logger(c).Error("rate limiter unavailable; allowing request", "scope", scope, "error", err)
			c.Next()
			return
		}
		if !d.Enabled {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("X-RateLimit-Limit", strconv.FormatInt(d.Limit, 10))
		h.Set("X-RateLimit-Remaining", strconv.FormatInt(max(0, d.Remaining), 10))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(d.Reset.Unix(), 10))
		if !d.Allowed {
			retry := int64(time.Until(d.Reset).Seconds() + 0.999)
			if retry < 1 {
				retry = 1
			}
			h.Set("Retry-After", strconv.FormatInt(retry, 10))
			if s.Metrics != nil {
				s.Metrics.RateLimited(scope)
			}
			fail(c, http.StatusTooManyRequests, gin.H{"error": "rate_limited", "retry_after": retry,
				"message": "Too many requests; retry after " + strconv.FormatInt(retry, 10) + " seconds"})
			return
		}
		c.Next()
	}
}
