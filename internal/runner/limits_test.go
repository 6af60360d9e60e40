package runner

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/config"
)

// limitedRunner is a runner with small limits and its own scratch root, in
// the given mode; tmpfs=false forces the watchdog even where a tmpfs could be
// mounted, so both quota mechanisms are tested on a root machine.
func limitedRunner(t *testing.T, mode string, tmpfs bool, edit func(*Config)) *Runner {
	t.Helper()
	root := reachableTempDir(t)
	r := newRunner(t, mode, func(c *Config) {
		c.Timeout = 20 * time.Second
		c.ScratchRoot = root
		c.Limits = Limits{Processes: 64, WorkspaceBytes: 16 << 20, WorkspaceFiles: 2000, TmpBytes: 8 << 20}
		if edit != nil {
			edit(c)
		}
	})
	if !tmpfs {
		r.mount = false
	}
	return r
}

// eachShape runs f for each sandbox mode and, where this process may mount,
// for both quota mechanisms.
func eachShape(t *testing.T, edit func(*Config), f func(t *testing.T, r *Runner)) {
	for _, mode := range []string{config.SandboxNone, config.SandboxBwrap} {
		for _, tmpfs := range []bool{true, false} {
			name := mode + "/watchdog"
			if tmpfs {
				name = mode + "/tmpfs"
			}
			t.Run(name, func(t *testing.T) {
				r := limitedRunner(t, mode, tmpfs, edit)
				if tmpfs && !r.mount {
					t.Skip("this process may not mount a tmpfs (not root)")
				}
				f(t, r)
				r.Close() // the sandbox started ahead for the next command
				if left, _ := os.ReadDir(r.cfg.ScratchRoot); len(left) != 0 {
					t.Errorf("the run left %d entries in the scratch root", len(left))
				}
			})
		}
	}
}

func TestCommandsRunUnprivilegedWithLimits(t *testing.T) {
	eachMode(t, func(c *Config) { c.ScratchRoot = reachableTempDir(t); c.Limits.Processes = 77 }, func(t *testing.T, r *Runner) {
		res := run(t, r, workspace(t), py(`import os
print(os.getuid(), os.getgid())
print(open('/proc/self/limits').read())`)...)
		mustExit(t, res, 0)
		first, limits, _ := strings.Cut(res.Stdout, "\n")
		if os.Geteuid() == 0 {
			if res.UID == nil || *res.UID < DefaultUID || *res.UID >= DefaultUID+uidPool {
				t.Fatalf("Result.UID = %v, want one of the pool from %d", res.UID, DefaultUID)
			}
			if want := strconv.Itoa(*res.UID) + " " + strconv.Itoa(*res.UID); first != want {
				t.Errorf("uid gid = %q, want %q", first, want)
			}
		}
		for _, want := range []string{
			"Max processes             77",
			"Max file size             " + strconv.Itoa(DefaultWorkspaceBytes),
			"Max address space         " + strconv.Itoa(DefaultMemoryBytes),
			"Max cpu time              31",
			"Max open files            " + strconv.Itoa(DefaultOpenFiles),
			"Max core file size        0",
		} {
			if !strings.Contains(limits, want) {
				t.Errorf("limits lack %q:\n%s", want, limits)
			}
		}
	})
}

// A fork bomb hits the process limit and the run ends on time; nothing of it
// survives.
func TestForkBombIsContained(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("RLIMIT_NPROC counts the runner's own uid when it cannot switch: run as root")
	}
	eachMode(t, func(c *Config) {
		c.ScratchRoot = reachableTempDir(t)
		c.Limits.Processes = 32
		c.Timeout = 10 * time.Second
	}, func(t *testing.T, r *Runner) {
		code := `import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError as e:
    print("refused after", n, type(e).__name__)`
		start := time.Now()
		res := run(t, r, workspace(t), py(code)...)
		mustExit(t, res, 0)
		if !strings.HasPrefix(res.Stdout, "refused after") {
			t.Fatalf("fork bomb not refused: %q %q", res.Stdout, res.Stderr)
		}
		n, _ := strconv.Atoi(strings.Fields(res.Stdout)[2])
		if n > 32 {
			t.Errorf("%d forks succeeded, limit 32", n)
		}
		if took := time.Since(start); took > 8*time.Second {
			t.Errorf("run took %v", took)
		}
	})
}

