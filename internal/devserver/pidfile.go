package devserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The pid file records which process is the dev server of a database file,
// so that one a crashed `aiplatform run` left behind is found and stopped by
// the next one instead of holding the port (and the SQLite file) forever.
// Pdeathsig already ends the server with its parent; the pid file is the
// check that does not depend on it (the kernel clears the death signal on
// a credential change or a set-user-ID exec, and it is tied to the thread
// that forked), so a leftover is still found and dealt with.
//
// A pid alone is not an identity: after a reboot, or enough forks, the
// same number names an unrelated process. Each pid is recorded with its
// start time (clock ticks after boot, /proc/<pid>/stat field 22), which
// differs between the two, and the server is only stopped if its command
// line still reads `start-dev` with this database file.
type pidRecord struct {
	Pid       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	// Owner is the process that started the server (the `aiplatform run`):
	// while it lives, the server is in use and is left alone.
	Owner          int    `json:"owner_pid"`
	OwnerStartTime uint64 `json:"owner_start_time"`
	DBFile         string `json:"db_file"`
}

// pidFilePath is where the record of dbFile's server lives: next to the
// database, so one DATA_DIR holds one.
func pidFilePath(dbFile string) string { return dbFile + ".pid" }

// stopWaits bound the stop of a leftover server: how long after SIGTERM
// before SIGKILL, and how long after SIGKILL before giving up.
type stopWaits struct {
	term, kill time.Duration
}

// Temporal shuts down within a few seconds of SIGTERM; a leftover that
// does not is killed.
const (
	leftoverTermWait = 10 * time.Second
	leftoverKillWait = 5 * time.Second
)

// writePidFile records pid as dbFile's server, started by this process.
func writePidFile(dbFile string, pid int) error {
	start, err := procStartTime(pid)
	if err != nil {
		return fmt.Errorf("devserver: reading the start time of pid %d: %w", pid, err)
	}
	self, err := procStartTime(os.Getpid())
	if err != nil {
		return fmt.Errorf("devserver: reading our own start time: %w", err)
	}
	b, err := json.Marshal(pidRecord{Pid: pid, StartTime: start, Owner: os.Getpid(), OwnerStartTime: self, DBFile: dbFile})
	if err != nil {
		return fmt.Errorf("devserver: encoding the pid file: %w", err)
	}
	path := pidFilePath(dbFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("devserver: writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("devserver: writing %s: %w", path, err)
	}
	return nil
}

// removePidFile deletes dbFile's pid file if it still names pid.
func removePidFile(dbFile string, pid int) error {
	path := pidFilePath(dbFile)
	rec, err := readPidFile(path)
	if err != nil || rec.Pid != pid {
		return nil // gone, unreadable or someone else's: not ours to remove
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("devserver: removing %s: %w", path, err)
	}
	return nil
}

func readPidFile(path string) (pidRecord, error) {
	var rec pidRecord
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("devserver: %s: %w", path, err)
	}
	if rec.Pid <= 0 {
		return rec, fmt.Errorf("devserver: %s: no pid", path)
	}
	return rec, nil
}

// ErrInUse means another live process runs a dev server on the same
// database file.
var ErrInUse = errors.New("the dev server's database is in use")

// reclaim deals with the pid file a previous start left for dbFile: a
// server still running for a dead owner is stopped (SIGTERM, then SIGKILL),
// a stale file is removed, and a server whose owner still runs is an error:
// stopping it would pull Temporal from under a live `aiplatform run`.
func reclaim(dbFile string, log *slog.Logger, waits stopWaits) error {
	path := pidFilePath(dbFile)
	rec, err := readPidFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		log.Warn("removing an unreadable dev server pid file", "path", path, "error", err)
		return removeStale(path)
	}
	if !isOurServer(rec, dbFile) {
		log.Info("removing a stale dev server pid file: the process it names is gone or is not the dev server",
			"path", path, "pid", rec.Pid)
		return removeStale(path)
	}
	if rec.Owner != os.Getpid() && alive(rec.Owner, rec.OwnerStartTime) {
		return fmt.Errorf("%w: pid %d (started by pid %d, still running) uses %s; stop that `aiplatform run` "+
			"or give this one another DATA_DIR", ErrInUse, rec.Pid, rec.Owner, dbFile)
	}
	log.Warn("stopping a temporal dev server left running by an earlier `aiplatform run` that did not shut down cleanly",
		"pid", rec.Pid, "previous_owner_pid", rec.Owner, "db", dbFile)
	if err := stopLeftover(rec, waits); err != nil {
		return err
	}
	return removeStale(path)
}

func removeStale(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("devserver: removing %s: %w", path, err)
	}
	return nil
}

// isOurServer reports whether rec names a live process started when the
// record says, running `temporal server start-dev` on dbFile.
func isOurServer(rec pidRecord, dbFile string) bool {
	if !alive(rec.Pid, rec.StartTime) {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(rec.Pid), "cmdline"))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	var startDev, db bool
	for i, a := range args {
		startDev = startDev || a == "start-dev"
		db = db || a == dbFile && i > 0 && args[i-1] == "--db-filename"
	}
	return startDev && db
}

// stopLeftover ends rec's process: SIGTERM, then SIGKILL if it outlives
// waits.term. Its group is signalled when it leads one (Start gives
// the server its own), so anything it forked goes too.
func stopLeftover(rec pidRecord, waits stopWaits) error {
	target := rec.Pid
	if pgid, err := syscall.Getpgid(rec.Pid); err == nil && pgid == rec.Pid {
		target = -rec.Pid
	}
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGTERM, waits.term}, {syscall.SIGKILL, waits.kill}} {
		// Checked again before each signal: between two checks the process
		// may have exited and its pid been given to another.
		if !alive(rec.Pid, rec.StartTime) {
			return nil
		}
		if err := syscall.Kill(target, step.sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("devserver: signalling the leftover dev server (pid %d): %w", rec.Pid, err)
		}
		deadline := time.Now().Add(step.wait)
		for alive(rec.Pid, rec.StartTime) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if alive(rec.Pid, rec.StartTime) {
		return fmt.Errorf("devserver: the leftover dev server (pid %d) survived SIGKILL", rec.Pid)
	}
	return nil
}

// alive reports whether pid runs and was started at start (so is not a
// later process that got the same pid). A zombie is not alive: it holds no
// port and no file, and only waits for its parent to reap it.
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readStat(pid)
	return err == nil && st.state != "Z" && st.startTime == start
}

type procStat struct {
	state     string
	startTime uint64
}

// procStartTime is pid's start time in clock ticks after boot.
func procStartTime(pid int) (uint64, error) {
	st, err := readStat(pid)
	return st.startTime, err
}

// readStat parses /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may itself hold spaces and parentheses, so the fields
// are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	const startField = 22 - 3
	if len(f) <= startField {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	start, err := strconv.ParseUint(f[startField], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return procStat{state: f[0], startTime: start}, nil
}
