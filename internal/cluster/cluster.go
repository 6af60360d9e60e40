// Package cluster runs the production topology of docker-compose.yml on one
// machine without Docker: the Temporal server (the same version, configured
// from the same embedded template and environment the temporalio/server
// image uses, with the same dynamic config file) on the local PostgreSQL,
// N API processes and M worker processes, one sandbox service and nginx in
// front of the APIs. Everything it runs that compose also runs comes from
// temporal-config/ (server environment, dynamic config, schema and namespace
// scripts, the load balancer's template), so the two cannot drift.
package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"ai-platform/internal/config"
)

// Options describe the cluster to run.
type Options struct {
	// RepoRoot holds temporal-config/ and templates/.
	RepoRoot string
	// BinDir holds temporal-server, temporal-sql-tool and temporal-schema/
	// (`make temporal-server`), the temporal CLI (`make temporal`) and
	// aiplatform (`make build`).
	BinDir string
	// DataDir holds logs, rendered configuration, workspaces and each
	// process's DATA_DIR.
	DataDir string
	// PostgresURL is the PostgreSQL server for Temporal's two databases
	// (its path is ignored: DBName and VisibilityDBName are used).
	PostgresURL      string
	DBName           string
	VisibilityDBName string
	// TemporalPort is the frontend's gRPC port; every other port of the
	// server moves by the same offset from the template's defaults (7233).
	TemporalPort int
	Namespace    string
	APIs         int
	Workers      int
	// APIPort is the first API's port; API i listens on APIPort+i. Worker i
	// serves /metrics and /health on MetricsPort+i.
	APIPort     int
	MetricsPort int
	// Port is the load balancer's.
	Port int
	// Env is the platform's configuration for APIs and workers
	// (DATABASE_URL, REDIS_URL, secrets, limits); the cluster adds the
	// addresses, ports and directories.
	Env map[string]string
	Log *slog.Logger
}

// Cluster is a prepared topology; Start* launch its parts.
type Cluster struct {
	o Options
	// host is this process's environment, read once: the children get its
	// PATH, HOME and TMPDIR.
	host     map[string]string
	Temporal *Proc
	Sandbox  *Proc
	APIs     []*Proc
	Workers  []*Proc
	LB       *Proc
}

// New checks the binaries and prepares the processes (nothing starts yet).
func New(o Options) (*Cluster, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.DBName == "" {
		o.DBName = "temporal"
	}
	if o.VisibilityDBName == "" {
		o.VisibilityDBName = "temporal_visibility"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.TemporalPort < 7233 || o.TemporalPort > MaxTemporalPort {
		return nil, fmt.Errorf("cluster: Temporal frontend port %d: want 7233 to %d (the server's membership ports move "+
			"with it and Temporal stores them as a PostgreSQL smallint, at most 32767)", o.TemporalPort, MaxTemporalPort)
	}
	// A server-only cluster (no APIs, no workers: benchmarks) needs neither
	// aiplatform nor nginx.
	platform := o.APIs+o.Workers > 0
	bins := []string{"temporal-server", "temporal-sql-tool", "temporal"}
	if platform {
		bins = append(bins, "aiplatform")
	}
	for _, b := range bins {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			return nil, fmt.Errorf("cluster: %s is missing in %s (make build temporal temporal-server): %w", b, o.BinDir, err)
		}
	}
	if _, err := exec.LookPath("nginx"); err != nil && platform {
		return nil, errors.New("cluster: nginx is not installed (Debian: apt-get install nginx)")
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: data directory: %w", err)
	}
	c := &Cluster{o: o, host: config.Environ()}
	senv, err := c.ServerEnv()
	if err != nil {
		return nil, err
	}
	c.Temporal = newProc("temporal", filepath.Join(o.BinDir, "temporal-server"), []string{"start"}, senv,
		o.DataDir, filepath.Join(o.DataDir, "temporal.log"), "")
	c.Sandbox = newProc("sandbox", filepath.Join(o.BinDir, "aiplatform"), []string{"sandbox"}, c.sandboxEnv(),
		o.DataDir, filepath.Join(o.DataDir, "sandbox.log"), "")
	for i := range o.APIs {
		env := c.platformEnv(fmt.Sprintf("api-%d", i+1))
		env["PORT"] = strconv.Itoa(o.APIPort + i)
		c.APIs = append(c.APIs, newProc(fmt.Sprintf("api-%d", i+1), filepath.Join(o.BinDir, "aiplatform"), []string{"api"}, env,
			o.DataDir, filepath.Join(o.DataDir, fmt.Sprintf("api-%d.log", i+1)),
			fmt.Sprintf("http://127.0.0.1:%d/ready", o.APIPort+i)))
	}
	for i := range o.Workers {
		env := c.platformEnv(fmt.Sprintf("worker-%d", i+1))
		env["METRICS_PORT"] = strconv.Itoa(o.MetricsPort + i)
		env["COMMAND_SANDBOX_SOCKET"] = c.socket()
		c.Workers = append(c.Workers, newProc(fmt.Sprintf("worker-%d", i+1), filepath.Join(o.BinDir, "aiplatform"), []string{"worker"}, env,
			o.DataDir, filepath.Join(o.DataDir, fmt.Sprintf("worker-%d.log", i+1)),
			fmt.Sprintf("http://127.0.0.1:%d/health", o.MetricsPort+i)))
	}
	lbDir := filepath.Join(o.DataDir, "nginx")
	c.LB = newProc("nginx", "nginx", []string{"-p", lbDir, "-c", filepath.Join(lbDir, "nginx.conf"), "-e", filepath.Join(lbDir, "error.log")},
		map[string]string{"PATH": c.host["PATH"]}, o.DataDir, filepath.Join(o.DataDir, "nginx.log"),
		fmt.Sprintf("http://127.0.0.1:%d/health", o.Port))
	return c, nil
}

