package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"ai-platform/internal/config"
)

// execute starts cmd in its own session and process group, waits for it while
// heartbeating, and fills res. runCtx is the caller's context with the
// run's timeout; cmd must have been made with it. begin is when the run's
// clock started.
func (r *Runner) execute(runCtx context.Context, cmd *exec.Cmd, begin time.Time, hb func(time.Duration), sc *scratch, uid int, res *Result) {
	stdout, stderr := newCapture(r.cfg.MaxOutput), newCapture(r.cfg.MaxOutput)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = sysProcAttr(uid)
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = r.waitDelay

	// Pdeathsig and bwrap's --die-with-parent fire when the *thread* that
	// forked the child exits. Pin this goroutine to its thread until the child
	// is reaped, so the runtime cannot retire that thread under a live child.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	if err := cmd.Start(); err != nil {
		res.Error = err.Error()
		return
	}
	res.Ran = true
	stop := StartHeartbeat(hb, r.cfg.HeartbeatEvery, begin)
	var over string
	stopWatch := func() {}
	if !sc.mounted {
		stopWatch = r.watchQuota(sc.dir, cmd.Process.Pid, &over)
	}
	_ = cmd.Wait() // the outcome is read from ProcessState and the contexts
	// The child is gone; end whatever it left behind in its group (a test
	// server, a forked worker) so nothing outlives the run.
	_ = killGroup(cmd.Process.Pid)
	stopWatch()
	stop()
	r.finish(runCtx, cmd.ProcessState, begin, stdout, stderr, sc, over, res)
}

// finish reads the outcome of a command that has been waited for, and its
// group killed, into res.
func (r *Runner) finish(runCtx context.Context, state *os.ProcessState, begin time.Time, stdout, stderr *capture, sc *scratch, over string, res *Result) {
	res.DurationSeconds = time.Since(begin).Seconds()
	res.Stdout, res.StdoutTruncated = stdout.text()
	res.Stderr, res.StderrTruncated = stderr.text()

	code := exitCode(state)
	if over == "" && !sc.mounted {
		// What the command left may be over although no tick caught it
		// (it ended first, or a file stopped at the size limit).
		if bad, what := usage(sc.dir, r.cfg.Limits.WorkspaceBytes, r.cfg.Limits.WorkspaceFiles); bad {
			over = "the workspace passed its quota: " + what
		}
	}
	if over == "" && sc.full() {
		over = fmt.Sprintf("the workspace filled its quota (%d bytes, %d files and directories)",
			r.cfg.Limits.WorkspaceBytes, r.cfg.Limits.WorkspaceFiles)
	}
	if over == "" && code == 128+int(syscall.SIGXFSZ) {
		over = fmt.Sprintf("a file passed the file size limit (%d bytes)", r.cfg.Limits.FileBytes)
	}
	if over != "" {
		res.QuotaExceeded, res.QuotaDetail, res.Error = true, over, ErrQuotaExceeded
		res.ExitCode = &code
		res.Stderr += fmt.Sprintf("\n[runner] stopped: %s; everything the command wrote was deleted\n", over)
		return
	}
	if !state.Exited() && runCtx.Err() != nil {
		// Killed by Cancel. The cause says which came first: our timeout,
		// or the caller's context (cancelled, or its own deadline).
		if errors.Is(context.Cause(runCtx), errTimeout) {
			res.TimedOut, res.Error = true, ErrTimeout
		} else {
			res.Error = ErrCancelled
		}
		return
	}
	if msg, ok := prlimitError(code, res.Stderr); ok {
		res.Ran, res.Error = false, msg
		return
	}
	if r.mode == config.SandboxBwrap {
		if msg, ok := bwrapError(code, res.Stderr); ok {
			res.Ran, res.Error = false, msg
			return
		}
	}
	res.ExitCode = &code
}

// watchQuota measures dir every r.watch while the command runs and kills the
// command's group when it is over its workspace quota, writing why to *over.
// The returned stop waits for the watchdog to finish.
func (r *Runner) watchQuota(dir string, pid int, over *string) (stop func()) {
	return StartHeartbeat(func(time.Duration) {
		if *over != "" {
			return
		}
		if bad, what := usage(dir, r.cfg.Limits.WorkspaceBytes, r.cfg.Limits.WorkspaceFiles); bad {
			*over = "the workspace passed its quota: " + what
			_ = killGroup(pid)
		}
	}, r.watch, time.Now())
}

// killGroup sends SIGKILL to every process in the group led by pid. A group
// that is already empty is not an error.
func killGroup(pid int) error {
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// exitCode is the exit status, or 128+signal for a child killed by a signal:
// the shell's convention, and what bwrap reports for its child, so both
// sandbox modes agree.
func exitCode(state *os.ProcessState) int {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}

// StartHeartbeat calls fn every period until the returned stop is called;
// stop returns once no call is in progress, so fn is never called after Run.
func StartHeartbeat(fn func(time.Duration), every time.Duration, begin time.Time) (stop func()) {
	if fn == nil {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fn(time.Since(begin))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// prlimitError recognises prlimit's own failure to exec what follows it
// (exit 126 or 127 with a "prlimit: " message), which in none mode is the
// command's exec failure.
func prlimitError(exitCode int, stderr string) (string, bool) {
	if (exitCode != 126 && exitCode != 127) || !strings.HasPrefix(stderr, "prlimit: ") {
		return "", false
	}
	line, _, _ := strings.Cut(stderr, "\n")
	return line, true
}
