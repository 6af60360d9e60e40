package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// probeTimeout bounds the trivial sandboxed command New runs to check bwrap.
const probeTimeout = 10 * time.Second

// sandboxHome is HOME and TMPDIR inside bwrap: the private tmpfs at /tmp.
const sandboxHome = "/tmp"

// systemDirs are the top-level host directories besides /usr that a merged-/usr
// or classic layout needs. Each is recreated as a symlink when it is one on the
// host, bound read-only when it is a directory, and left out when absent.
var systemDirs = []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// etcAllow are the /etc entries that interpreters and test runners read. The
// rest of /etc (shadow files, private keys, anything an operator keeps there)
// stays out of the sandbox: the server runs as root, so a plain read-only
// bind of /etc would let generated code read root-only files.
var etcAllow = []string{
	"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/localtime",
	"/etc/timezone", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
	"/etc/mime.types", "/etc/locale.alias", "/etc/os-release", "/etc/debian_version",
}

// etcEntries returns etcAllow plus the Python configuration directories.
func etcEntries() []string {
	out := append([]string{}, etcAllow...)
	if py, err := filepath.Glob("/etc/python3*"); err == nil {
		out = append(out, py...)
	}
	return out
}

// bwrapBase builds the per-Runner part of the bwrap command line: every
// namespace unshared (so no network), no capabilities, a read-only system, a
// private /proc, /dev and /tmp, and an empty environment. Directories of
// pathDirs that would otherwise be invisible are bound read-only so that what
// Resolve finds on the host can be executed inside.
func bwrapBase(pathDirs []string, tmpBytes int64) []string {
	args := []string{
		"--unshare-all",
		"--die-with-parent",
		// Root inside a user namespace keeps a full capability set by
		// default; drop it so the child cannot mount, remount or mknod.
		"--cap-drop", "ALL",
		"--ro-bind", "/usr", "/usr",
	}
	visible := []string{"/usr"}
	for _, d := range systemDirs {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
			continue
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(d)
			if err != nil {
				continue
			}
			args = append(args, "--symlink", target, d)
		case fi.IsDir():
			args = append(args, "--ro-bind", d, d)
		default:
			continue
		}
		visible = append(visible, d)
	}
	// /etc is a private tmpfs holding only the allowed entries, then made
	// read-only like the rest of the system.
	args = append(args, "--tmpfs", "/etc")
	for _, e := range etcEntries() {
		args = append(args, "--ro-bind-try", e, e)
	}
	args = append(args, "--remount-ro", "/etc")
	args = append(args,
		"--proc", "/proc",
		"--dev", "/dev",
		// A size-limited /tmp: it lives in memory, so it must be bounded.
		"--size", strconv.FormatInt(tmpBytes, 10), "--tmpfs", "/tmp",
	)
	for _, d := range pathDirs {
		if !under(d, visible) {
			args = append(args, "--ro-bind-try", d, d)
		}
	}
	return append(args, "--clearenv")
}

// bwrapArgs completes base for one run. The run's copy of the workspace
// (src) is bound read-write at the workspace's own (resolved) path (dst),
// after the /tmp tmpfs so that a workspace under /tmp is mounted on top of it
// rather than hidden by it.
func bwrapArgs(base []string, src, dst, cwd string, env []string, path string, args []string) []string {
	out := make([]string, 0, len(base)+8+3*len(env)+1+len(args))
	out = append(out, base...)
	out = append(out, "--bind", src, dst, "--chdir", cwd)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, "--setenv", k, v)
	}
	out = append(out, "--", path)
	return append(out, args...)
}

// under reports whether dir is one of roots or inside one of them.
func under(dir string, roots []string) bool {
	for _, r := range roots {
		if dir == r || strings.HasPrefix(dir, r+"/") {
			return true
		}
	}
	return false
}

// bwrapError recognises bwrap's own failures (setup, or exec of the command),
// which bwrap reports as exit status 1 with a "bwrap: " message on stderr.
// A command could fake this, but that only turns its own run into an error.
func bwrapError(exitCode int, stderr string) (string, bool) {
	if exitCode != 1 || !strings.HasPrefix(stderr, "bwrap: ") {
		return "", false
	}
	line, _, _ := strings.Cut(stderr, "\n")
	return line, true
}

// probeBwrap runs a trivial command in the sandbox exactly as Run would (the
// same limits, uid and base arguments, a throw-away workspace) and returns
// why it failed, if it did.
func (r *Runner) probeBwrap() error {
	truePath := ""
	for _, d := range r.pathDirs {
		if p := filepath.Join(d, "true"); isExecutable(p) {
			truePath = p
			break
		}
	}
	if truePath == "" {
		return errors.New("no 'true' executable on Path to probe with")
	}
	ws, err := os.MkdirTemp(r.cfg.ScratchRoot, "probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ws)
	ws, err = filepath.EvalSymlinks(ws)
	if err != nil {
		return err
	}
	if r.uid >= 0 {
		if err := os.Lchown(ws, r.uid, r.gid); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	argv := append(prlimitArgs(r.cfg.Limits), r.bwrap)
	argv = append(argv, bwrapArgs(r.bwrapBase, ws, ws, ws, nil, truePath, nil)...)
	cmd := exec.CommandContext(ctx, r.prlimit, argv...)
	cmd.Env = []string{}
	if r.uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid)}}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("%v: %s", err, msg)
		}
		return err
	}
	return nil
}