// TemporalAddress is the frontend the APIs and workers dial.
func (c *Cluster) TemporalAddress() string { return fmt.Sprintf("127.0.0.1:%d", c.o.TemporalPort) }

// URL is the load balancer's address, the one clients use.
func (c *Cluster) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", c.o.Port) }

// APIURL is API i's own address (0-based), bypassing the load balancer.
func (c *Cluster) APIURL(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", c.o.APIPort+i) }

// WorkerMetricsURL is worker i's /metrics (0-based).
func (c *Cluster) WorkerMetricsURL(i int) string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", c.o.MetricsPort+i)
}

func (c *Cluster) socket() string { return filepath.Join(c.o.DataDir, "sandbox", "sandbox.sock") }

func (c *Cluster) workspaces() string { return filepath.Join(c.o.DataDir, "workspaces") }

// platformEnv is what every API and worker gets: the shared configuration
// plus this cluster's addresses. No .env is read (each runs in DataDir).
func (c *Cluster) platformEnv(name string) map[string]string {
	env := map[string]string{
		"PATH": c.host["PATH"], "HOME": c.host["HOME"],
		"TEMPORAL_ADDRESS": c.TemporalAddress(), "TEMPORAL_NAMESPACE": c.o.Namespace,
		"WORKSPACE_ROOT": c.workspaces(),
		"TEMPLATES_ROOT": filepath.Join(c.o.RepoRoot, "templates"),
		"DATA_DIR":       filepath.Join(c.o.DataDir, name),
		// nginx is the only proxy in front of the APIs; its X-Forwarded-For
		// is what rate limits and sessions see as the client.
		"TRUSTED_PROXIES": "127.0.0.1",
	}
	if t := c.host["TMPDIR"]; t != "" {
		env["TMPDIR"] = t
	}
	for k, v := range c.o.Env {
		env[k] = v
	}
	return env
}

// sandboxEnv is the sandbox service's own variables only, as compose gives
// it: no database, Temporal, LLM or admin secrets.
func (c *Cluster) sandboxEnv() map[string]string {
	env := map[string]string{
		"PATH": c.host["PATH"], "WORKSPACE_ROOT": c.workspaces(),
		"COMMAND_SANDBOX_SOCKET": c.socket(),
		"COMMAND_SCRATCH_DIR":    filepath.Join(c.o.DataDir, "scratch"),
	}
	for _, k := range []string{"ENVIRONMENT", "LOG_LEVEL", "LOG_FORMAT", "COMMAND_SANDBOX", "ALLOWED_COMMANDS",
		"COMMAND_TIMEOUT_SECONDS", "COMMAND_MAX_OUTPUT_BYTES", "COMMAND_MAX_PROCESSES", "COMMAND_MAX_MEMORY_MB",
		"COMMAND_WORKSPACE_MAX_MB", "COMMAND_WORKSPACE_MAX_FILES", "COMMAND_TMP_MAX_MB", "COMMAND_UID",
		"ALLOW_UNSANDBOXED_COMMANDS_IN_PRODUCTION"} {
		if v, ok := c.o.Env[k]; ok {
			env[k] = v
		}
	}
	return env
}

