// Command aiplatform runs the ai-platform: `run` (everything on a laptop),
// `api`, `worker`, `migrate` and `version`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"ai-platform/internal/app"
	"ai-platform/internal/cli"
	"ai-platform/internal/config"
	"ai-platform/internal/runner"
	"ai-platform/internal/sandbox"
	"ai-platform/internal/store"
	"ai-platform/internal/tracing"
)

const usage = `aiplatform: durable AI software tasks on Temporal

Usage:
  aiplatform run       API + worker + web UI, and a local Temporal dev server unless TEMPORAL_ADDRESS is set
  aiplatform api       the HTTP API and web UI only (needs TEMPORAL_ADDRESS)
  aiplatform worker    the Temporal worker only (needs TEMPORAL_ADDRESS)
  aiplatform migrate   apply database migrations (needs DATABASE_URL)
  aiplatform sandbox   the sandbox service: runs the review's commands for workers on a Unix socket
                       (COMMAND_SANDBOX_SOCKET); reads only its own variables, never .env
  aiplatform cluster   the production topology without Docker: the Temporal server on PostgreSQL,
                       APIs and workers behind nginx (make cluster; aiplatform cluster -h)
  aiplatform version   print the version
  aiplatform healthcheck [api|worker]
                       exit 0 if the local API (PORT) or worker (METRICS_PORT) answers /health

Client of a running server's HTTP API (details: aiplatform task --help):
  aiplatform task create|list|show|logs|answer|cancel|pause|unpause|retry|download|files ...
  aiplatform login | logout

Configuration comes from the environment and ./.env; see docs/ENV.md.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if cli.IsCommand(args[0]) {
		// The client reads only its own variables, through os.LookupEnv.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return cli.Run(ctx, args, os.Stdin, stdout, stderr, os.LookupEnv)
	}
	if args[0] == "version" {
		fmt.Fprintln(stdout, "aiplatform", version())
		return 0
	}
	if args[0] == "sandbox" {
		return runSandbox(stderr)
	}
	if args[0] == "cluster" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runCluster(ctx, args[1:], stdout, stderr)
	}
	if args[0] == "healthcheck" && len(args) > 1 && args[1] == "sandbox" {
		return healthcheckSandbox(stderr)
	}
	cfg, err := config.FromEnvironment()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if args[0] == "healthcheck" {
		return healthcheck(cfg, args[1:], stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := app.NewLogger(cfg)
	switch args[0] {
	case "run":
		err = runAll(ctx, cfg, stdout)
	case "api":
		err = runAPI(ctx, cfg)
	case "worker":
		err = runWorker(ctx, cfg)
	case "migrate":
		err = migrate(ctx, cfg, stdout)
	default:
		fmt.Fprintf(stderr, "aiplatform: unknown subcommand %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("aiplatform "+args[0]+" failed", "error", err)
		fmt.Fprintln(stderr, "aiplatform:", err)
		return 1
	}
	return 0
}

// runSandbox serves the sandbox service until SIGINT or SIGTERM. It reads
// the process environment only (no .env, which may hold the platform's
// secrets): the service is meant to run with none of them.
func runSandbox(stderr io.Writer) int {
	cfg, err := config.LoadSandbox(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := app.NewLogger(cfg).With("component", "sandbox")
	r, err := runner.New(app.RunnerConfig(cfg))
	if err != nil {
		log.Error("sandbox service failed", "error", err)
		fmt.Fprintln(stderr, "aiplatform:", err)
		return 1
	}
	ln, err := sandbox.Listen(cfg.CommandSandboxSocket)
	if err != nil {
		fmt.Fprintln(stderr, "aiplatform:", err)
		return 1
	}
	root, err := filepath.Abs(cfg.WorkspaceRoot)
	if err != nil {
		fmt.Fprintln(stderr, "aiplatform:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Its spans join the workers' traces (the run requests carry them);
	// exported only where the service can reach a collector.
	tr, err := tracing.Start(app.TracingSettings(cfg), tracing.ServiceSandbox)
	if err != nil {
		fmt.Fprintln(stderr, "aiplatform:", err)
		return 1
	}
	defer func() {
		if err := tr.Shutdown(); err != nil {
			log.Warn("flushing spans", "error", err)
		}
	}()
	log.Info("sandbox service listening", "socket", cfg.CommandSandboxSocket, "sandbox", r.Sandbox(), "note", r.SandboxNote())
	srv := &sandbox.Server{Runner: r, WorkspaceRoot: root, Log: log, Tracing: tr}
	if err := srv.Serve(ctx, ln, cfg.CommandTimeout+5*time.Second); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "aiplatform:", err)
		return 1
	}
	return 0
}

// healthcheckSandbox exits 0 when the sandbox service answers on its socket.
func healthcheckSandbox(stderr io.Writer) int {
	cfg, err := config.LoadSandbox(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := sandbox.Dial(ctx, cfg.CommandSandboxSocket, cfg.WorkspaceRoot); err != nil {
		fmt.Fprintln(stderr, "unhealthy:", err)
		return 1
	}
	return 0
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return bi.Main.Version + " (" + s.Value + ")"
			}
		}
		return bi.Main.Version
	}
	return "unknown"
}

func runAll(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	a, err := app.Open(ctx, cfg, app.NewLogger(cfg))
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.StartTracing(tracing.ServiceAll); err != nil {
		return err
	}
	return a.RunAll(ctx, func(u app.Urls) {
		fmt.Fprintf(stdout, "\nai-platform is running\n  app:         %s\n  api:         %s\n  temporal:    %s\n",
			u.App, u.API, u.Temporal)
		if u.TemporalUI != "" {
			fmt.Fprintf(stdout, "  temporal ui: %s\n", u.TemporalUI)
		}
		fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	})
}

// connect opens the app and dials the configured Temporal, for the
// subcommands that run against an existing server; done releases both.
// role names the process in its traces (tracing.ServiceAPI...).
func connect(ctx context.Context, cfg config.Config, role string) (*app.App, client.Client, func(), error) {
	if cfg.TemporalAddress == "" {
		return nil, nil, nil, app.ErrNoTemporal
	}
	a, err := app.Open(ctx, cfg, app.NewLogger(cfg))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := a.StartTracing(role); err != nil {
		a.Close()
		return nil, nil, nil, err
	}
	c, err := a.Dial(ctx, cfg.TemporalAddress)
	if err != nil {
		a.Close()
		return nil, nil, nil, err
	}
	return a, c, func() { c.Close(); a.Close() }, nil
}

func runAPI(ctx context.Context, cfg config.Config) error {
	a, c, done, err := connect(ctx, cfg, tracing.ServiceAPI)
	if err != nil {
		return err
	}
	defer done()
	srv, err := a.APIServer(ctx, c)
	if err != nil {
		return err
	}
	return a.ServeHTTP(ctx, srv.Handler(), net.JoinHostPort("", strconv.Itoa(cfg.Port)), nil)
}

func runWorker(ctx context.Context, cfg config.Config) error {
	a, c, done, err := connect(ctx, cfg, tracing.ServiceWorker)
	if err != nil {
		return err
	}
	defer done()
	w, err := a.NewWorker(ctx, c)
	if err != nil {
		return err
	}
	a.EnsureCleanupSchedule(ctx, c)
	if err := w.Start(); err != nil {
		return err
	}
	// /metrics and /health; on SIGTERM the worker stops first (in-flight
	// activities get WorkerStopTimeout to finish, the rest are retried by
	// another worker), then this server. They are not the worker's job: if
	// METRICS_PORT cannot be bound (another worker on this host has it),
	// the worker warns and runs on without them.
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOps()
	opsDone := make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		defer close(opsDone)
		err := a.ServeWorkerOps(opsCtx, net.JoinHostPort("", strconv.Itoa(cfg.MetricsPort)), ready)
		switch {
		case err == nil:
		case opsCtx.Err() == nil:
			a.Log.Warn("worker /metrics and /health are NOT served: METRICS_PORT "+strconv.Itoa(cfg.MetricsPort)+
				" cannot be used; the worker runs on without them (no scrape, and `aiplatform healthcheck worker`"+
				" cannot see it). Give each worker on one host its own METRICS_PORT",
				"metrics_port", cfg.MetricsPort, "error", err)
		default:
			a.Log.Warn("stopping the worker's /metrics and /health", "error", err)
		}
	}()
	go func() {
		select {
		case addr := <-ready:
			a.Log.Info("worker serving /metrics and /health", "addr", addr)
		case <-opsDone:
		}
	}()
	<-ctx.Done()
	a.StopWorker(w)
	stopOps()
	<-opsDone
	return nil
}

// healthcheck probes the local /health (the API's on PORT, or the worker's
// on METRICS_PORT) for the container HEALTHCHECK, which has no curl.
func healthcheck(cfg config.Config, args []string, stderr io.Writer) int {
	port := cfg.Port
	if len(args) > 0 && args[0] == "worker" {
		port = cfg.MetricsPort
	}
	hc := &http.Client{Timeout: 3 * time.Second}
	resp, err := hc.Get("http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/health")
	if err != nil {
		fmt.Fprintln(stderr, "unhealthy:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "unhealthy: /health answered", resp.Status)
		return 1
	}
	return 0
}

func migrate(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	if cfg.DatabaseURL == "" {
		fmt.Fprintln(stdout, "DATABASE_URL is unset: the memory store needs no migrations")
		return nil
	}
	pg, err := store.OpenPostgres(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pg.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}
