package runner

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/config"
)

func TestNewRejectsBadConfig(t *testing.T) {
	good := Config{Allowed: testAllowed, Timeout: time.Second, MaxOutput: 10, Sandbox: config.SandboxNone}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no allowed commands", func(c *Config) { c.Allowed = nil }},
		{"allowed entry is a path", func(c *Config) { c.Allowed = []string{"/usr/bin/python3"} }},
		{"allowed entry is relative path", func(c *Config) { c.Allowed = []string{"bin/pytest"} }},
		{"allowed entry empty", func(c *Config) { c.Allowed = []string{"pytest", ""} }},
		{"allowed entry dot-dot", func(c *Config) { c.Allowed = []string{".."} }},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }},
		{"zero max output", func(c *Config) { c.MaxOutput = 0 }},
		{"negative heartbeat", func(c *Config) { c.HeartbeatEvery = -time.Second }},
		{"unknown sandbox", func(c *Config) { c.Sandbox = "docker" }},
		{"relative path entry", func(c *Config) { c.Path = "/usr/bin:bin" }},
		{"dot path entry", func(c *Config) { c.Path = ".:/usr/bin" }},
		{"empty path entry", func(c *Config) { c.Path = "/usr/bin::/bin" }},
	}
	if _, err := New(good); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			if r, err := New(cfg); err == nil {
				t.Errorf("New(%+v) = %+v, nil; want an error", cfg, r)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	allowed := []string{"python3"}
	r, err := New(Config{Allowed: allowed, Timeout: time.Second, MaxOutput: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r.cfg.Path != DefaultPath || r.cfg.HeartbeatEvery != DefaultHeartbeatEvery || r.cfg.Sandbox != config.SandboxAuto {
		t.Errorf("defaults: Path %q, HeartbeatEvery %v, Sandbox %q", r.cfg.Path, r.cfg.HeartbeatEvery, r.cfg.Sandbox)
	}
	if m := r.Sandbox(); m != config.SandboxBwrap && m != config.SandboxNone {
		t.Errorf("Sandbox() = %q", m)
	}
	allowed[0] = "sh" // the caller's slice must not reach into the Runner
	if _, ok := r.Resolve("sh"); ok {
		t.Error("Runner shares the caller's Allowed slice")
	}
}

// New really runs bwrap: a bwrap that is installed but fails must not be trusted.
func TestNewSandboxSelection(t *testing.T) {
	broken := t.TempDir()
	writeExec(t, filepath.Join(broken, "bwrap"), "#!/bin/sh\necho 'bwrap: no namespaces for you' >&2\nexit 1\n")
	missing := "/nonexistent-runner-test"
	tests := []struct {
		name, sandbox, path string
		wantErr             string // "" = New succeeds
	}{
		{"none by configuration", config.SandboxNone, DefaultPath, ""},
		{"none without prlimit", config.SandboxNone, missing, "prlimit (util-linux) not found"},
		{"auto without bwrap", config.SandboxAuto, "/usr/bin", "no working sandbox (COMMAND_SANDBOX=auto): bwrap does not work: bwrap not found"},
		{"auto with broken bwrap", config.SandboxAuto, broken + ":/usr/bin", "no working sandbox (COMMAND_SANDBOX=auto): bwrap does not work"},
		{"bwrap without bwrap", config.SandboxBwrap, "/usr/bin", "bwrap not found"},
		{"bwrap with broken bwrap", config.SandboxBwrap, broken + ":/usr/bin", "bwrap does not work"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == "/usr/bin" {
				if _, err := os.Stat("/usr/bin/bwrap"); err == nil {
					// Debian installs bwrap in /usr/bin: hide it behind a PATH without it.
					tt.path = prlimitOnly(t)
				}
			}
			r, err := New(Config{Allowed: testAllowed, Timeout: time.Second, MaxOutput: 10, Sandbox: tt.sandbox, Path: tt.path})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Sandbox() != config.SandboxNone || !strings.HasPrefix(r.SandboxNote(), "sandbox disabled by configuration") {
				t.Errorf("Sandbox() = %q, SandboxNote() = %q; want none, disabled by configuration", r.Sandbox(), r.SandboxNote())
			}
		})
	}
}

// prlimitOnly returns a PATH directory holding prlimit and true but no bwrap.
func prlimitOnly(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range []string{"prlimit", "true"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("%s not installed", name)
		}
		if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// needDebianPytest skips a test that relies on Debian's python3-pytest
// (/usr/bin/pytest, importable by /usr/bin/python3) on a machine without it;
// in CI, which installs it, its absence is a failure.
func needDebianPytest(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/pytest"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-pytest is not installed (CI=true): %v", err)
		}
		t.Skip("needs Debian's python3-pytest (apt-get install python3-pytest)")
	}
}

