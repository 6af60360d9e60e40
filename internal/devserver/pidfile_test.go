package devserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeServerEnv makes the test binary a stand-in for `temporal server
// start-dev`: TestMain blocks instead of running tests, with whatever
// command line the test gave it. "ignore-term" also ignores SIGTERM.
const fakeServerEnv = "DEVSERVER_TEST_FAKE_SERVER"

func TestMain(m *testing.M) {
	switch os.Getenv(fakeServerEnv) {
	case "":
		os.Exit(m.Run())
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
	}
	select {}
}

// child is a process the test started, reaped in the background so that
// the test can tell "killed" from "still running".
type child struct {
	cmd   *exec.Cmd
	start uint64
	done  chan struct{}
}

func startChild(t *testing.T, env string, name string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env)
	// Its own group, as Start gives the real server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	start, err := procStartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	c.start = start
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	return c
}

// fakeServer runs the test binary with the dev server's command line for db.
func fakeServer(t *testing.T, mode, db string) *child {
	t.Helper()
	return startChild(t, fakeServerEnv+"="+mode, os.Args[0], "server", "start-dev", "--db-filename", db, "--port", "1")
}

func (c *child) exited(within time.Duration) bool {
	select {
	case <-c.done:
		return true
	case <-time.After(within):
		return false
	}
}

// deadProcess is the pid and start time of a process that has exited.
func deadProcess(t *testing.T) (int, uint64) {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read before reaping: a zombie still has its stat.
	start, err := procStartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return cmd.Process.Pid, start
}

func writeRecord(t *testing.T, db string, rec pidRecord) {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pidFilePath(db), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReclaim: the pid file left by an earlier start is acted on only when
// it names, for certain, this database's dev server whose owner is gone.
func TestReclaim(t *testing.T) {
	waits := stopWaits{term: 3 * time.Second, kill: 3 * time.Second}
	tests := []struct {
		name string
		// setup writes the pid file (or not) and returns the process it
		// names, if any, and whether reclaim must stop it.
		setup    func(t *testing.T, db string) (c *child, stopped bool)
		wantErr  error
		keepFile bool
		wantWarn string
	}{
		{name: "no pid file", setup: func(*testing.T, string) (*child, bool) { return nil, false }},
		{name: "unreadable pid file", setup: func(t *testing.T, db string) (*child, bool) {
			if err := os.WriteFile(pidFilePath(db), []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
			return nil, false
		}, wantWarn: "unreadable"},
		{name: "leftover of a dead run is stopped", setup: func(t *testing.T, db string) (*child, bool) {
			c := fakeServer(t, "serve", db)
			owner, ownerStart := deadProcess(t)
			writeRecord(t, db, pidRecord{Pid: c.cmd.Process.Pid, StartTime: c.start, Owner: owner, OwnerStartTime: ownerStart, DBFile: db})
			return c, true
		}, wantWarn: "left running"},
		{name: "leftover ignoring SIGTERM is killed", setup: func(t *testing.T, db string) (*child, bool) {
			c := fakeServer(t, "ignore-term", db)
			time.Sleep(200 * time.Millisecond) // let it install the handler
			owner, ownerStart := deadProcess(t)
			writeRecord(t, db, pidRecord{Pid: c.cmd.Process.Pid, StartTime: c.start, Owner: owner, OwnerStartTime: ownerStart, DBFile: db})
			return c, true
		}, wantWarn: "left running"},
		{name: "unrelated process is not touched", setup: func(t *testing.T, db string) (*child, bool) {
			c := startChild(t, "", "sleep", "60")
			owner, ownerStart := deadProcess(t)
			writeRecord(t, db, pidRecord{Pid: c.cmd.Process.Pid, StartTime: c.start, Owner: owner, OwnerStartTime: ownerStart, DBFile: db})
			return c, false
		}},
		{name: "dev server of another database is not touched", setup: func(t *testing.T, db string) (*child, bool) {
			c := fakeServer(t, "serve", filepath.Join(filepath.Dir(db), "other.db"))
			owner, ownerStart := deadProcess(t)
			writeRecord(t, db, pidRecord{Pid: c.cmd.Process.Pid, StartTime: c.start, Owner: owner, OwnerStartTime: ownerStart, DBFile: db})
			return c, false
		}},
		{name: "recycled pid (other start time) is not touched", setup: func(t *testing.T, db string) (*child, bool) {
			c := fakeServer(t, "serve", db)
			owner, ownerStart := deadProcess(t)
			writeRecord(t, db, pidRecord{Pid: c.cmd.Process.Pid, StartTime: c.start - 1, Owner: owner, OwnerStartTime: ownerStart, DBFile: db})
			return c, false
		}},
		{name: "server of a live run is refused, not stopped", setup: func(t *testing.T, db string) (*child, bool) {
			c := fakeServer(t, "serve", db)
			owner := startChild(t, "", "sleep", "60")
			writeRecord(t, db, pidRecord{Pid: c.cmd.Process.Pid, StartTime: c.start, Owner: owner.cmd.Process.Pid,
				OwnerStartTime: owner.start, DBFile: db})
			return c, false
		}, wantErr: ErrInUse, keepFile: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "temporal.db")
			c, stopped := tc.setup(t, db)
			var logs bytes.Buffer
			err := reclaim(db, slog.New(slog.NewTextHandler(&logs, nil)), waits)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("reclaim: %v, want %v", err, tc.wantErr)
			}
			if c != nil {
				if stopped && !c.exited(2*time.Second) {
					t.Error("the leftover dev server still runs")
				}
				if !stopped && c.exited(300*time.Millisecond) {
					t.Error("a process that is not a leftover dev server was stopped")
				}
			}
			_, statErr := os.Stat(pidFilePath(db))
			if exists := statErr == nil; exists != tc.keepFile {
				t.Errorf("pid file exists = %v, want %v", exists, tc.keepFile)
			}
			if tc.wantWarn != "" && !(strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), tc.wantWarn)) {
				t.Errorf("no WARN with %q logged:\n%s", tc.wantWarn, logs.String())
			}
		})
	}
}

// TestPidFileRoundTrip: the file Start writes names the server and this
// process, and is removed only by the server it names.
func TestPidFileRoundTrip(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.db")
	c := fakeServer(t, "serve", db)
	pid := c.cmd.Process.Pid
	if err := writePidFile(db, pid); err != nil {
		t.Fatal(err)
	}
	rec, err := readPidFile(pidFilePath(db))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Pid != pid || rec.StartTime != c.start || rec.Owner != os.Getpid() || rec.DBFile != db {
		t.Fatalf("record %+v: want pid %d started at %d, owner %d, db %s", rec, pid, c.start, os.Getpid(), db)
	}
	if !isOurServer(rec, db) {
		t.Error("isOurServer is false for the server just recorded")
	}
	if err := removePidFile(db, pid+1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pidFilePath(db)); err != nil {
		t.Fatalf("a stop of another pid removed the file: %v", err)
	}
	if err := removePidFile(db, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pidFilePath(db)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pid file still there after its server stopped: %v", err)
	}
}

// TestReadStatHandlesOddCommandNames: a command name with spaces and
// parentheses does not shift the fields.
func TestReadStatHandlesOddCommandNames(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "a) b (c")
	if err := os.Symlink(os.Args[0], odd); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, fakeServerEnv+"=serve", odd)
	st, err := readStat(c.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	self, err := procStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Counted from the first ')', state would read "b".
	if !strings.Contains("RSD", st.state) || len(st.state) != 1 || st.startTime < self {
		t.Fatalf("stat %+v: want a running state and a start at or after ours (%d)", st, self)
	}
}
