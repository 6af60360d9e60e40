package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ai-platform/internal/config"
	"ai-platform/internal/task"
)

// Error codes in Result.Error. Other failures to start a command carry the
// error's own message.
const (
	ErrNotAllowed          = "command_not_allowed"
	ErrNotFound            = "command_not_found"
	ErrWorkspaceInvalid    = "workspace_invalid"
	ErrCwdOutsideWorkspace = "cwd_outside_workspace"
	ErrCwdNotFound         = "cwd_not_found"
	ErrTimeout             = "timeout"
	ErrCancelled           = "cancelled"
)

// DefaultPath is the lookup PATH when Config.Path is empty.
const DefaultPath = "/usr/local/bin:/usr/bin:/bin"

// DefaultHeartbeatEvery is the heartbeat period when Config.HeartbeatEvery is zero.
const DefaultHeartbeatEvery = 5 * time.Second

// defaultWaitDelay bounds how long Run still waits for the output pipes once
// the child has exited or been killed: a process that left the group (or, in
// none mode, outlives its parent while holding them) could keep them open
// indefinitely.
const defaultWaitDelay = 2 * time.Second

// Config comes from the platform config (ALLOWED_COMMANDS,
// COMMAND_TIMEOUT_SECONDS, COMMAND_MAX_OUTPUT_BYTES, COMMAND_SANDBOX).
type Config struct {
	Allowed        []string      // basenames allowed as argv[0], e.g. ruff,pytest,python,python3
	Timeout        time.Duration // per command
	MaxOutput      int           // bytes kept per stream
	Sandbox        string        // "auto" | "bwrap" | "none"; "" means "auto"
	Path           string        // lookup PATH for argv[0] (and bwrap); default DefaultPath
	HeartbeatEvery time.Duration // default DefaultHeartbeatEvery
}

// Spec is one command to run.
type Spec struct {
	Argv    []string
	Dir     string // absolute path of the task workspace (the only writable place)
	Cwd     string // relative to Dir, "" = Dir
	Purpose string // e.g. "lint", "tests", "compile"
	RunID   string // caller-supplied deterministic id, echoed in Result
	// Heartbeat, if set, is called every Config.HeartbeatEvery while the
	// command runs, from another goroutine; Run returns only after the last
	// call has finished.
	Heartbeat func(elapsed time.Duration)
}

// Result describes one command run. The JSON field names are a wire contract.
type Result struct {
	Ran             bool    `json:"ran"`
	Command         string  `json:"command"` // argv joined by spaces
	ExitCode        *int    `json:"exit_code"`
	Stdout          string  `json:"stdout"`
	Stderr          string  `json:"stderr"`
	DurationSeconds float64 `json:"duration_seconds"`
	TimedOut        bool    `json:"timed_out"`
	Blocked         bool    `json:"blocked"`
	Error           string  `json:"error"`
	StdoutTruncated bool    `json:"stdout_truncated"`
	StderrTruncated bool    `json:"stderr_truncated"`
	RunID           string  `json:"run_id"`
	StartedAt       string  `json:"started_at"`
	FinishedAt      string  `json:"finished_at"`
	Purpose         string  `json:"purpose"`
	Sandbox         string  `json:"sandbox"` // "bwrap" or "none"
	Skipped         bool    `json:"skipped"`
	SkipReason      string  `json:"skip_reason,omitempty"`
}

// Runner runs allow-listed commands in task workspaces. It is immutable after
// New and safe for concurrent use.
type Runner struct {
	cfg       Config
	pathDirs  []string
	mode      string        // effective sandbox: config.SandboxBwrap or config.SandboxNone
	note      string        // why mode was chosen
	bwrap     string        // bwrap executable, in bwrap mode
	bwrapBase []string      // bwrap arguments shared by every run
	waitDelay time.Duration // defaultWaitDelay; tests lengthen it to catch reliance on it
}

// New validates cfg and settles the sandbox mode. In "auto" and "bwrap" it
// runs one trivial command under bwrap; "auto" falls back to "none" (the
// reason is in SandboxNote), "bwrap" returns the error.
func New(cfg Config) (*Runner, error) {
	cfg.Allowed = slices.Clone(cfg.Allowed)
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if cfg.HeartbeatEvery == 0 {
		cfg.HeartbeatEvery = DefaultHeartbeatEvery
	}
	if cfg.Sandbox == "" {
		cfg.Sandbox = config.SandboxAuto
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}
	dirs, err := splitPath(cfg.Path)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, pathDirs: dirs, mode: config.SandboxNone, waitDelay: defaultWaitDelay}
	if cfg.Sandbox == config.SandboxNone {
		r.note = "sandbox disabled by configuration"
		return r, nil
	}
	if err := r.setupBwrap(); err != nil {
		if cfg.Sandbox == config.SandboxBwrap {
			return nil, fmt.Errorf("runner: sandbox %q requested but bwrap does not work: %w", cfg.Sandbox, err)
		}
		r.note = "bwrap unavailable: " + err.Error()
		return r, nil
	}
	r.mode = config.SandboxBwrap
	r.note = "bwrap at " + r.bwrap + " passed its probe"
	return r, nil
}

