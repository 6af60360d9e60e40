// Package sandboxtest starts the sandbox service for tests the way it runs in
// its container: `aiplatform sandbox` with no platform environment, in a
// network namespace of its own (loopback only, down) and a mount namespace in
// which the task workspaces are read-only.
package sandboxtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"ai-platform/internal/sandbox"
	"ai-platform/internal/testutil/logbuf"
)

// RepoRoot is the repository root (where go.mod is).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// PublicDir is a temporary directory the commands' unprivileged uids can
// pass through, as WORKSPACE_ROOT and the scratch root are in a deployment.
func PublicDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sandbox-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("rm", "-rf", dir).Run() })
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Service is a running sandbox service.
type Service struct {
	Socket string
	PID    int
	logs   *logbuf.Buffer // read while the service runs
}

// Logs is what the service printed.
func (s *Service) Logs() string {
	return s.logs.String()
}

// Start runs bin/aiplatform sandbox for workspaceRoot, stopped at cleanup.
// It skips the test when not root (the namespaces need it) or when the
// binary is missing, and fails instead under CI.
func Start(t testing.TB, workspaceRoot string, extraEnv ...string) *Service {
	t.Helper()
	skip := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		skip("starting the sandbox service in its own network and mount namespaces needs root")
	}
	bin := filepath.Join(RepoRoot(), "bin", "aiplatform")
	if _, err := os.Stat(bin); err != nil {
		skip("bin/aiplatform is missing: run `make build`")
	}
	sock := filepath.Join(PublicDir(t), "run", "sandbox.sock")
	script := `set -e
mount --bind "$WORKSPACE_ROOT" "$WORKSPACE_ROOT"
mount -o remount,bind,ro "$WORKSPACE_ROOT"
exec "$0" sandbox`
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", script, bin)
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "COMMAND_SANDBOX_SOCKET=" + sock,
		"WORKSPACE_ROOT=" + workspaceRoot, "COMMAND_SCRATCH_DIR=" + PublicDir(t), "LOG_FORMAT=text"}, extraEnv...)
	s := &Service{Socket: sock, logs: &logbuf.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.PID = cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sandbox service output:\n%s", s.Logs())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := sandbox.Dial(ctx, sock, workspaceRoot); err != nil {
		t.Fatalf("sandbox service: %v\n%s", err, s.Logs())
	}
	return s
}
