// Package sandbox is the sandbox service: a process of its own (`aiplatform
// sandbox`) that runs the review's commands for workers, and the client the
// worker uses to reach it.
//
// Why a separate process: in a container deployment the worker holds the
// platform's secrets (LLM key, database and Temporal access) and its network,
// and Docker's default profiles block bubblewrap, so commands cannot be
// confined inside the worker's container without weakening that container.
// The service runs in a container of its own with no platform environment,
// no network, a read-only root and the task workspaces mounted read-only; it
// confines every command again with bubblewrap (internal/runner), so one
// task's command sees only its own copy of its own workspace.
//
// Protocol: HTTP over a Unix socket (the only way in; no TCP port), JSON
// bodies. GET /v1/info describes the service; POST /v1/run runs one command
// and answers its runner.Result when it ends. Closing the request (the
// worker's activity was cancelled or timed out) kills the command.
package sandbox

import (
	"regexp"

	"ai-platform/internal/runner"
)

// Info is GET /v1/info: what the service runs commands under.
type Info struct {
	Sandbox  string            `json:"sandbox"`
	Note     string            `json:"note"`
	Resolved map[string]string `json:"resolved"` // allowed name -> absolute path, for the installed ones
}

// RunRequest is POST /v1/run. Workspace names a directory directly under
// the service's WORKSPACE_ROOT (a task id), never a path: the worker cannot
// point the service anywhere else.
type RunRequest struct {
	Workspace string   `json:"workspace"`
	Argv      []string `json:"argv"`
	Cwd       string   `json:"cwd,omitempty"`
	Purpose   string   `json:"purpose,omitempty"`
	RunID     string   `json:"run_id,omitempty"`
}

// RunResponse is POST /v1/run's answer.
type RunResponse struct {
	Result runner.Result `json:"result"`
}

// workspaceName is what a workspace directory under WORKSPACE_ROOT is called.
var workspaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
