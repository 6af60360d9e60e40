package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/tracing"
)

const (
	ctxRequestID = "request_id"
	ctxPrincipal = "principal"
	ctxTask      = "task"
	ctxLogger    = "logger"
)

// requestIDRe accepts client ids that are safe to echo and log.
var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestID echoes a sane X-Request-ID or makes a new one.
func (s *Server) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !requestIDRe.MatchString(id) {
			id = uuid.NewString()
		}
		c.Set(ctxRequestID, id)
		c.Header("X-Request-ID", id)
		// The request's span (if traced) carries its id, and its log lines
		// the trace's: either finds the other.
		ctx := c.Request.Context()
		trace.SpanFromContext(ctx).SetAttributes(attribute.String("request_id", id))
		c.Set(ctxLogger, s.Logger.With(append([]any{"request_id", id}, tracing.LogAttrs(ctx)...)...))
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDKey{}, id))
		c.Next()
	}
}

func requestIDOf(c *gin.Context) string { return c.GetString(ctxRequestID) }

// requestIDKey carries the request id in the request's context, for code
// outside this package that logs with it (the account service).
type requestIDKey struct{}

// RequestIDFrom is the id of the HTTP request ctx belongs to, "" outside one.
// Loggers built by the app add it to lines written with a context
// (InfoContext...), so services called by handlers share the request's key.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// scopeTask makes t the request's task: every later log line of the request
// (handler, errors, access log) carries its task and workflow ids.
func (s *Server) scopeTask(c *gin.Context, t store.Task) {
	c.Set(ctxTask, t)
	c.Set(ctxLogger, s.logger(c).With("task_id", t.ID, "workflow_id", task.WorkflowID(t.ID)))
}

// logger returns the request-scoped logger.
func (s *Server) logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*slog.Logger)
	}
	return s.Logger
}

// accessLog writes one structured line per request and feeds the metrics.
func (s *Server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		if s.Metrics != nil {
			s.Metrics.ObserveRequest(c.Request.Method, route, c.Writer.Status(), d)
		}
		attrs := []any{"method", c.Request.Method, "route", route, "status", c.Writer.Status(),
			"duration_ms", float64(d.Microseconds()) / 1000}
		level := slog.LevelDebug
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		} else if route == "/api/tasks" && c.Request.Method == http.MethodPost {
			level = slog.LevelInfo
		}
		s.logger(c).Log(c.Request.Context(), level, "http request", attrs...)
	}
}

// recovery turns a panic into a JSON 500 without leaking its text.
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				s.logger(c).Error("panic in handler", "panic", fmt.Sprint(r), "path", c.FullPath())
				if !c.Writer.Written() {
					fail(c, http.StatusInternalServerError, "Internal server error")
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// securityHeaders sets a strict CSP (no inline scripts) and friends.
func (s *Server) securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		c.Next()
	}
}

// exposedHeaders are readable by browser clients of other origins.
const exposedHeaders = "Retry-After, X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"

// cors allows the ALLOWED_ORIGINS (never "*" with credentials).
func (s *Server) cors() gin.HandlerFunc {
	var origins []string
	for _, o := range s.Config.AllowedOrigins {
		if o != "*" {
			origins = append(origins, strings.TrimRight(o, "/"))
		}
	}
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin != "" && slices.Contains(origins, origin) {
			h := c.Writer.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", exposedHeaders)
			h.Add("Vary", "Origin")
			if c.Request.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key, X-Request-ID, Idempotency-Key")
				h.Set("Access-Control-Max-Age", "600")
				c.AbortWithStatus(http.StatusNoContent)
				return
			}
		}
		c.Next()
	}
}