// pg splits PostgresURL into what the Temporal template and schema tool read.
func (c *Cluster) pg() (host, port, user, password string, err error) {
	u, err := url.Parse(c.o.PostgresURL)
	if err != nil || u.Host == "" {
		return "", "", "", "", fmt.Errorf("cluster: PostgreSQL URL %q: want postgres://user[:password]@host:port", c.o.PostgresURL)
	}
	host, port = u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	user = u.User.Username()
	password, _ = u.User.Password()
	return host, port, user, password, nil
}

// ServerEnv is the Temporal server's environment: temporal-config/server.env
// (which docker-compose.yml passes to the temporal service too) plus this
// machine's addresses, ports and database credentials. The server renders
// its embedded config template (the one the temporalio/server image uses)
// from it.
func (c *Cluster) ServerEnv() (map[string]string, error) {
	env, err := ReadEnvFile(filepath.Join(c.o.RepoRoot, "temporal-config", "server.env"))
	if err != nil {
		return nil, err
	}
	host, port, user, password, err := c.pg()
	if err != nil {
		return nil, err
	}
	env["PATH"] = c.host["PATH"]
	env["POSTGRES_SEEDS"], env["DB_PORT"], env["POSTGRES_USER"], env["POSTGRES_PWD"] = host, port, user, password
	env["DBNAME"], env["VISIBILITY_DBNAME"] = c.o.DBName, c.o.VisibilityDBName
	env["BIND_ON_IP"], env["TEMPORAL_BROADCAST_ADDRESS"] = "127.0.0.1", "127.0.0.1"
	env["DYNAMIC_CONFIG_FILE_PATH"] = filepath.Join(c.o.RepoRoot, "temporal-config", "dynamicconfig", "development-sql.yaml")
	off := c.o.TemporalPort - 7233
	for k, def := range map[string]int{
		"FRONTEND_GRPC_PORT": 7233, "FRONTEND_HTTP_PORT": 7243, "FRONTEND_MEMBERSHIP_PORT": 6933,
		"HISTORY_GRPC_PORT": 7234, "HISTORY_MEMBERSHIP_PORT": 6934,
		"MATCHING_GRPC_PORT": 7235, "MATCHING_MEMBERSHIP_PORT": 6935,
		"INTERNAL_FRONTEND_GRPC_PORT": 7236, "INTERNAL_FRONTEND_MEMBERSHIP_PORT": 6936, "INTERNAL_FRONTEND_HTTP_PORT": 7246,
		"WORKER_GRPC_PORT": 7239, "WORKER_MEMBERSHIP_PORT": 6939,
	} {
		env[k] = strconv.Itoa(def + off)
	}
	return env, nil
}

// ReadEnvFile reads KEY=VALUE lines (blank lines and # comments skipped), the
// format compose's env_file takes.
func ReadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("cluster: %s:%d: want KEY=VALUE", path, n)
		}
		env[k] = v
	}
	return env, sc.Err()
}

