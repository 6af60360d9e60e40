package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"ai-platform/internal/runner"
	"ai-platform/internal/tracing"
)

// maxResponseBytes bounds a run's answer: two output streams of at most
// COMMAND_MAX_OUTPUT_BYTES each, escaped, plus the metadata.
const maxResponseBytes = 64 << 20

// Client runs commands through the sandbox service. It implements
// runner.Executor, so the review uses it exactly as a local runner.
type Client struct {
	http          *http.Client
	workspaceRoot string
	info          Info
	heartbeat     time.Duration
}

// Dial connects to the service at socket and reads what it runs commands
// under. workspaceRoot is the worker's WORKSPACE_ROOT: a Spec's Dir must be
// a directory directly under it, which the service finds under its own root.
// It retries until ctx ends, since the service may start after the worker.
func Dial(ctx context.Context, socket, workspaceRoot string) (*Client, error) {
	root, err := filepath.Abs(workspaceRoot)
	if err != nil {
		return nil, err
	}
	c := &Client{
		http: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
			MaxIdleConns: 16, IdleConnTimeout: time.Minute,
		}},
		workspaceRoot: root,
		heartbeat:     runner.DefaultHeartbeatEvery,
	}
	for {
		err = c.getInfo(ctx)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sandbox service at %s: %w", socket, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (c *Client) getInfo(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://sandbox/v1/info", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("info: status %d", resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&c.info)
}

// Sandbox names the service's sandbox, e.g. "service:bwrap".
func (c *Client) Sandbox() string { return "service:" + c.info.Sandbox }

// SandboxNote says where commands run and how the service confines them.
func (c *Client) SandboxNote() string { return "sandbox service: " + c.info.Note }

// Resolve reports what the service resolves an allowed name to.
func (c *Client) Resolve(name string) (string, bool) {
	p, ok := c.info.Resolved[name]
	return p, ok
}

// Run sends s to the service and waits for its result, calling s.Heartbeat
// meanwhile. A service that cannot be reached gives a Result that did not
// run with Error runner.ErrSandboxUnavailable, which the review treats as a
// retryable failure rather than a check result.
func (c *Client) Run(ctx context.Context, s runner.Spec) runner.Result {
	res := runner.Result{Command: strings.Join(s.Argv, " "), RunID: s.RunID, Purpose: s.Purpose, Sandbox: c.Sandbox()}
	rel, err := filepath.Rel(c.workspaceRoot, filepath.Clean(s.Dir))
	if err != nil || !workspaceName.MatchString(rel) {
		res.Error = runner.ErrWorkspaceInvalid
		return res
	}
	body, err := json.Marshal(RunRequest{Workspace: rel, Argv: s.Argv, Cwd: s.Cwd, Purpose: s.Purpose, RunID: s.RunID})
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://sandbox/v1/run", bytes.NewReader(body))
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	// The caller's span (the worker's command span) goes along as a W3C
	// traceparent header, so the service's spans join the task's trace.
	// It stays in the protocol: the command's environment never sees it.
	tracing.Inject(ctx, req.Header)
	stop := runner.StartHeartbeat(s.Heartbeat, c.heartbeat, time.Now())
	resp, err := c.http.Do(req)
	defer stop()
	if err != nil {
		if ctx.Err() != nil {
			res.Error = runner.ErrCancelled
			return res
		}
		res.Error = runner.ErrSandboxUnavailable
		res.Stderr = "sandbox service unreachable: " + err.Error()
		return res
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		res.Error = runner.ErrSandboxUnavailable
		res.Stderr = fmt.Sprintf("sandbox service answered %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
		return res
	}
	var out RunResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(&out); err != nil {
		res.Error = runner.ErrSandboxUnavailable
		res.Stderr = "sandbox service answer unreadable: " + err.Error()
		return res
	}
	out.Result.Sandbox = c.Sandbox()
	return out.Result
}

var _ runner.Executor = (*Client)(nil)
