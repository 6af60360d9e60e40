package sandbox_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ai-platform/internal/config"
	"ai-platform/internal/runner"
	"ai-platform/internal/sandbox"
	"ai-platform/internal/sandbox/sandboxtest"
	"ai-platform/internal/tracing"
)

// An in-process service: what the worker may and may not ask of it.
func TestServiceProtocol(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root, sock := serveInProcess(ctx, t, nil)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode: %v %v", fi, err)
	}
	client, err := sandbox.Dial(ctx, sock, root)
	must(t, err)
	if _, ok := client.Resolve("python3"); !ok {
		t.Error("python3 not resolved through the service")
	}

	tests := []struct {
		name, dir string
		argv      []string
		wantError string
		wantOut   string
	}{
		{"runs in the named workspace", filepath.Join(root, "task-1"), []string{"python3", "-c", "print('hi')"}, "", "hi\n"},
		{"outside the workspace root", "/etc", []string{"python3", "-c", "pass"}, runner.ErrWorkspaceInvalid, ""},
		{"the root itself", root, []string{"python3", "-c", "pass"}, runner.ErrWorkspaceInvalid, ""},
		{"nested below a workspace", filepath.Join(root, "task-1", "sub"), []string{"python3", "-c", "pass"}, runner.ErrWorkspaceInvalid, ""},
		{"not allow-listed", filepath.Join(root, "task-1"), []string{"sh", "-c", "id"}, runner.ErrNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := client.Run(ctx, runner.Spec{Argv: tt.argv, Dir: tt.dir})
			if res.Error != tt.wantError || res.Stdout != tt.wantOut {
				t.Errorf("error %q stdout %q; want %q %q", res.Error, res.Stdout, tt.wantError, tt.wantOut)
			}
			if res.Sandbox != "service:none" {
				t.Errorf("sandbox %q", res.Sandbox)
			}
		})
	}

	// A request naming a path rather than a workspace is refused by the
	// service itself, whatever the client does.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	for _, ws := range []string{"../etc", "/etc", "task-1/..", ".", ""} {
		body := `{"workspace":"` + ws + `","argv":["python3","-c","pass"]}`
		resp, err := hc.Post("http://sandbox/v1/run", "application/json", bytes.NewBufferString(body))
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("workspace %q: status %d, want 400", ws, resp.StatusCode)
		}
	}

	// A service that is gone: the command did not run, and says why.
	cancel()
	time.Sleep(100 * time.Millisecond)
	res := client.Run(context.Background(), runner.Spec{Argv: []string{"python3", "-c", "pass"}, Dir: filepath.Join(root, "task-1")})
	if res.Ran || res.Error != runner.ErrSandboxUnavailable {
		t.Errorf("after the service stopped: ran=%v error=%q", res.Ran, res.Error)
	}
}

// serveInProcess runs a service (python3 allowed, no sandbox) until ctx
// ends, traced into tr (nil: not traced), over a workspace root holding
// task-1; it returns the root and the socket.
func serveInProcess(ctx context.Context, t *testing.T, tr *tracing.Tracing) (root, sock string) {
	t.Helper()
	root = sandboxtest.PublicDir(t)
	must(t, os.Mkdir(filepath.Join(root, "task-1"), 0o755))
	r, err := runner.New(runner.Config{Allowed: []string{"python3"}, Timeout: 30 * time.Second, MaxOutput: 1 << 16,
		Sandbox: config.SandboxNone, ScratchRoot: sandboxtest.PublicDir(t)})
	must(t, err)
	sock = filepath.Join(sandboxtest.PublicDir(t), "s.sock")
	ln, err := sandbox.Listen(sock)
	must(t, err)
	go func() {
		_ = (&sandbox.Server{Runner: r, WorkspaceRoot: root, Log: slog.New(slog.DiscardHandler), Tracing: tr}).Serve(ctx, ln, time.Second)
	}()
	return root, sock
}
