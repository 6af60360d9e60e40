package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/config"
)

// testAllowed is the platform's default allow-list.
var testAllowed = []string{"ruff", "pytest", "python", "python3"}

// newRunner builds a Runner in the given sandbox mode with generous limits;
// edit adjusts the Config first. A bwrap runner that cannot be built skips
// the test, saying why.
func newRunner(t testing.TB, mode string, edit func(*Config)) *Runner {
	t.Helper()
	cfg := Config{
		Allowed:   testAllowed,
		Timeout:   30 * time.Second,
		MaxOutput: 64 << 10,
		Sandbox:   mode,
	}
	if edit != nil {
		edit(&cfg)
	}
	r, err := New(cfg)
	if err == nil {
		t.Cleanup(r.Close)
	}
	if err != nil {
		if mode == config.SandboxBwrap {
			t.Skipf("bwrap sandbox not usable on this machine: %v", err)
		}
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return r
}

// eachMode runs f once per sandbox mode, as subtests named after the mode.
func eachMode(t *testing.T, edit func(*Config), f func(t *testing.T, r *Runner)) {
	for _, mode := range []string{config.SandboxNone, config.SandboxBwrap} {
		t.Run(mode, func(t *testing.T) {
			f(t, newRunner(t, mode, edit))
		})
	}
}

// workspace returns a fresh workspace directory with symlinks resolved.
func workspace(t testing.TB) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// py is the argv that runs a python snippet.
func py(code string, args ...string) []string {
	return append([]string{"python3", "-c", code}, args...)
}

// run runs argv in dir with a test-sized deadline.
func run(t testing.TB, r *Runner, dir string, argv ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return r.Run(ctx, Spec{Argv: argv, Dir: dir})
}

// mustExit fails the test unless res ran and exited with want.
func mustExit(t testing.TB, res Result, want int) {
	t.Helper()
	if !res.Ran || res.ExitCode == nil || *res.ExitCode != want || res.Error != "" {
		t.Fatalf("want a run exiting %d, got ran=%v exit=%s error=%q\nstdout: %s\nstderr: %s",
			want, res.Ran, fmtExit(res.ExitCode), res.Error, res.Stdout, res.Stderr)
	}
}

func fmtExit(code *int) string {
	if code == nil {
		return "nil"
	}
	return strconv.Itoa(*code)
}

// writeExec creates an executable file.
func writeExec(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// alive reports whether pid is a live process; a zombie is dead (this
// container's init does not reap orphans, so killed ones linger as zombies).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	state := stat[i+2]
	return state != 'Z' && state != 'X'
}

// liveWithArg returns the pids of live processes one of whose arguments is
// arg (bwrap's own processes included, as the command is in their argv). It
// sees processes inside bwrap's PID namespace too, under host pids.
func liveWithArg(arg string) []int {
	return liveMatching(func(argv []string) bool { return slices.Contains(argv, arg) })
}

// liveCommand returns the pids of live processes whose argv is exactly argv.
func liveCommand(argv ...string) []int {
	return liveMatching(func(a []string) bool { return slices.Equal(a, argv) })
}

func liveMatching(match func(argv []string) bool) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(cmdline) == 0 {
			continue
		}
		if match(strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// eventually polls cond for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// reachableTempDir is a temporary directory that the commands' unprivileged
// uid can pass through (t.TempDir's parent is private to root), for a
// runner's scratch root.
func reachableTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "runner-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unmountUnder(dir) // what a killed helper process left mounted
		removeTree(dir)
	})
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return dir
}