func TestResolve(t *testing.T) {
	needDebianPytest(t)
	bin := t.TempDir()
	writeExec(t, filepath.Join(bin, "pytest"), "#!/usr/bin/python3\n")
	if err := os.WriteFile(filepath.Join(bin, "ruff"), []byte("not executable"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(bin, "python"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, config.SandboxNone, func(c *Config) { c.Path = bin + ":/usr/bin:/bin" })
	tests := []struct {
		name string
		want string // "" = not resolvable
	}{
		{"python3", "/usr/bin/python3"},
		{"pytest", filepath.Join(bin, "pytest")}, // first Path entry wins
		{"/usr/bin/python3", "/usr/bin/python3"},
		{"/bin/python3", "/bin/python3"},
		{"/usr/bin/../bin/python3", "/usr/bin/python3"},
		{"/usr/bin/pytest", "/usr/bin/pytest"},
		{"ruff", ""},   // allowed, present but not executable
		{"python", ""}, // allowed, a directory
		{"sh", ""},     // installed, not allowed
		{"/bin/sh", ""},
		{"/usr/lib/python3/python3", ""}, // allowed basename, not on Path
		{"/usr/local/bin/python3", ""},   // not on this Path
		{"./python3", ""},
		{"bin/python3", ""},
		{"python3/", ""},
		{"", ""},
		{"python3\x00", ""},
	}
	for _, tt := range tests {
		got, ok := r.Resolve(tt.name)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.want != "")
		}
	}
}

func TestRunBlocked(t *testing.T) {
	r := newRunner(t, config.SandboxNone, nil)
	ws := workspace(t)
	writeExec(t, filepath.Join(ws, "python3"), "#!/bin/sh\ntouch pwned\n")
	for _, argv := range [][]string{
		nil,
		{"sh", "-c", "touch pwned"},
		{"/bin/sh", "-c", "touch pwned"},
		{"bash", "-c", "touch pwned"},
		{"./python3"}, // a workspace file named like an allowed tool
		{filepath.Join(ws, "python3")},
		{"python3 -c pass"}, // no word splitting
		{"env", "python3", "-c", "pass"},
	} {
		res := r.Run(context.Background(), Spec{Argv: argv, Dir: ws, RunID: "r1"})
		want := Result{Command: strings.Join(argv, " "), Blocked: true, Error: ErrNotAllowed, RunID: "r1",
			Sandbox: config.SandboxNone, StartedAt: res.StartedAt, FinishedAt: res.FinishedAt}
		if res != want {
			t.Errorf("Run(%q) =\n %+v\nwant\n %+v", argv, res, want)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "pwned")); err == nil {
		t.Error("a blocked command ran")
	}
}

func TestRunNotInstalled(t *testing.T) {
	r := newRunner(t, config.SandboxNone, nil)
	if p, ok := r.Resolve("ruff"); ok {
		t.Skipf("ruff is installed here (%s)", p)
	}
	res := run(t, r, workspace(t), "ruff", "check", ".")
	if res.Ran || res.Blocked || !res.Skipped || res.Error != ErrNotFound ||
		res.SkipReason != "ruff is not installed" || res.ExitCode != nil || res.Command != "ruff check ." {
		t.Errorf("Run(ruff) = %+v", res)
	}
}

