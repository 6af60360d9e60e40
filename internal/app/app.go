// Package app wires the platform together from a Config: the store, the
// Temporal client, the HTTP API and the worker. The cmd package only parses
// the subcommand and calls in here.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"ai-platform/internal/codex"
	"ai-platform/internal/config"
	"ai-platform/internal/live"
	"ai-platform/internal/metrics"
	"ai-platform/internal/store"
	"ai-platform/internal/tracing"
	"ai-platform/internal/workspace"
	"ai-platform/templates"
)

// App holds what the API and the worker share.
type App struct {
	Config  config.Config
	Log     *slog.Logger
	Store   store.Store
	Catalog *workspace.Catalog
	Codex   *codex.Codex
	// Metrics is the process's Prometheus registry, shared by the API,
	// the worker and the Temporal client.
	Metrics *metrics.Metrics
	// Live carries what the models write, from the worker to the API's
	// WebSockets (see newLiveHub).
	Live *live.Hub
	// Tracing is the process's OpenTelemetry tracing (StartTracing); nil
	// traces nothing.
	Tracing *tracing.Tracing
	// searchAttrsReady is set once the namespace is known to have the
	// task search attributes (ensureSearchAttributes).
	searchAttrsReady bool
	// closers release what the API built (the rate limiter's Redis client).
	closers []func() error
}

// NewLogger builds the process logger from LOG_LEVEL and LOG_FORMAT. Lines
// logged with a context that carries a span get its trace_id and span_id.
func NewLogger(cfg config.Config) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn,
		"error": slog.LevelError}[cfg.LogLevel]
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(tracing.LogHandler(slog.NewTextHandler(os.Stderr, opts)))
	}
	return slog.New(tracing.LogHandler(slog.NewJSONHandler(os.Stderr, opts)))
}

// Open loads the codex and templates and opens the store. Lines log
// writes with a context that carries a span get its trace ids.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	log = slog.New(tracing.LogHandler(log.Handler()))
	cx, err := codex.Load(cfg.CodexPath)
	if err != nil {
		return nil, err
	}
	catalog, err := loadCatalog(cfg)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.APIKeyHashSecret, err = apiKeyHashSecret(ctx, cfg, st, log); err != nil {
		return nil, errors.Join(err, st.Close())
	}
	// Hybrid mode accepts API keys too, so it is just as open without one.
	if cfg.AuthMode != config.AuthJWT && cfg.AppAPIKey == "" {
		log.Warn("APP_API_KEY is unset: every distinct X-API-Key is its own tenant (anyone can create tasks). "+
			"Set APP_API_KEY for a private deployment.", "auth_mode", cfg.AuthMode)
	}
	hub, err := newLiveHub(cfg, log)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	return &App{Config: cfg, Log: log, Store: st, Catalog: catalog, Codex: cx, Metrics: metrics.New(log), Live: hub}, nil
}

// Close releases the store, whatever the API built and the Temporal
// metrics scope.
func (a *App) Close() error {
	for _, c := range a.closers {
		if err := c(); err != nil {
			a.Log.Warn("closing", "error", err)
		}
	}
	if a.Live != nil {
		a.Live.Close()
	}
	// Last: the spans of everything above are ended by now.
	return errors.Join(a.Store.Close(), a.Metrics.Close(), a.Tracing.Shutdown())
}

func loadCatalog(cfg config.Config) (*workspace.Catalog, error) {
	var fsys fs.FS = templates.FS
	source := "embedded templates"
	if st, err := os.Stat(cfg.TemplatesRoot); err == nil && st.IsDir() {
		fsys, source = os.DirFS(cfg.TemplatesRoot), cfg.TemplatesRoot
	} else if cfg.TemplatesRootSet {
		return nil, fmt.Errorf("config: TEMPLATES_ROOT=%q is not a directory", cfg.TemplatesRoot)
	}
	c, err := workspace.LoadCatalog(fsys)
	if err != nil {
		return nil, fmt.Errorf("templates (%s): %w", source, err)
	}
	return c, nil
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (store.Store, error) {
	if cfg.DatabaseURL != "" {
		pg, err := openPostgres(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		log.Info("store: postgres")
		return pg, nil
	}
	var p *store.Persister
	if cfg.EnableFilePersistence {
		var err error
		if p, err = store.NewPersister(filepath.Join(cfg.DataDir, "store")); err != nil {
			return nil, err
		}
	}
	m, err := store.NewMemory(p)
	if err != nil {
		return nil, err
	}
	log.Info("store: memory", "file_persistence", cfg.EnableFilePersistence, "dir", filepath.Join(cfg.DataDir, "store"))
	return m, nil
}

// Dial connects to Temporal, retrying for up to wait, so a worker or API
// started before Temporal waits instead of crashing.
func Dial(ctx context.Context, cfg config.Config, log *slog.Logger, address string, wait time.Duration) (client.Client, error) {
	return dial(ctx, cfg, log, address, wait, nil)
}

// Dial connects to Temporal like the package's Dial, waiting up to
// STARTUP_WAIT_SECONDS, with the SDK's metrics in the app's registry and,
// when tracing is on, its tracing interceptors (a worker built on the
// client takes them too).
func (a *App) Dial(ctx context.Context, address string) (client.Client, error) {
	ics, err := a.temporalInterceptors()
	if err != nil {
		return nil, err
	}
	return dial(ctx, a.Config, a.Log, address, a.Config.StartupWait, a.Metrics.Temporal(), ics...)
}

func dial(ctx context.Context, cfg config.Config, log *slog.Logger, address string, wait time.Duration,
	mh client.MetricsHandler, ics ...interceptor.ClientInterceptor) (client.Client, error) {
	deadline := time.Now().Add(wait)
	var lastErr error
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := client.DialContext(cctx, client.Options{
			HostPort: address, Namespace: cfg.TemporalNamespace, Logger: sdkLogger(log), MetricsHandler: mh,
			Interceptors: ics,
		})
		if err == nil {
			_, err = c.CheckHealth(cctx, &client.CheckHealthRequest{})
			if err != nil {
				c.Close()
			}
		}
		cancel()
		if err == nil {
			return c, nil
		}
		lastErr = err
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		log.Warn("waiting for Temporal", "address", address, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Duration(attempt)*time.Second, 5*time.Second)):
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("cannot reach Temporal at %s after waiting %s (check TEMPORAL_ADDRESS and that the server is up; "+
		"STARTUP_WAIT_SECONDS sets the wait): %w", address, wait, lastErr)
}

// ErrNoTemporal explains how to get a Temporal server.
var ErrNoTemporal = errors.New("TEMPORAL_ADDRESS is required for this subcommand (use `aiplatform run` for a local dev server)")
