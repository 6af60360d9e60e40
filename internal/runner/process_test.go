package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ai-platform/internal/config"
)

// No shell: metacharacters reach the program as plain text.
func TestRunNoShell(t *testing.T) {
	args := []string{"$(touch pwned)", "; touch pwned", "`touch pwned`", "*", "a b", "> out", "$HOME"}
	eachMode(t, nil, func(t *testing.T, r *Runner) {
		ws := workspace(t)
		res := run(t, r, ws, py("import sys; print('\\n'.join(sys.argv[1:]))", args...)...)
		mustExit(t, res, 0)
		if got := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n"); strings.Join(got, "|") != strings.Join(args, "|") {
			t.Errorf("argv seen by the child: %q, want %q", got, args)
		}
		entries, _ := os.ReadDir(ws)
		if len(entries) != 0 {
			t.Errorf("workspace changed: %v", entries)
		}
	})
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name string
		code string
		want int
	}{
		{"success", "pass", 0},
		{"failure", "import sys; sys.exit(3)", 3},
		{"uncaught exception", "raise SystemExit('boom')", 1},
		{"killed by signal", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)", 128 + 15},
	}
	eachMode(t, nil, func(t *testing.T, r *Runner) {
		for _, tt := range tests {
			res := run(t, r, workspace(t), py(tt.code)...)
			if !res.Ran || res.ExitCode == nil || *res.ExitCode != tt.want || res.Error != "" || res.TimedOut {
				t.Errorf("%s: ran=%v exit=%s error=%q timed_out=%v; want exit %d, no error",
					tt.name, res.Ran, fmtExit(res.ExitCode), res.Error, res.TimedOut, tt.want)
			}
		}
	})
}

// An allowed, installed tool that cannot be executed is an error with the
// system's message, not a skip and not an exit code.
func TestRunExecFailure(t *testing.T) {
	bin := reachableTempDir(t)
	writeExec(t, filepath.Join(bin, "ruff"), "#!/nonexistent/interpreter\n")
	eachMode(t, func(c *Config) { c.Path = bin + ":" + DefaultPath }, func(t *testing.T, r *Runner) {
		res := run(t, r, workspace(t), "ruff", "check")
		if res.Ran || res.ExitCode != nil || res.Skipped || res.Blocked ||
			!strings.Contains(strings.ToLower(res.Error), "no such file or directory") {
			t.Errorf("ran=%v exit=%s skipped=%v blocked=%v error=%q; want not run with the exec error",
				res.Ran, fmtExit(res.ExitCode), res.Skipped, res.Blocked, res.Error)
		}
	})
}

// A timeout kills the whole process group, including a grandchild that holds
// the output pipe open, keeps the partial output, and returns promptly.
func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	eachMode(t, func(c *Config) { c.Timeout = time.Second }, func(t *testing.T, r *Runner) {
		// The group kill itself must end the grandchild and so close the
		// pipe; a long WaitDelay makes leaning on that backstop obvious.
		r.waitDelay = time.Minute
		marker := fmt.Sprintf("37.%d", time.Now().UnixNano()%1e9)
		code := `import subprocess, sys, time
p = subprocess.Popen(["sleep", sys.argv[1]])  # inherits stdout
print("grandchild", p.pid, flush=True)
print("partial err", file=sys.stderr, flush=True)
time.sleep(60)`
		start := time.Now()
		res := run(t, r, workspace(t), py(code, marker)...)
		took := time.Since(start)
		if took > 5*time.Second {
			t.Errorf("Run took %v with a 1s timeout", took)
		}
		if !res.Ran || !res.TimedOut || res.Error != ErrTimeout || res.ExitCode != nil {
			t.Errorf("ran=%v timed_out=%v error=%q exit=%s; want a timeout", res.Ran, res.TimedOut, res.Error, fmtExit(res.ExitCode))
		}
		if !strings.HasPrefix(res.Stdout, "grandchild ") || res.Stderr != "partial err\n" {
			t.Fatalf("partial output lost: stdout %q stderr %q", res.Stdout, res.Stderr)
		}
		if res.DurationSeconds < 1 || res.DurationSeconds > took.Seconds() {
			t.Errorf("DurationSeconds = %v, Run took %v", res.DurationSeconds, took)
		}
		if !eventually(2*time.Second, func() bool { return len(liveWithArg(marker)) == 0 }) {
			t.Errorf("grandchild still alive: pids %v", liveWithArg(marker))
		}
		if r.Sandbox() == config.SandboxNone { // inside bwrap the printed pid is namespaced
			pid, _ := strconv.Atoi(strings.Fields(res.Stdout)[1])
			if alive(pid) {
				t.Errorf("grandchild pid %d still alive", pid)
			}
		}
	})
}