// script runs one of temporal-config/scripts (the ones compose's one-shot
// jobs run) with the binaries of BinDir first on PATH.
func (c *Cluster) script(ctx context.Context, name string, env map[string]string) error {
	cmd := exec.CommandContext(ctx, "sh", filepath.Join(c.o.RepoRoot, "temporal-config", "scripts", name))
	cmd.Env = []string{"PATH=" + c.o.BinDir + string(os.PathListSeparator) + c.host["PATH"], "HOME=" + c.host["HOME"]}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	logf := filepath.Join(c.o.DataDir, strings.TrimSuffix(name, ".sh")+".log")
	_ = os.WriteFile(logf, out, 0o644)
	if err != nil {
		return fmt.Errorf("cluster: %s: %w\n%s", name, err, tail(string(out), 2000))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// PrepareDatabases creates Temporal's two databases and brings their
// schemas to the server's version, with the script compose's
// temporal-schema job runs. Safe to repeat.
func (c *Cluster) PrepareDatabases(ctx context.Context) error {
	senv, err := c.ServerEnv()
	if err != nil {
		return err
	}
	env := map[string]string{"SCHEMA_DIR": filepath.Join(c.o.BinDir, "temporal-schema", "postgresql", "v12"),
		"SQL_PASSWORD": senv["POSTGRES_PWD"]}
	for _, k := range []string{"DB", "POSTGRES_SEEDS", "DB_PORT", "POSTGRES_USER", "DBNAME", "VISIBILITY_DBNAME"} {
		env[k] = senv[k]
	}
	return c.script(ctx, "setup-schema.sh", env)
}

// RenderServerConfig writes the configuration the server renders at start
// from its embedded template (the image's config_template.yaml) with this
// environment, for operators to read. `temporal-server start` without
// config flags renders the embedded copy itself; render-config reads only a
// config directory, so it is given the copy `make temporal-server` takes
// from the same module version.
func (c *Cluster) RenderServerConfig(ctx context.Context) (string, error) {
	dir := filepath.Join(c.o.BinDir, "temporal-schema", "config-template")
	cmd := exec.CommandContext(ctx, filepath.Join(c.o.BinDir, "temporal-server"), "--config", dir, "--env", "development",
		"render-config")
	cmd.Env = c.Temporal.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cluster: temporal-server render-config (template in %s; `make temporal-server` copies it): %w: %s",
			dir, err, strings.TrimSpace(stderr.String()))
	}
	path := filepath.Join(c.o.DataDir, "temporal-config.rendered.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return "", fmt.Errorf("cluster: %w", err)
	}
	return path, nil
}

// StartTemporal starts the server and waits until its frontend answers.
func (c *Cluster) StartTemporal(ctx context.Context) error {
	if err := c.Temporal.Start(); err != nil {
		return err
	}
	return c.WaitTemporal(ctx)
}

