// Package api is the HTTP face of the platform: a Gin router whose handlers
// validate requests, check ownership in the store, and start, signal and
// query task workflows.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"ai-platform/internal/auth"
	"ai-platform/internal/config"
	"ai-platform/internal/live"
	"ai-platform/internal/redact"
	"ai-platform/internal/store"
	"ai-platform/internal/workspace"
)

// Version is the API version reported at / and in the OpenAPI document.
const Version = "1.0.0"

// Store is the part of the store the API uses: it reads and writes tasks,
// reads their log, files and usage, and pings the database for /ready. It
// never touches accounts (the auth service does) or purges (the retention
// activity does).
type Store interface {
	store.TaskStore
	store.EventLog
	store.FileStore
	store.UsageStore
	store.Pinger
}

// Deps are the dependencies of the HTTP server.
type Deps struct {
	Config   config.Config
	Store    Store
	Temporal client.Client
	Catalog  *workspace.Catalog
	Logger   *slog.Logger
	// Auth authenticates requests; nil builds one for AUTH_MODE.
	Auth Authenticator
	// Accounts serves /auth/* and verifies access tokens (auth/hybrid modes).
	Accounts *auth.Service
	// Web serves the browser UI at /; nil serves a minimal page.
	Web http.Handler
	// Limiter enforces per-principal rate limits; nil disables them.
	Limiter RateLimiter
	// Metrics observes requests; nil disables it.
	Metrics Metrics
	// Extra registers more routes (auth endpoints, metrics) on the engine.
	Extra []func(*gin.Engine)
	Now   func() time.Time
	// WatchEvery is how often a WebSocket checks its task for changes.
	WatchEvery time.Duration
	// Secrets are scrubbed from anything a client sends before it is stored.
	Secrets []string
	// TemporalUIURL, when known, lets the web UI link a task to its workflow.
	TemporalUIURL string
	// Live carries what the models write while a task runs to WebSocket
	// clients that opt in; nil sends none.
	Live *live.Hub
	// TracerProvider, when set, gives every request a server span (W3C
	// traceparent honoured), the parent of what the handler starts in
	// Temporal; nil traces nothing.
	TracerProvider trace.TracerProvider
}

// Server holds the handlers' dependencies.
type Server struct {
	Deps
	engine *gin.Engine
	redact *redact.Redactor
	counts liveCounts
}

// New builds the router.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	if d.Auth == nil {
		d.Auth = NewAuthenticator(d.Config, d.Accounts)
	}
	if d.Catalog == nil {
		d.Catalog = workspace.EmptyCatalog()
	}
	if d.WatchEvery <= 0 {
		d.WatchEvery = 300 * time.Millisecond
	}
	gin.SetMode(gin.ReleaseMode)
	s := &Server{Deps: d, engine: gin.New(), redact: redact.New(d.Secrets...)}
	// Gin trusts every X-Forwarded-For by default, which lets any caller
	// choose the IP recorded on its tasks and sessions; trust only the
	// configured proxies (validated by config, so this cannot fail).
	if err := s.engine.SetTrustedProxies(d.Config.TrustedProxies); err != nil {
		d.Logger.Error("TRUSTED_PROXIES rejected; trusting no proxy", "error", err)
		_ = s.engine.SetTrustedProxies(nil)
	}
	s.routes()
	return s
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Engine exposes the router for extra registrations in tests.
func (s *Server) Engine() *gin.Engine { return s.engine }

func (s *Server) routes() {
	e := s.engine
	e.HandleMethodNotAllowed = true
	e.Use(s.recovery())
	if s.TracerProvider != nil {
		// Inside recovery (a panic is answered 500 and the span says so),
		// before the request id, so the request's logger and access log
		// carry the trace id.
		e.Use(s.tracing())
	}
	e.Use(s.requestID(), s.accessLog(), s.securityHeaders(), s.cors())
	e.NoRoute(func(c *gin.Context) { fail(c, http.StatusNotFound, "Not found") })
	e.NoMethod(func(c *gin.Context) { fail(c, http.StatusMethodNotAllowed, "Method not allowed") })

	e.GET("/", s.root)
	e.GET("/health", s.health)
	e.GET("/ready", s.ready)
	e.GET("/api/openapi.json", s.openapi)
	e.GET("/api/config", s.publicConfig)
	e.GET("/ops/status", s.authenticate(), s.requireAdmin(), s.opsStatus)
	e.GET("/ws/:task_id", s.websocket)

	a := e.Group("/api", s.authenticate())
	a.GET("/templates", s.listTemplates)
	a.GET("/usage", s.getUsage)
	a.POST("/tasks", s.rateLimit(ScopeCreate), s.createTask)
	a.GET("/tasks", s.listTasks)
	a.GET("/users/:user_id/tasks", s.listUserTasks)

	t := a.Group("/tasks/:task_id", s.loadOwnedTask())
	t.GET("", s.getTask)
	t.GET("/events", s.listEvents)
	t.GET("/artifacts", s.listArtifacts)
	t.GET("/artifacts/:artifact_id", s.getArtifact)
	t.GET("/state", s.getState)
	t.GET("/files", s.listFiles)
	t.GET("/files/*path", s.getFile)
	t.GET("/patch", s.getPatch)
	t.GET("/questions", s.getQuestions)
	t.POST("/input", s.postInput)
	t.POST("/resume", s.postResume)
	t.POST("/rerun-review", s.rateLimit(ScopeRerunReview), s.rerunReview)
	t.POST("/cancel", s.rateLimit(ScopeTaskControl), s.cancelTask)
	t.POST("/pause", s.rateLimit(ScopeTaskControl), s.pauseTask)
	t.POST("/unpause", s.rateLimit(ScopeTaskControl), s.unpauseTask)
	t.POST("/retry", s.rateLimit(ScopeCreate), s.retryTask)
	t.POST("/download", s.rateLimit(ScopeDownload), s.downloadZip)
	t.GET("/download.zip", s.rateLimit(ScopeDownload), s.downloadZip)
	t.GET("/git-export.zip", s.rateLimit(ScopeDownload), s.gitExportZip)

	s.authRoutes(e)
	for _, f := range s.Extra {
		f(e)
	}
	if s.Web != nil {
		e.GET("/app/*path", gin.WrapH(s.Web))
		e.GET("/assets/*path", gin.WrapH(s.Web))
	}
}