// What a command leaves behind in its group is killed when it exits, and a
// grandchild holding the pipe delays Run by at most WaitDelay.
func TestRunKillsLeftoversAfterExit(t *testing.T) {
	tests := []struct {
		name      string
		stdio     string // the grandchild's stdout and stderr
		waitDelay time.Duration
	}{
		// Nothing holds the pipes: Run must not wait for the backstop.
		{"detached from output", "subprocess.DEVNULL", time.Minute},
		{"holding the output pipes", "None", defaultWaitDelay},
	}
	for _, tt := range tests {
		// A runner of its own per case: waitDelay is set before its first
		// Run, and so before it starts sandboxes in the background.
		eachMode(t, nil, func(t *testing.T, r *Runner) {
			r.waitDelay = tt.waitDelay
			maxTook := min(tt.waitDelay, 10*time.Second) + 10*time.Second
			marker := fmt.Sprintf("38.%d", time.Now().UnixNano()%1e9)
			code := "import subprocess, sys\nsubprocess.Popen(['sleep', sys.argv[1]], stdout=" + tt.stdio + ", stderr=" + tt.stdio + ")\nprint('bye')"
			start := time.Now()
			res := run(t, r, workspace(t), py(code, marker)...)
			took := time.Since(start)
			mustExit(t, res, 0)
			if res.Stdout != "bye\n" || took > maxTook {
				t.Errorf("%s: stdout %q, took %v (max %v)", tt.name, res.Stdout, took, maxTook)
			}
			if !eventually(2*time.Second, func() bool { return len(liveWithArg(marker)) == 0 }) {
				t.Errorf("%s: leftover still alive: pids %v", tt.name, liveWithArg(marker))
			}
		})
	}
}

// The caller giving up (cancel, or its own deadline before Config.Timeout)
// kills the group and reports "cancelled", not a timeout of the command.
func TestRunCancelled(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}},
		{"caller deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}},
	}
	eachMode(t, nil, func(t *testing.T, r *Runner) {
		r.waitDelay = time.Minute // the group kill must do it, not the backstop
		for _, tt := range tests {
			marker := fmt.Sprintf("39.%d", time.Now().UnixNano()%1e9)
			ctx, cancel := tt.ctx()
			start := time.Now()
			res := r.Run(ctx, Spec{Argv: py("import os, sys; os.execvp('sleep', ['sleep', sys.argv[1]])", marker), Dir: workspace(t)})
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("%s: Run took %v after the context ended at 300ms", tt.name, took)
			}
			if !res.Ran || res.Error != ErrCancelled || res.TimedOut || res.ExitCode != nil {
				t.Errorf("%s: ran=%v error=%q timed_out=%v exit=%s; want cancelled",
					tt.name, res.Ran, res.Error, res.TimedOut, fmtExit(res.ExitCode))
			}
			if !eventually(2*time.Second, func() bool { return len(liveWithArg(marker)) == 0 }) {
				t.Errorf("%s: command still alive: pids %v", tt.name, liveWithArg(marker))
			}

			res = r.Run(ctx, Spec{Argv: py("pass"), Dir: workspace(t)})
			if res.Ran || res.Error != ErrCancelled {
				t.Errorf("%s: context already done: ran=%v error=%q", tt.name, res.Ran, res.Error)
			}
			cancel()
		}
	})
}

func TestRunOutputLimit(t *testing.T) {
	const limit = 1000
	tests := []struct {
		name      string
		code      string
		wantLen   int
		truncated bool
	}{
		{"exactly the limit", "w('x' * 1000)", 1000, false},
		{"one byte over", "w('x' * 1001)", 1000, true},
		{"far over", "w('x' * 5_000_000)", 1000, true},
		{"multi-byte rune split by the limit", "w('x' + 'é' * 600)", 999, true},
	}
	eachMode(t, func(c *Config) { c.MaxOutput = limit }, func(t *testing.T, r *Runner) {
		for _, tt := range tests {
			for _, stream := range []string{"stdout", "stderr"} {
				code := "import sys\ndef w(s): sys." + stream + ".write(s)\n" + tt.code
				res := run(t, r, workspace(t), py(code)...)
				mustExit(t, res, 0)
				out, trunc, other := res.Stdout, res.StdoutTruncated, res.Stderr+fmt.Sprint(res.StderrTruncated)
				if stream == "stderr" {
					out, trunc, other = res.Stderr, res.StderrTruncated, res.Stdout+fmt.Sprint(res.StdoutTruncated)
				}
				if len(out) != tt.wantLen || trunc != tt.truncated || other != "false" {
					t.Errorf("%s on %s: %d bytes, truncated %v (other stream %q); want %d, %v",
						tt.name, stream, len(out), trunc, other, tt.wantLen, tt.truncated)
				}
			}
		}
	})
}

func TestRunHeartbeat(t *testing.T) {
	eachMode(t, func(c *Config) { c.HeartbeatEvery = 50 * time.Millisecond }, func(t *testing.T, r *Runner) {
		var mu sync.Mutex
		var beats []time.Duration
		res := r.Run(context.Background(), Spec{
			Argv: py("import time; time.sleep(0.3)"), Dir: workspace(t),
			Heartbeat: func(d time.Duration) { mu.Lock(); beats = append(beats, d); mu.Unlock() },
		})
		mustExit(t, res, 0)
		mu.Lock()
		got := append([]time.Duration(nil), beats...)
		mu.Unlock()
		if len(got) < 2 {
			t.Fatalf("heartbeat called %d times during a 300ms command at 50ms", len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("elapsed not increasing: %v", got)
			}
		}
	})
}