// WaitTemporal polls the frontend's health check.
func (c *Cluster) WaitTemporal(ctx context.Context) error {
	for {
		cl, err := client.Dial(client.Options{HostPort: c.TemporalAddress(), Namespace: c.o.Namespace, Logger: quietLogger{}})
		if err == nil {
			_, err = cl.CheckHealth(ctx, &client.CheckHealthRequest{})
			cl.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: Temporal at %s did not answer (log %s): %w (last: %v)", c.TemporalAddress(), c.Temporal.logPath, ctx.Err(), err)
		case <-c.Temporal.Exited():
			return fmt.Errorf("cluster: the Temporal server exited (%v); see %s", c.Temporal.err, c.Temporal.logPath)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// CreateNamespace registers the namespace (and what the script registers
// with it) with the script compose's temporal-namespace job runs.
func (c *Cluster) CreateNamespace(ctx context.Context, retention string) error {
	return c.script(ctx, "create-namespace.sh", map[string]string{
		"TEMPORAL_ADDRESS": c.TemporalAddress(), "NAMESPACE": c.o.Namespace, "RETENTION": retention})
}

// WriteLBConfig renders temporal-config/nginx/aiplatform.conf.template (the
// file compose's lb service renders) for this cluster's APIs, inside a
// minimal nginx.conf of its own.
func (c *Cluster) WriteLBConfig() error {
	dir := filepath.Join(c.o.DataDir, "nginx")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	tmpl, err := os.ReadFile(filepath.Join(c.o.RepoRoot, "temporal-config", "nginx", "aiplatform.conf.template"))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	var servers []string
	for i := range c.o.APIs {
		servers = append(servers, fmt.Sprintf("server 127.0.0.1:%d max_fails=1 fail_timeout=5s;", c.o.APIPort+i))
	}
	site := RenderTemplate(string(tmpl), map[string]string{
		"AIPLATFORM_API_SERVERS": strings.Join(servers, " "),
		"AIPLATFORM_LB_PORT":     strconv.Itoa(c.o.Port),
	})
	if err := os.WriteFile(filepath.Join(dir, "aiplatform.conf"), []byte(site), 0o644); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	main := fmt.Sprintf(`# Rendered by aiplatform cluster; the site is aiplatform.conf.
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[1]s/aiplatform.conf;
}
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.LB.args = append(c.LB.args[:0:0], "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	return nil
}

// RenderTemplate substitutes ${NAME} for the given names only, as the nginx
// image's envsubst step does (nginx's own $variables stay).
func RenderTemplate(tmpl string, vars map[string]string) string {
	for k, v := range vars {
		tmpl = strings.ReplaceAll(tmpl, "${"+k+"}", v)
	}
	return tmpl
}

// Up prepares and starts everything in order and waits until each part is
// ready.
func (c *Cluster) Up(ctx context.Context) error {
	steps := []struct {
		what string
		do   func() error
	}{
		{"Temporal databases and schemas", func() error { return c.PrepareDatabases(ctx) }},
		{"Temporal server", func() error {
			if _, err := c.RenderServerConfig(ctx); err != nil {
				return err
			}
			return c.StartTemporal(ctx)
		}},
		{"namespace", func() error { return c.CreateNamespace(ctx, "7d") }},
		{"sandbox service", func() error { return c.StartSandbox(ctx) }},
		{"APIs", func() error { return startAll(ctx, c.APIs) }},
		{"workers", func() error { return startAll(ctx, c.Workers) }},
		{"load balancer", func() error {
			if err := c.WriteLBConfig(); err != nil {
				return err
			}
			if err := c.LB.Start(); err != nil {
				return err
			}
			return c.LB.WaitReady(ctx)
		}},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		c.o.Log.Info("cluster: ready", "part", s.what, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// StartServer prepares the databases, starts the Temporal server and
// registers the namespace: a server of its own, for benchmarks.
func (c *Cluster) StartServer(ctx context.Context) error {
	if err := c.PrepareDatabases(ctx); err != nil {
		return err
	}
	if _, err := c.RenderServerConfig(ctx); err != nil {
		return err
	}
	if err := c.StartTemporal(ctx); err != nil {
		return err
	}
	return c.CreateNamespace(ctx, "1d")
}

// DropDatabases removes Temporal's two databases (the server must be
// stopped): what a benchmark or test leaves behind.
func (c *Cluster) DropDatabases(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.o.PostgresURL)
	if err != nil {
		return fmt.Errorf("cluster: connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	for _, n := range []string{c.o.DBName, c.o.VisibilityDBName} {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("cluster: dropping %s: %w", n, err)
		}
	}
	return nil
}

// StartSandbox starts the sandbox service and waits for its socket.
func (c *Cluster) StartSandbox(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(c.socket()), 0o755); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := os.MkdirAll(c.workspaces(), 0o755); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := c.Sandbox.Start(); err != nil {
		return err
	}
	for {
		if _, err := os.Stat(c.socket()); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: the sandbox service did not listen on %s: %w", c.socket(), ctx.Err())
		case <-c.Sandbox.Exited():
			return fmt.Errorf("cluster: the sandbox service exited (%v); see %s", c.Sandbox.err, c.Sandbox.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func startAll(ctx context.Context, ps []*Proc) error {
	for _, p := range ps {
		if err := p.Start(); err != nil {
			return err
		}
	}
	for _, p := range ps {
		if err := p.WaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Down stops everything, the load balancer and APIs first, the Temporal
// server last.
func (c *Cluster) Down() {
	c.LB.Stop(5 * time.Second)
	for _, p := range c.APIs {
		p.Stop(20 * time.Second)
	}
	for _, p := range c.Workers {
		p.Stop(30 * time.Second)
	}
	c.Sandbox.Stop(10 * time.Second)
	c.Temporal.Stop(20 * time.Second)
}

// Procs lists every process (for status and supervision).
func (c *Cluster) Procs() []*Proc {
	out := []*Proc{c.Temporal, c.Sandbox}
	out = append(out, c.APIs...)
	out = append(out, c.Workers...)
	return append(out, c.LB)
}

type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// EnsureDatabase creates the platform's database of storeURL on the server
// of adminURL when it does not exist (the APIs migrate its schema).
func EnsureDatabase(ctx context.Context, adminURL, storeURL string) error {
	u, err := url.Parse(storeURL)
	if err != nil {
		return fmt.Errorf("cluster: DATABASE_URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return errors.New("cluster: DATABASE_URL names no database")
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("cluster: connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("cluster: looking for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("cluster: creating database %s: %w", name, err)
	}
	return nil
}