func TestRunCwd(t *testing.T) {
	ws := workspace(t)
	outside := workspace(t)
	for _, d := range []string{"sub/deeper", "sub2"} {
		if err := os.MkdirAll(filepath.Join(ws, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"link-out":  outside,
		"link-up":   "..",
		"link-in":   "sub",
		"link-root": "/",
		"dangling":  "/nonexistent-runner-test",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(ws, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(ws, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir, cwd string
		wantDir  string // where the command runs; "" = must not run
		wantErr  string
	}{
		{ws, "", ws, ""},
		{ws, ".", ws, ""},
		{ws, "sub", filepath.Join(ws, "sub"), ""},
		{ws, "sub/deeper/", filepath.Join(ws, "sub/deeper"), ""},
		{ws, "link-in", filepath.Join(ws, "sub"), ""},
		{ws, "..", "", ErrCwdOutsideWorkspace},
		{ws, "sub/../sub2", "", ErrCwdOutsideWorkspace},
		{ws, "sub/../..", "", ErrCwdOutsideWorkspace},
		{ws, outside, "", ErrCwdOutsideWorkspace},
		{ws, "/tmp", "", ErrCwdOutsideWorkspace},
		{ws, "link-out", "", ErrCwdOutsideWorkspace},
		{ws, "link-up", "", ErrCwdOutsideWorkspace},
		{ws, "link-root", "", ErrCwdOutsideWorkspace},
		{ws, "missing", "", ErrCwdNotFound},
		{ws, "dangling", "", ErrCwdNotFound},
		{ws, "file", "", ErrCwdNotFound},
		{ws, "file/sub", "", ErrCwdNotFound},
		{"relative/ws", "", "", ErrWorkspaceInvalid},
		{filepath.Join(ws, "nope"), "", "", ErrWorkspaceInvalid},
		{"/", "", "", ErrWorkspaceInvalid},
	}
	eachMode(t, nil, func(t *testing.T, r *Runner) {
		for _, tt := range tests {
			res := r.Run(context.Background(), Spec{Argv: py("import os; print(os.getcwd())"), Dir: tt.dir, Cwd: tt.cwd})
			if tt.wantDir == "" {
				if res.Ran || res.Error != tt.wantErr || res.ExitCode != nil {
					t.Errorf("Dir %q Cwd %q: ran=%v error=%q; want not run, %q", tt.dir, tt.cwd, res.Ran, res.Error, tt.wantErr)
				}
				continue
			}
			mustExit(t, res, 0)
			got := strings.TrimSpace(res.Stdout)
			if r.Sandbox() == config.SandboxNone {
				// Without bwrap the run's copy cannot sit at the workspace's
				// path: the command runs in the copy itself.
				if rel := strings.TrimPrefix(tt.wantDir, tt.dir); !strings.HasPrefix(got, r.cfg.ScratchRoot+"/") || !strings.HasSuffix(got, rel) {
					t.Errorf("Dir %q Cwd %q: ran in %q, want the run's copy + %q", tt.dir, tt.cwd, got, rel)
				}
				continue
			}
			// In bwrap the copy is at warmDir.
			if want := warmDir + strings.TrimPrefix(tt.wantDir, tt.dir); got != want {
				t.Errorf("Dir %q Cwd %q: ran in %q, want %q", tt.dir, tt.cwd, got, want)
			}
		}
	})
}

func TestRunResultMetadata(t *testing.T) {
	eachMode(t, nil, func(t *testing.T, r *Runner) {
		before := time.Now().UTC().Truncate(time.Microsecond)
		res := r.Run(context.Background(), Spec{
			Argv: py("import time; time.sleep(0.2)"), Dir: workspace(t), Purpose: "tests", RunID: "run-42",
		})
		after := time.Now().UTC()
		mustExit(t, res, 0)
		if res.RunID != "run-42" || res.Purpose != "tests" || res.Sandbox != r.Sandbox() ||
			res.Command != `python3 -c import time; time.sleep(0.2)` {
			t.Errorf("echoed fields: %+v", res)
		}
		start, err1 := time.Parse(time.RFC3339, res.StartedAt)
		end, err2 := time.Parse(time.RFC3339, res.FinishedAt)
		if err1 != nil || err2 != nil || !strings.HasSuffix(res.StartedAt, "Z") || !strings.HasSuffix(res.FinishedAt, "Z") {
			t.Fatalf("timestamps %q, %q: %v, %v", res.StartedAt, res.FinishedAt, err1, err2)
		}
		if start.Before(before) || end.Before(start) || end.After(after) {
			t.Errorf("timestamps %v..%v not within %v..%v", start, end, before, after)
		}
		wall := end.Sub(start).Seconds()
		if res.DurationSeconds < 0.2 || res.DurationSeconds > wall+0.001 {
			t.Errorf("DurationSeconds = %v, want >= 0.2 and <= %v", res.DurationSeconds, wall)
		}
	})
	r := newRunner(t, config.SandboxNone, nil)
	res := run(t, r, workspace(t), "sh")
	if res.DurationSeconds != 0 || res.StartedAt == "" || res.FinishedAt == "" {
		t.Errorf("blocked run: duration %v, started %q, finished %q", res.DurationSeconds, res.StartedAt, res.FinishedAt)
	}
}

// The JSON field names are a wire contract with the old system's command_log.
func TestResultJSON(t *testing.T) {
	want := []string{"blocked", "command", "duration_seconds", "error", "exit_code", "finished_at", "purpose",
		"ran", "run_id", "sandbox", "skipped", "started_at", "stderr", "stderr_truncated", "stdout",
		"stdout_truncated", "timed_out"}
	keys := func(v any) ([]string, map[string]any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks, m
	}
	got, m := keys(Result{})
	if !slices.Equal(got, want) || m["exit_code"] != nil {
		t.Errorf("fields %v (exit_code %v), want %v with exit_code null", got, m["exit_code"], want)
	}
	code := 0
	got, m = keys(Result{ExitCode: &code, SkipReason: "ruff is not installed"})
	if !slices.Contains(got, "skip_reason") || m["exit_code"] != 0.0 {
		t.Errorf("fields %v, exit_code %v", got, m["exit_code"])
	}
}
