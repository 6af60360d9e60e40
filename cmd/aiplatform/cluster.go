package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"ai-platform/internal/cluster"
	"ai-platform/internal/config"
)

// runCluster is `aiplatform cluster`: the production topology on this
// machine without Docker (internal/cluster), in the foreground until
// SIGINT/SIGTERM. It supervises nothing beyond start and stop: under a
// process supervisor, run each part's command line instead
// (docs/OPERATIONS.md, "the production topology without Docker").
func runCluster(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	exe, _ := os.Executable()
	apis := fs.Int("apis", 2, "API processes")
	workers := fs.Int("workers", 3, "worker processes")
	port := fs.Int("port", 8088, "the load balancer's port (what clients use)")
	apiPort := fs.Int("api-port", 18081, "the first API's own port; API i listens on api-port+i")
	metricsPort := fs.Int("metrics-port", 19091, "the first worker's /metrics and /health port")
	temporalPort := fs.Int("temporal-port", 17233, "the Temporal frontend's gRPC port; the server's other ports move with it")
	dataDir := fs.String("data-dir", filepath.Join("data", "cluster"), "logs, rendered configuration, workspaces")
	pg := fs.String("pg", envOr("CLUSTER_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server for Temporal's databases (CLUSTER_PG_URL)")
	dbPrefix := fs.String("temporal-db", "temporal_cluster", "Temporal's database name; visibility gets the suffix _visibility")
	binDir := fs.String("bin-dir", filepath.Dir(exe), "where temporal-server, temporal-sql-tool, temporal and aiplatform are")
	repo := fs.String("repo", ".", "the repository root (temporal-config/, templates/)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	env, err := clusterEnv(*dataDir, *pg)
	if err != nil {
		fmt.Fprintln(stderr, "aiplatform cluster:", err)
		return 1
	}
	root, err := filepath.Abs(*repo)
	if err != nil {
		fmt.Fprintln(stderr, "aiplatform cluster:", err)
		return 1
	}
	data, err := filepath.Abs(*dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "aiplatform cluster:", err)
		return 1
	}
	c, err := cluster.New(cluster.Options{RepoRoot: root, BinDir: *binDir, DataDir: data, PostgresURL: *pg,
		DBName: *dbPrefix, VisibilityDBName: *dbPrefix + "_visibility", TemporalPort: *temporalPort,
		Namespace: envOr("TEMPORAL_NAMESPACE", "default"), APIs: *apis, Workers: *workers, APIPort: *apiPort,
		MetricsPort: *metricsPort, Port: *port, Env: env, Log: log})
	if err != nil {
		fmt.Fprintln(stderr, "aiplatform cluster:", err)
		return 1
	}
	if err := cluster.EnsureDatabase(ctx, *pg, env["DATABASE_URL"]); err != nil {
		fmt.Fprintln(stderr, "aiplatform cluster:", err)
		return 1
	}
	defer c.Down()
	upCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := c.Up(upCtx); err != nil {
		fmt.Fprintln(stderr, "aiplatform cluster:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nai-platform cluster is running\n  app (nginx):  %s\n  temporal:     %s\n  logs:         %s\n",
		c.URL(), c.TemporalAddress(), data)
	for _, p := range c.Procs() {
		fmt.Fprintf(stdout, "  %-12s pid %d\n", p.Name, p.Pid())
	}
	// Each API and worker on its own, for health checks and scrapes that
	// must not go through the balancer.
	for i := range *apis {
		fmt.Fprintf(stdout, "  api-%d        %s\n", i+1, c.APIURL(i))
	}
	for i := range *workers {
		fmt.Fprintf(stdout, "  worker-%d     %s\n", i+1, c.WorkerMetricsURL(i))
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	exited := make(chan string, len(c.Procs()))
	for _, p := range c.Procs() {
		go func() {
			<-p.Exited()
			exited <- p.Name
		}()
	}
	select {
	case <-ctx.Done():
		return 0
	case name := <-exited:
		// No restarts here: a supervisor (systemd, compose) owns that; one
		// part gone means the topology is not what was asked for.
		fmt.Fprintf(stderr, "aiplatform cluster: %s exited; stopping the rest (see its log in %s)\n", name, data)
		return 1
	}
}

// clusterEnv is the platform configuration every API and worker shares:
// the environment and ./.env (the environment wins), with what a cluster
// cannot do without filled in when unset: one PostgreSQL store, one Redis
// for the rate limits, and secrets generated once into the data directory
// so every process uses the same ones.
func clusterEnv(dataDir, pg string) (map[string]string, error) {
	env := map[string]string{}
	if file, err := godotenv.Read(".env"); err == nil {
		for k, v := range file {
			env[k] = v
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading .env: %w", err)
	}
	for k, v := range config.Environ() {
		env[k] = v
	}
	// Each process gets its own port, data directory and Temporal address.
	for _, k := range []string{"PORT", "METRICS_PORT", "DATA_DIR", "TEMPORAL_ADDRESS", "WORKSPACE_ROOT", "COMMAND_SANDBOX_SOCKET"} {
		delete(env, k)
	}
	if env["DATABASE_URL"] == "" {
		u, _, _ := strings.Cut(pg, "?")
		if i := strings.LastIndex(u, "/"); i > len("postgres://") {
			u = u[:i]
		}
		env["DATABASE_URL"] = u + "/aiplatform_cluster?sslmode=disable"
	}
	if env["REDIS_URL"] == "" {
		env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
	}
	for _, name := range []string{"API_KEY_HASH_SECRET", "AUTH_JWT_SECRET", "AUTH_REFRESH_TOKEN_SECRET"} {
		if env[name] != "" {
			continue
		}
		v, err := clusterSecret(dataDir, strings.ToLower(name))
		if err != nil {
			return nil, err
		}
		env[name] = v
	}
	return env, nil
}

// clusterSecret reads or creates a 32-byte secret under dataDir/secrets.
func clusterSecret(dataDir, name string) (string, error) {
	path := filepath.Join(dataDir, "secrets", name)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("cluster secret: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cluster secret: %w", err)
	}
	v := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("cluster secret: %w", err)
	}
	return v, nil
}

func envOr(name, def string) string {
	if v := config.Environ()[name]; v != "" {
		return v
	}
	return def
}
