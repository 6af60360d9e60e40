package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
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
	ErrSandboxUnavailable  = "sandbox_unavailable"
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
	Limits         Limits        // zero fields take the defaults
	// UID is the uid (and gid) commands run as when the runner is root:
	// 0 means DefaultUID, a negative value keeps root (tests only). A runner
	// that is not root runs commands as its own uid, which is not root either.
	UID int
	// ScratchRoot holds each run's private copy of the workspace; default
	// $TMPDIR/aiplatform-runs.
	ScratchRoot string
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
	Sandbox         string  `json:"sandbox"` // "bwrap" or "none" (with "remote+" in front when a sandbox service ran it)
	Skipped         bool    `json:"skipped"`
	SkipReason      string  `json:"skip_reason,omitempty"`
	// QuotaExceeded: the command outgrew its workspace quota or the file
	// size limit and was stopped; Error is ErrQuotaExceeded and QuotaDetail
	// says which limit.
	QuotaExceeded bool   `json:"quota_exceeded,omitempty"`
	QuotaDetail   string `json:"quota_detail,omitempty"`
	// UID is the uid the command ran as.
	UID *int `json:"uid,omitempty"`
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
	prlimit   string        // util-linux prlimit, which applies Limits
	uid, gid  int           // first uid (and gid) of the pool commands run as; -1 keeps the runner's own
	nextUID   atomic.Uint32 // round-robin position in the uid pool
	python    string        // the launcher's interpreter for sandboxes started ahead; "" = none
	pool      chan *warm    // sandboxes started ahead (bwrap mode)
	filling   atomic.Bool   // a refill is running
	closed    atomic.Bool   // Close was called
	mount     bool          // a tmpfs per run bounds the workspace (needs CAP_SYS_ADMIN)
	watch     time.Duration // the quota watchdog's period when mount is false
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
	r := &Runner{cfg: cfg, pathDirs: dirs, mode: config.SandboxNone, waitDelay: defaultWaitDelay, watch: defaultWatchEvery}
	if err := r.setupLimits(); err != nil {
		return nil, err
	}
	if cfg.Sandbox == config.SandboxNone {
		r.note = "sandbox disabled by configuration (COMMAND_SANDBOX=none): commands run unconfined on the host"
		return r, nil
	}
	// Fail closed: "auto" no longer falls back to running generated code
	// unconfined. Only an explicit COMMAND_SANDBOX=none does that.
	if err := r.setupBwrap(); err != nil {
		return nil, fmt.Errorf("runner: no working sandbox (COMMAND_SANDBOX=%s): bwrap does not work: %w; "+
			"install bubblewrap, or set COMMAND_SANDBOX=none to run generated code unsandboxed (development only)", cfg.Sandbox, err)
	}
	r.mode = config.SandboxBwrap
	r.note = "bwrap at " + r.bwrap + " passed its probe"
	r.pool = make(chan *warm, warmSize)
	for _, d := range r.pathDirs {
		if p := filepath.Join(d, "python3"); isExecutable(p) {
			r.python = p
			break
		}
	}
	return r, nil
}

// uidPool is how many uids, from Config.UID on, commands take in turn. Each
// run gets the next one, so RLIMIT_NPROC (counted per uid) is one run's
// budget rather than one shared by every command on the host, and two
// concurrent runs cannot signal or trace each other's processes. Reuse comes
// only after uidPool later runs, by when the killed processes of a run have
// long been reaped.
const uidPool = 512

// runUID is the uid for the next command, or -1 to keep the runner's own.
func (r *Runner) runUID() int {
	if r.uid < 0 {
		return -1
	}
	return r.uid + int(r.nextUID.Add(1)%uidPool)
}

// defaultWatchEvery is how often the quota watchdog measures a run's
// workspace when no tmpfs bounds it.
const defaultWatchEvery = 100 * time.Millisecond

// setupLimits finds prlimit, settles the uid commands run as, and whether
// each run gets its own size-limited tmpfs.
func (r *Runner) setupLimits() error {
	r.cfg.Limits = r.cfg.Limits.withDefaults(int(r.cfg.Timeout / time.Second))
	for _, d := range r.pathDirs {
		if p := filepath.Join(d, "prlimit"); isExecutable(p) {
			r.prlimit = p
			break
		}
	}
	if r.prlimit == "" {
		return fmt.Errorf("runner: prlimit (util-linux) not found on %s: it applies the per-command resource limits", r.cfg.Path)
	}
	r.uid, r.gid = -1, -1
	// Runners in other processes use the same pool: start at a random place
	// so that they rarely hand out the same uid at the same time.
	r.nextUID.Store(rand.Uint32())
	if os.Geteuid() == 0 && r.cfg.UID >= 0 {
		r.uid = r.cfg.UID
		if r.uid == 0 {
			r.uid = DefaultUID
		}
		r.gid = r.uid
	}
	if r.cfg.ScratchRoot == "" {
		r.cfg.ScratchRoot = filepath.Join(os.TempDir(), "aiplatform-runs")
	}
	if err := os.MkdirAll(r.cfg.ScratchRoot, 0o711); err != nil {
		return fmt.Errorf("runner: scratch root: %w", err)
	}
	// The command's uid must be able to reach its run directory.
	if err := os.Chmod(r.cfg.ScratchRoot, 0o711); err != nil {
		return fmt.Errorf("runner: scratch root: %w", err)
	}
	if r.uid >= 0 {
		if err := reachable(r.cfg.ScratchRoot); err != nil {
			return fmt.Errorf("runner: scratch root %s (COMMAND_SCRATCH_DIR) is not reachable by the commands' uids: %w", r.cfg.ScratchRoot, err)
		}
	}
	cleanStaleScratch(r.cfg.ScratchRoot)
	r.mount = canMount(r.cfg.ScratchRoot)
	return nil
}