func TestWorkspaceQuota(t *testing.T) {
	tests := []struct {
		name, code string
	}{
		{"one 2 GiB file", `f = open('big', 'wb')
chunk = b'x' * (1 << 20)
for _ in range(2048):
    f.write(chunk)
f.close()
print('wrote 2 GiB')`},
		{"many small files", `import os
os.mkdir('d')
for i in range(100000):
    open('d/%d' % i, 'w').close()
print('made 100000 files')`},
		{"a 15000-deep tree", `import os
for i in range(15000):
    os.mkdir('d')
    os.chdir('d')
print('made 15000 levels')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachShape(t, nil, func(t *testing.T, r *Runner) {
				ws := workspace(t)
				start := time.Now()
				res := run(t, r, ws, py(tt.code)...)
				took := time.Since(start)
				if !res.QuotaExceeded || res.Error != ErrQuotaExceeded {
					t.Fatalf("quota not enforced: error=%q quota=%v exit=%s stdout=%q stderr=%q", res.Error, res.QuotaExceeded,
						fmtExit(res.ExitCode), res.Stdout, tail(res.Stderr))
				}
				if strings.Contains(res.Stdout, "made") || strings.Contains(res.Stdout, "wrote") {
					t.Errorf("the command finished its work: %q", res.Stdout)
				}
				if !strings.Contains(res.Stderr, "[runner] stopped") {
					t.Errorf("stderr does not say why: %q", tail(res.Stderr))
				}
				if took > 15*time.Second {
					t.Errorf("run took %v", took)
				}
				if entries, _ := os.ReadDir(ws); len(entries) != 0 {
					t.Errorf("the task workspace holds %d entries after the run", len(entries))
				}
			})
		})
	}
}

func TestTmpIsSizeLimited(t *testing.T) {
	r := limitedRunner(t, config.SandboxBwrap, true, nil)
	res := run(t, r, workspace(t), py(`try:
    open('/tmp/big', 'wb').write(b'x' * (32 << 20))
    print('wrote')
except OSError as e:
    print('refused', e.errno)`)...)
	mustExit(t, res, 0)
	if strings.TrimSpace(res.Stdout) != "refused 28" {
		t.Errorf("32 MiB into an 8 MiB /tmp: %q", res.Stdout)
	}
}

// A workspace copy left by a killed worker is removed by the next runner.
func TestStaleScratchRemoved(t *testing.T) {
	root := reachableTempDir(t)
	stale := filepath.Join(root, scratchPrefix+"999999999-1")
	if err := os.MkdirAll(filepath.Join(stale, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(root, scratchPrefix+strconv.Itoa(os.Getpid())+"-1")
	if err := os.Mkdir(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	newRunner(t, config.SandboxNone, func(c *Config) { c.ScratchRoot = root })
	if _, err := os.Stat(stale); err == nil {
		t.Error("a dead process's run directory survived")
	}
	if _, err := os.Stat(mine); err != nil {
		t.Error("a live process's run directory was removed")
	}
}

func tail(s string) string {
	if len(s) > 400 {
		return "..." + s[len(s)-400:]
	}
	return s
}

// A scratch root the commands' uids cannot reach is a start-up error, not a
// failure of every command.
func TestUnreachableScratchRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("commands keep the runner's uid when it is not root")
	}
	private := filepath.Join(t.TempDir(), "runs") // t.TempDir's parent is 0700
	_, err := New(Config{Allowed: testAllowed, Timeout: time.Second, MaxOutput: 10, Sandbox: config.SandboxNone, ScratchRoot: private})
	if err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("New = %v, want a not-reachable error", err)
	}
}
