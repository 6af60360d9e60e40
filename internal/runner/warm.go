package runner

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Sandbox start-up is most of what the runner adds to a command: on the
// kernels we run on, creating the namespaces alone takes 5 to 7 ms (`unshare
// -U true` against 0.4 ms for `true`), and bubblewrap about 9 ms in all, a
// third of a Python interpreter's start. So in bwrap mode the runner keeps
// one sandbox started ahead of need: bubblewrap with its limits, uid,
// namespaces, mounts and an empty workspace copy, running a launcher that
// waits on a pipe. A command takes that sandbox, the workspace is copied in,
// and the launcher execs the command; a new sandbox is started in the
// background for the next one. Each sandbox still serves exactly one command
// and is destroyed with it: nothing is shared between commands.

// warmDir is where a command sees its copy of the workspace, whether its
// sandbox was started ahead or not.
const warmDir = "/workspace"

// warmSize is how many sandboxes wait at most. The review runs its three
// commands one after another, so one is enough to hide the start-up; a
// burst of concurrent commands starts the rest the ordinary way.
const warmSize = 1

// launcher waits for the command's description on fd 3 and becomes the
// command. It runs with -I -S: nothing of the workspace or the environment
// is imported before the exec.
const launcher = `import json, os
s = json.loads(os.fdopen(3, "rb").read())
os.chdir(s["cwd"])
os.execve(s["path"], s["argv"], dict(kv.split("=", 1) for kv in s["env"]))`

// warm is a started sandbox waiting for its command.
type warm struct {
	cmd            *exec.Cmd
	sc             *scratch
	uid            int
	spec           *os.File // the write end of the launcher's fd 3
	stdout, stderr *capture
	exited         chan struct{} // closed once cmd has been waited for
}

// launch is what the launcher reads.
type launch struct {
	Cwd  string   `json:"cwd"`
	Path string   `json:"path"`
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
}

// startWarm starts one sandbox ahead of its command, or returns nil.
func (r *Runner) startWarm() *warm {
	uid := r.runUID()
	sc, err := newScratch(r.cfg.ScratchRoot, "", r.cfg.Limits, uid, uid, r.mount)
	if err != nil {
		return nil
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		sc.remove()
		return nil
	}
	args := append(prlimitArgs(r.cfg.Limits), r.bwrap)
	args = append(args, bwrapArgs(r.bwrapBase, sc.dir, warmDir, warmDir,
		childEnv(r.cfg.Path, sandboxHome, warmDir), r.python, []string{"-I", "-S", "-c", launcher})...)
	w := &warm{cmd: exec.Command(r.prlimit, args...), sc: sc, uid: uid, spec: specW,
		stdout: newCapture(r.cfg.MaxOutput), stderr: newCapture(r.cfg.MaxOutput), exited: make(chan struct{})}
	w.cmd.Env, w.cmd.Dir = []string{}, "/"
	w.cmd.ExtraFiles = []*os.File{specR}
	w.cmd.Stdout, w.cmd.Stderr = w.stdout, w.stderr
	w.cmd.SysProcAttr = sysProcAttr(uid)
	w.cmd.WaitDelay = r.waitDelay
	started := make(chan error, 1)
	go func() {
		// The thread that forks the sandbox must outlive it (Pdeathsig,
		// --die-with-parent): this goroutine keeps it until the reaping.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := w.cmd.Start()
		specR.Close()
		started <- err
		if err == nil {
			_ = w.cmd.Wait()
		}
		close(w.exited)
	}()
	if err := <-started; err != nil {
		specW.Close()
		sc.remove()
		return nil
	}
	return w
}

// discard ends a waiting sandbox that will not be used.
func (w *warm) discard() {
	w.spec.Close()
	_ = killGroup(w.cmd.Process.Pid)
	<-w.exited
	w.sc.remove()
}

// takeWarm returns a waiting sandbox, or nil. The caller has the next one
// started (refill) once its command has ended, so that starting it does not
// compete with the command for the CPU.
func (r *Runner) takeWarm() *warm {
	if r.python == "" {
		return nil
	}
	for {
		select {
		case w := <-r.pool:
			select {
			case <-w.exited:
				w.sc.remove() // it died while waiting
				continue
			default:
				return w
			}
		default:
			return nil
		}
	}
}

// refill starts sandboxes in the background until the pool is full; one
// refill runs at a time.
func (r *Runner) refill() {
	if !r.filling.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer r.filling.Store(false)
		for len(r.pool) < cap(r.pool) && !r.closed.Load() {
			w := r.startWarm()
			if w == nil {
				return
			}
			select {
			case r.pool <- w:
			default:
				w.discard()
				return
			}
		}
	}()
}

// Close ends the sandboxes waiting for commands. Run may not be called after.
func (r *Runner) Close() {
	r.closed.Store(true)
	for r.filling.Load() {
		time.Sleep(5 * time.Millisecond)
	}
	for {
		select {
		case w := <-r.pool:
			w.discard()
		default:
			return
		}
	}
}

// runWarm runs s in a sandbox started ahead. dir and cwd are the checked
// workspace and working directory, path the resolved executable.
func (r *Runner) runWarm(ctx context.Context, w *warm, s Spec, dir, cwd, path string, res *Result) {
	defer w.sc.remove()
	res.UID = &w.uid
	if err := copyTree(dir, w.sc.dir, w.uid, w.uid); err != nil {
		w.discard()
		res.Error = "runner: copying the workspace: " + err.Error()
		return
	}
	inside := rebase(cwd, dir, warmDir)
	spec, err := json.Marshal(launch{Cwd: inside, Path: path, Argv: append([]string{path}, s.Argv[1:]...),
		Env: childEnv(r.cfg.Path, sandboxHome, inside)})
	if err != nil {
		w.discard()
		res.Error = err.Error()
		return
	}
	begin := time.Now()
	runCtx, cancel := context.WithTimeoutCause(ctx, r.cfg.Timeout, errTimeout)
	defer cancel()
	_, werr := w.spec.Write(spec)
	w.spec.Close()
	if werr != nil {
		w.discard()
		res.Error = "runner: starting the command: " + werr.Error()
		return
	}
	res.Ran = true
	pid := w.cmd.Process.Pid
	stop := StartHeartbeat(s.Heartbeat, r.cfg.HeartbeatEvery, begin)
	var over string
	stopWatch := func() {}
	if !w.sc.mounted {
		stopWatch = r.watchQuota(w.sc.dir, pid, &over)
	}
	select {
	case <-w.exited:
	case <-runCtx.Done():
		_ = killGroup(pid)
		<-w.exited
	}
	_ = killGroup(pid)
	stopWatch()
	stop()
	r.finish(runCtx, w.cmd.ProcessState, begin, w.stdout, w.stderr, w.sc, over, res)
}

// sysProcAttr starts a command in its own session and process group, as
// uid (unless negative), killed if the thread that started it exits.
func sysProcAttr(uid int) *syscall.SysProcAttr {
	// Setsid makes the child the leader of a new session and so of a new
	// process group (pgid == pid), which its descendants inherit; it also
	// detaches the child from any controlling terminal, which Setpgid alone
	// would not. Pdeathsig ends the child if the server dies.
	a := &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if uid >= 0 {
		// Go sets Pdeathsig after the credentials, so the uid change does
		// not clear it.
		a.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}
	}
	return a
}
