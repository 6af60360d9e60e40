package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"ai-platform/internal/runner"
	"ai-platform/internal/tracing"
)

// maxRequestBytes bounds a run request: argv of the review's tools is tiny.
const maxRequestBytes = 64 << 10

// Server runs commands for workers.
type Server struct {
	Runner        *runner.Runner
	WorkspaceRoot string // the task workspaces (the service needs them read-only)
	Log           *slog.Logger
	// Tracing exports this process's spans; nil traces nothing. A run
	// request's traceparent header makes its span a child of the worker's.
	Tracing *tracing.Tracing
}

// Listen opens the Unix socket at path, replacing a stale one, readable and
// writable by the owner and group only: the workers share the group, the
// commands (other uids, and no bind of its directory) cannot reach it.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sandbox socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("sandbox socket: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("sandbox socket: %w", err)
	}
	// The socket takes its directory's group: the deployment gives that
	// directory the workers' group, so they can connect and nobody else can.
	if dir, err := os.Stat(filepath.Dir(path)); err == nil {
		if st, ok := dir.Sys().(*syscall.Stat_t); ok {
			_ = os.Lchown(path, -1, int(st.Gid))
		}
	}
	return ln, nil
}

// Serve answers on ln until ctx ends, then lets running commands finish for
// up to grace.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", s.info)
	mux.HandleFunc("POST /v1/run", s.run)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(shutdown)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	return err
}

func (s *Server) info(w http.ResponseWriter, _ *http.Request) {
	resolved := map[string]string{}
	for _, name := range s.Runner.Allowed() {
		if p, ok := s.Runner.Resolve(name); ok {
			resolved[name] = p
		}
	}
	writeJSON(w, http.StatusOK, Info{Sandbox: s.Runner.Sandbox(), Note: s.Runner.SandboxNote(), Resolved: resolved})
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	var req RunRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "invalid run request: " + err.Error()})
		return
	}
	if !workspaceName.MatchString(req.Workspace) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": fmt.Sprintf("workspace %q is not a workspace name", req.Workspace)})
		return
	}
	dir := filepath.Join(s.WorkspaceRoot, req.Workspace)
	start := time.Now()
	// The request's context ends when the worker gives up (its activity was
	// cancelled or timed out, or it died): the runner then kills the command.
	ctx, span := s.Tracing.StartServer(tracing.Extract(r.Context(), r.Header), "sandbox run "+req.Purpose,
		attribute.String("ai_platform.command.run_id", req.RunID), attribute.String("ai_platform.workspace", req.Workspace))
	res := s.Runner.Run(ctx, runner.Spec{Argv: req.Argv, Dir: dir, Cwd: req.Cwd, Purpose: req.Purpose, RunID: req.RunID})
	span.End()
	s.Log.InfoContext(ctx, "command run", "run_id", req.RunID, "workspace", req.Workspace, "purpose", req.Purpose,
		"ran", res.Ran, "exit_code", res.ExitCode, "error", res.Error, "quota_exceeded", res.QuotaExceeded,
		"duration_ms", time.Since(start).Milliseconds())
	writeJSON(w, http.StatusOK, RunResponse{Result: res})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