// reachable checks that every directory on the way to dir lets others pass
// (the execute bit for others), as a command's uid needs.
func reachable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s is mode %04o", d, fi.Mode().Perm())
		}
		if d == "/" || d == "." {
			return nil
		}
	}
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
	r.bwrapBase = bwrapBase(r.pathDirs, r.cfg.Limits.TmpBytes)
	return r.probeBwrap()
}

// Sandbox returns the effective sandbox mode: "bwrap" or "none".
func (r *Runner) Sandbox() string { return r.mode }

// SandboxNote says why the sandbox mode was chosen and how commands are confined.
func (r *Runner) SandboxNote() string {
	who := "the runner's own uid " + strconv.Itoa(os.Geteuid())
	if r.uid >= 0 {
		who = "uid " + strconv.Itoa(r.uid)
	}
	quota := "a watchdog every " + r.watch.String()
	if r.mount {
		quota = "a size-limited tmpfs per run"
	}
	l := r.cfg.Limits
	return fmt.Sprintf("%s; commands run as %s with at most %d processes, %d-byte files, %d bytes of address space, "+
		"%d s of CPU; workspace quota %d bytes and %d entries (%s)", r.note, who, l.Processes, l.FileBytes,
		l.MemoryBytes, l.CPUSeconds, l.WorkspaceBytes, l.WorkspaceFiles, quota)
}

// rebase is cwd, a directory inside dir, moved to the same place under base
// (the run's copy of dir, as the command sees it).
func rebase(cwd, dir, base string) string {
	return filepath.Join(base, strings.TrimPrefix(strings.TrimPrefix(cwd, dir), "/"))
}

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
	ctx, span := startSpan(ctx, s, r.mode)
	r.run(ctx, s, &res)
	res.FinishedAt = task.FormatTime(time.Now())
	endSpan(span, res)
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

	if r.mode == config.SandboxBwrap && r.python != "" {
		defer r.refill()
		if w := r.takeWarm(); w != nil {
			r.runWarm(ctx, w, s, dir, cwd, path, res)
			return
		}
	}
	uid := r.runUID()
	sc, err := newScratch(r.cfg.ScratchRoot, dir, r.cfg.Limits, uid, uid, r.mount)
	if err != nil {
		res.Error = "runner: " + err.Error()
		return
	}
	defer sc.remove()
	// In bwrap the command sees its copy at warmDir, as one started ahead
	// does; in none mode it runs in the copy itself.
	runDir, runCwd := warmDir, rebase(cwd, dir, warmDir)
	if r.mode == config.SandboxNone {
		runDir = sc.dir
		runCwd = rebase(cwd, dir, sc.dir)
	}
	home := sandboxHome
	if r.mode == config.SandboxNone {
		h, err := os.MkdirTemp(sc.dir, ".home-")
		if err != nil {
			res.Error = err.Error()
			return
		}
		home = h
		if uid >= 0 {
			_ = os.Lchown(h, uid, uid)
		}
	}
	env := childEnv(r.cfg.Path, home, runCwd)

	// The clock starts before the timeout does, so a timed-out run always
	// reports at least Config.Timeout.
	begin := time.Now()
	runCtx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, errTimeout)
	defer cancel()
	argv := append([]string{}, prlimitArgs(r.cfg.Limits)...)
	if r.mode == config.SandboxBwrap {
		argv = append(argv, r.bwrap)
		argv = append(argv, bwrapArgs(r.bwrapBase, sc.dir, runDir, runCwd, env, path, s.Argv[1:])...)
	} else {
		argv = append(argv, path)
		argv = append(argv, s.Argv[1:]...)
	}
	cmd := exec.CommandContext(runCtx, r.prlimit, argv...)
	if r.mode == config.SandboxBwrap {
		cmd.Env, cmd.Dir = []string{}, "/"
	} else {
		cmd.Env, cmd.Dir = env, runCwd
	}
	if uid >= 0 {
		res.UID = &uid
	}
	r.execute(runCtx, cmd, begin, s.Heartbeat, sc, uid, res)
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

// Executor runs the review's commands: a local *Runner, or a client of the
// sandbox service that runs them in its own process (internal/sandbox).
type Executor interface {
	Run(ctx context.Context, s Spec) Result
	Resolve(name string) (string, bool)
	Sandbox() string
	SandboxNote() string
}

// Allowed returns the allow-listed executable names.
func (r *Runner) Allowed() []string { return slices.Clone(r.cfg.Allowed) }
