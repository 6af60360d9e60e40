package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"ai-platform/internal/ratelimit"
)

// Rate-limit scopes, named as the earlier system named them.
const (
	ScopeCreate      = "create_task"
	ScopeRerunReview = "rerun_review"
	ScopeDownload    = "download"
	// ScopeTaskControl covers cancel, pause and unpause (retry starts a run
	// and counts against ScopeCreate).
	ScopeTaskControl = "task_control"
	// ScopeLogin and ScopeRegister limit /auth/login and /auth/register per
	// client address: nobody is signed in yet, so there is no owner to count.
	ScopeLogin    = "login"
	ScopeRegister = "register"
	// ScopeLoginFailures counts login attempts per (email, client address)
	// pair; a successful login resets the pair.
	ScopeLoginFailures = "login_failures"
)

// RateDecision is a limiter's answer for one request.
type RateDecision = ratelimit.Decision

// RateLimiter counts requests per scope and principal.
type RateLimiter interface {
	Allow(ctx context.Context, scope, key string) (RateDecision, error)
}

// RateResetter is a RateLimiter that can forget one key's count
// (ratelimit.Limiter can). It is optional so that limiters written for the
// per-owner scopes keep working; without it a successful login cannot clear
// its pair's failures, which then expire with their window.
type RateResetter interface {
	Reset(ctx context.Context, scope, key string) error
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
	return s.limitBy(scope, "requests", func(c *gin.Context) string { return principalOf(c).OwnerKey })
}

// rateLimitByAddress enforces the scope's limit per client address (see
// clientAddress), for routes used before anyone is signed in. what names
// the requests in the 429 message ("login attempts").
func (s *Server) rateLimitByAddress(scope, what string) gin.HandlerFunc {
	return s.limitBy(scope, what+" from your address", clientAddress)
}

// limitBy counts the request under key(c) in scope.
func (s *Server) limitBy(scope, what string, key func(*gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.Limiter == nil {
			c.Next()
			return
		}
		d, err := s.Limiter.Allow(c.Request.Context(), scope, key(c))
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
			s.refuseRate(c, scope, d.Reset, what)
			return
		}
		c.Next()
	}
}

// refuseRate answers 429 with Retry-After (seconds until reset, rounded up,
// at least 1) and counts the refusal under scope.
func (s *Server) refuseRate(c *gin.Context, scope string, reset time.Time, what string) {
	retry := int64(time.Until(reset).Seconds() + 0.999)
	if retry < 1 {
		retry = 1
	}
	c.Header("Retry-After", strconv.FormatInt(retry, 10))
	if s.Metrics != nil {
		s.Metrics.RateLimited(scope)
	}
	fail(c, http.StatusTooManyRequests, gin.H{"error": "rate_limited", "retry_after": retry,
		"message": "Too many " + what + "; retry after " + strconv.FormatInt(retry, 10) + " seconds"})
}