func validate(cfg Config) error {
	if len(cfg.Allowed) == 0 {
		return errors.New("runner: Allowed must name at least one executable")
	}
	for _, name := range cfg.Allowed {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
			return fmt.Errorf("runner: Allowed entry %q must be a bare executable name", name)
		}
	}
	switch {
	case cfg.Timeout <= 0:
		return fmt.Errorf("runner: Timeout must be positive, got %v", cfg.Timeout)
	case cfg.MaxOutput <= 0:
		return fmt.Errorf("runner: MaxOutput must be positive, got %d", cfg.MaxOutput)
	case cfg.HeartbeatEvery < 0:
		return fmt.Errorf("runner: HeartbeatEvery must not be negative, got %v", cfg.HeartbeatEvery)
	}
	switch cfg.Sandbox {
	case config.SandboxAuto, config.SandboxBwrap, config.SandboxNone:
		return nil
	}
	return fmt.Errorf("runner: Sandbox %q must be auto, bwrap or none", cfg.Sandbox)
}

// setupBwrap finds bwrap on the runner's own Path and probes it.
func (r *Runner) setupBwrap() error {
	for _, d := range r.pathDirs {
		if p := filepath.Join(d, "bwrap"); isExecutable(p) {
			r.bwrap = p
			break
		}
	}
	if r.bwrap == "" {
		return fmt.Errorf("bwrap not found on %s", r.cfg.Path)
	}
	r.bwrapBase = bwrapBase(r.pathDirs)
	return probeBwrap(r.bwrap, r.bwrapBase, r.pathDirs)
}

// Sandbox returns the effective sandbox mode: "bwrap" or "none".
func (r *Runner) Sandbox() string { return r.mode }

// SandboxNote says why the sandbox mode was chosen, e.g. "bwrap unavailable: <reason>".
func (r *Runner) SandboxNote() string { return r.note }

// Run executes s and describes the outcome. It never returns before the
// command and every process of its group are gone (or WaitDelay has passed
// for a process that left the group). Only Ran && ExitCode == 0 is a pass:
// a non-zero exit is reported, not judged, and Error is empty for it.
func (r *Runner) Run(ctx context.Context, s Spec) Result {
	res := Result{
		Command:   strings.Join(s.Argv, " "),
		RunID:     s.RunID,
		Purpose:   s.Purpose,
		Sandbox:   r.mode,
		StartedAt: task.FormatTime(time.Now()),
	}
	r.run(ctx, s, &res)
	res.FinishedAt = task.FormatTime(time.Now())
	return res
}

// run applies the checks in order (allow-list, workspace, installed) and
// executes the command if they pass.
func (r *Runner) run(ctx context.Context, s Spec, res *Result) {
	var name string
	if len(s.Argv) > 0 {
		name = s.Argv[0]
	}
	path, status := r.lookup(name)
	if status == lookupNotAllowed {
		res.Blocked, res.Error = true, ErrNotAllowed
		return
	}
	dir, cwd, code := workdir(s.Dir, s.Cwd)
	if code != "" {
		res.Error = code
		return
	}
	if status == lookupNotInstalled {
		res.Skipped, res.Error = true, ErrNotFound
		res.SkipReason = filepath.Base(name) + " is not installed"
		return
	}
	if ctx.Err() != nil {
		res.Error = ErrCancelled
		return
	}

	home := sandboxHome
	if r.mode == config.SandboxNone {
		h, err := os.MkdirTemp("", "runner-home-")
		if err != nil {
			res.Error = err.Error()
			return
		}
		defer os.RemoveAll(h)
		home = h
	}
	env := childEnv(r.cfg.Path, home, cwd)

	// The clock starts before the timeout does, so a timed-out run always
	// reports at least Config.Timeout.
	begin := time.Now()
	runCtx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, errTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if r.mode == config.SandboxBwrap {
		cmd = exec.CommandContext(runCtx, r.bwrap, bwrapArgs(r.bwrapBase, dir, cwd, env, path, s.Argv[1:])...)
		cmd.Env, cmd.Dir = []string{}, "/"
	} else {
		cmd = exec.CommandContext(runCtx, path, s.Argv[1:]...)
		cmd.Env, cmd.Dir = env, cwd
	}
	r.execute(runCtx, cmd, begin, s.Heartbeat, res)
}

// errTimeout is the cancel cause of a run that exceeded Config.Timeout.
var errTimeout = errors.New("runner: command timed out")

// childEnv is the complete environment of a command. PWD is included because
// bwrap always sets it after --chdir; setting it in both modes keeps them alike.
func childEnv(path, home, cwd string) []string {
	return []string{
		"PATH=" + path,
		"HOME=" + home,
		"TMPDIR=" + home,
		"PWD=" + cwd,
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONHASHSEED=0",
		"PYTHONUNBUFFERED=1",
	}
}