// A heartbeat (say, a slow Temporal RecordHeartbeat) never runs past Run.
func TestRunHeartbeatNotAfterReturn(t *testing.T) {
	r := newRunner(t, config.SandboxNone, func(c *Config) { c.HeartbeatEvery = 10 * time.Millisecond })
	var inFlight, calls atomic.Int32
	res := r.Run(context.Background(), Spec{
		Argv: py("import time; time.sleep(0.2)"), Dir: workspace(t),
		Heartbeat: func(time.Duration) {
			// Slower than the period, so a call is nearly always in flight.
			inFlight.Add(1)
			time.Sleep(60 * time.Millisecond)
			calls.Add(1)
			inFlight.Add(-1)
		},
	})
	mustExit(t, res, 0)
	if n := inFlight.Load(); n != 0 {
		t.Errorf("%d heartbeat calls still running after Run returned", n)
	}
	seen := calls.Load()
	time.Sleep(100 * time.Millisecond)
	if seen == 0 || calls.Load() != seen {
		t.Errorf("heartbeat calls: %d when Run returned, %d later", seen, calls.Load())
	}
}

// One Runner serves many goroutines; results must not cross.
func TestRunConcurrent(t *testing.T) {
	eachMode(t, nil, func(t *testing.T, r *Runner) {
		const n = 12
		var wg sync.WaitGroup
		var failures atomic.Int32
		for i := range n {
			wg.Go(func() {
				ws := workspace(t)
				id := strconv.Itoa(i)
				res := r.Run(context.Background(), Spec{
					Argv:  py("import sys; open('mine', 'w').write(sys.argv[1]); print(sys.argv[1])", id),
					Dir:   ws,
					RunID: id,
				})
				// Each run writes into its own copy; none reaches the workspace.
				data, err := os.ReadFile(filepath.Join(ws, "mine"))
				if res.ExitCode == nil || *res.ExitCode != 0 || res.RunID != id || res.Stdout != id+"\n" || err == nil {
					failures.Add(1)
					t.Errorf("run %d: %+v, file %q", i, res, data)
				}
			})
		}
		wg.Wait()
		if failures.Load() != 0 {
			t.Errorf("%d of %d concurrent runs wrong", failures.Load(), n)
		}
	})
}

// Setsid puts the child in its own session and process group, so the group
// kill reaches everything it starts and no terminal is attached.
func TestRunOwnSessionAndGroup(t *testing.T) {
	r := newRunner(t, config.SandboxNone, nil)
	res := run(t, r, workspace(t), py("import os; p = os.getpid(); print(os.getpgid(0) == p, os.getsid(0) == p, os.getpgid(0) != os.getpgid(os.getppid()))")...)
	mustExit(t, res, 0)
	if res.Stdout != "True True True\n" {
		t.Errorf("group leader, session leader, not in the server's group: %q", res.Stdout)
	}
}

// helperEnv turns the test binary into a stand-in server for TestServerDeathKillsCommand.
const helperEnv = "RUNNER_TEST_HELPER_SERVER"

func TestHelperServer(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper process of TestServerDeathKillsCommand")
	}
	parts := strings.Split(spec, "|")
	r := newRunner(t, parts[0], nil)
	r.Run(context.Background(), Spec{Argv: py("import os, sys; os.execvp('sleep', ['sleep', sys.argv[1]])", parts[1]), Dir: parts[2]})
	t.Error("the command ended before the server was killed")
}

// A server killed with SIGKILL mid-command takes the command with it, so a
// restarted worker never races a ghost from its previous life.
//
// The kill waits until the command itself runs. Killed while bwrap is still
// setting up, its inner process can miss --die-with-parent and live on: a
// known bwrap race (containers/bubblewrap#633) this package cannot close.
func TestServerDeathKillsCommand(t *testing.T) {
	eachMode(t, nil, func(t *testing.T, r *Runner) {
		marker := fmt.Sprintf("41.%d", time.Now().UnixNano()%1e9)
		server := exec.Command(os.Args[0], "-test.run=^TestHelperServer$", "-test.count=1")
		// A server killed mid-run never removes its scratch HOME; keep that
		// inside the test's temp dir.
		server.Env = append(os.Environ(), helperEnv+"="+r.Sandbox()+"|"+marker+"|"+workspace(t), "TMPDIR="+reachableTempDir(t))
		if err := server.Start(); err != nil {
			t.Fatal(err)
		}
		started := eventually(10*time.Second, func() bool { return len(liveCommand("sleep", marker)) > 0 })
		_ = server.Process.Kill()
		_ = server.Wait()
		if !started {
			t.Fatal("the command never started")
		}
		if !eventually(3*time.Second, func() bool { return len(liveWithArg(marker)) == 0 }) {
			pids := liveWithArg(marker)
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Errorf("command outlived the server: pids %v", pids)
		}
	})
}
