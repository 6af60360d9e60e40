package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Limits bound what one command may consume. Zero fields take the defaults
// below; every command gets all of them, in every sandbox mode.
//
// Mechanisms: Go cannot set resource limits on one child (they are
// per-process, and the worker's own must stay as they are), so the command is
// started through util-linux's prlimit, which lowers its own limits and then
// execs bubblewrap (or, in none mode, the command). RLIMIT_NPROC counts the
// processes of a real uid, and the kernel ignores it for uid 0: that is one
// reason commands run as the unprivileged UID below whenever the runner is
// root. The workspace quota is a tmpfs of WorkspaceBytes and WorkspaceFiles
// inodes mounted for the run when the runner may mount (root), so the kernel
// refuses the write that would exceed it; otherwise a watchdog measures the
// run's copy of the workspace every WatchEvery and stops the command when it
// is over (the excess is bounded by what can be written in that interval).
type Limits struct {
	Processes      int   // RLIMIT_NPROC for the command's uid
	FileBytes      int64 // RLIMIT_FSIZE: largest file any process may write
	MemoryBytes    int64 // RLIMIT_AS per process
	CPUSeconds     int   // RLIMIT_CPU per process
	OpenFiles      int   // RLIMIT_NOFILE per process
	WorkspaceBytes int64 // bytes the run's workspace may hold
	WorkspaceFiles int   // files and directories the run's workspace may hold
	TmpBytes       int64 // size of the private /tmp (bwrap mode)
}

// Default limits. They fit a generated project's lint, compile and test run
// with room to spare (pytest of a template project uses about 40 MB of
// address space per process and a handful of processes).
const (
	DefaultProcesses      = 256
	DefaultMemoryBytes    = 2 << 30
	DefaultOpenFiles      = 1024
	DefaultWorkspaceBytes = 128 << 20
	DefaultWorkspaceFiles = 20000
	DefaultTmpBytes       = 64 << 20
)

// DefaultUID is the uid commands run as when the runner is root: one that no
// other process on the host uses, since RLIMIT_NPROC counts per uid.
const DefaultUID = 64000

// ErrQuotaExceeded is Result.Error when a command outgrew its workspace quota
// or the file-size limit.
const ErrQuotaExceeded = "workspace_quota_exceeded"

func (l Limits) withDefaults(timeoutSeconds int) Limits {
	if l.Processes <= 0 {
		l.Processes = DefaultProcesses
	}
	if l.WorkspaceBytes <= 0 {
		l.WorkspaceBytes = DefaultWorkspaceBytes
	}
	if l.FileBytes <= 0 || l.FileBytes > l.WorkspaceBytes {
		l.FileBytes = l.WorkspaceBytes
	}
	if l.MemoryBytes <= 0 {
		l.MemoryBytes = DefaultMemoryBytes
	}
	if l.CPUSeconds <= 0 {
		// CPU time is per process; a command cannot use more than its wall
		// time on one core, so the timeout plus a second is the natural cap.
		l.CPUSeconds = timeoutSeconds + 1
	}
	if l.OpenFiles <= 0 {
		l.OpenFiles = DefaultOpenFiles
	}
	if l.WorkspaceFiles <= 0 {
		l.WorkspaceFiles = DefaultWorkspaceFiles
	}
	if l.TmpBytes <= 0 {
		l.TmpBytes = DefaultTmpBytes
	}
	return l
}

// prlimitArgs are prlimit's options for l, ending with "--" so the command
// line that follows is never read as options.
func prlimitArgs(l Limits) []string {
	return []string{
		"--nproc=" + strconv.Itoa(l.Processes),
		"--fsize=" + strconv.FormatInt(l.FileBytes, 10),
		"--as=" + strconv.FormatInt(l.MemoryBytes, 10),
		"--cpu=" + strconv.Itoa(l.CPUSeconds),
		"--nofile=" + strconv.Itoa(l.OpenFiles),
		"--core=0",
		"--",
	}
}

// scratch is one run's private copy of the workspace. Commands never write
// into the task workspace itself: whatever they leave (caches, a 2 GiB file,
// a deep tree) goes with the scratch copy when the run ends.
type scratch struct {
	dir     string // the run's copy, bound at the workspace's path in the sandbox
	mounted bool   // a size-limited tmpfs is mounted on dir
}

// scratchPrefix names the runs' directories under the scratch root; the pid
// lets a later runner remove what a crashed process left.
const scratchPrefix = "run-"

// newScratch makes the run's directory under root, mounts a size-limited
// tmpfs on it when allowed, and copies the workspace into it owned by uid.
func newScratch(root, workspace string, l Limits, uid, gid int, mount bool) (*scratch, error) {
	dir, err := os.MkdirTemp(root, scratchPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("making the run's directory: %w", err)
	}
	s := &scratch{dir: dir}
	if mount {
		// Inodes cover files and directories; a few spare ones keep the
		// copy itself from failing on a workspace at the edge.
		opts := fmt.Sprintf("size=%d,nr_inodes=%d,mode=0755", l.WorkspaceBytes, l.WorkspaceFiles+16)
		if uid >= 0 {
			opts += fmt.Sprintf(",uid=%d,gid=%d", uid, gid)
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			_ = os.Remove(dir)
			return nil, fmt.Errorf("mounting the run's tmpfs: %w", err)
		}
		s.mounted = true
	}
	if uid >= 0 {
		if err := os.Lchown(dir, uid, gid); err != nil {
			s.remove()
			return nil, fmt.Errorf("handing the run's directory to uid %d: %w", uid, err)
		}
	}
	if workspace == "" {
		return s, nil // filled when its command arrives (see warm.go)
	}
	if err := copyTree(workspace, dir, uid, gid); err != nil {
		s.remove()
		return nil, fmt.Errorf("copying the workspace: %w", err)
	}
	return s, nil
}

// full reports whether the run's tmpfs has no room left: the kernel refused a
// write there, so the command outgrew the quota.
func (s *scratch) full() bool {
	if !s.mounted {
		return false
	}
	var st unix.Statfs_t
	if err := unix.Statfs(s.dir, &st); err != nil {
		return false
	}
	// A page or an inode short of the end counts as full: tmpfs allocates
	// whole pages, so a refused write can leave a partial page free.
	return st.Bavail*uint64(st.Bsize) < uint64(os.Getpagesize()) || st.Ffree < 1
}

// remove discards the run's copy and everything the command wrote there.
func (s *scratch) remove() {
	if s.mounted {
		// Unmounting frees the whole tree at once, however deep or wide.
		if err := unix.Unmount(s.dir, unix.MNT_DETACH); err == nil {
			s.mounted = false
		}
	}
	removeTree(s.dir)
}

// removeTree deletes dir however deep the tree under it is. os.RemoveAll
// takes about 15 s for a 15,000-level chain (its cost grows with the square of
// the depth), so each subdirectory is first renamed up into dir and removed
// from there: every directory is handled at depth one, with two descriptors
// open at a time. Directories a command made unwritable are opened up first,
// and a tmpfs a killed runner left mounted is detached.
func removeTree(dir string) {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = os.Remove(dir)
		return
	}
	_ = unix.Fchmod(root, 0o700)
	seq := 0
	for {
		names, err := dirNames(root)
		if err != nil || len(names) == 0 {
			break
		}
		progress := false
		for _, name := range names {
			if unix.Unlinkat(root, name, 0) == nil {
				progress = true
				continue
			}
			moved := emptyInto(root, name, &seq)
			if unix.Unlinkat(root, name, unix.AT_REMOVEDIR) == nil || moved {
				progress = true
				continue
			}
			if unix.Unmount(filepath.Join(dir, name), unix.MNT_DETACH) == nil {
				progress = true
			}
		}
		if !progress {
			break // nothing more can go
		}
	}
	unix.Close(root)
	_ = os.Remove(dir)
}

// emptyInto removes the files of the directory name (under root) and moves
// its subdirectories up into root under fresh names, for removeTree's next
// pass; it reports whether anything moved or went.
func emptyInto(root int, name string, seq *int) bool {
	fd, err := unix.Openat(root, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	_ = unix.Fchmod(fd, 0o700)
	names, _ := dirNames(fd)
	progress := false
	for _, n := range names {
		if unix.Unlinkat(fd, n, 0) == nil {
			progress = true
			continue
		}
		*seq++
		if unix.Renameat(fd, n, root, ".rm-"+strconv.Itoa(*seq)) == nil {
			progress = true
		}
	}
	return progress
}

// dirNames lists the entries of the directory open at fd.
func dirNames(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	return f.Readdirnames(-1)
}

// copyTree copies the regular files and directories of src into dst. Symlinks,
// devices and FIFOs are left out: the workspace the worker synced holds none,
// and following one could copy a host file into the sandbox.
func copyTree(src, dst string, uid, gid int) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, 0o755); err != nil {
				return err
			}
		case d.Type().IsRegular():
			if err := copyFile(p, target); err != nil {
				return err
			}
		default:
			return nil
		}
		if uid >= 0 {
			return os.Lchown(target, uid, gid)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// maxDepth bounds how deep a run's workspace may nest: no real project comes
// near it, and it bounds the watchdog's open descriptors.
const maxDepth = 256

// usage measures a run's copy for the watchdog. It walks with descriptors
// relative to their parent (linear in the entries, unlike path-based walks
// whose cost grows with the depth) and stops as soon as a limit is passed, so
// a hostile tree costs at most the quota's worth of walking. A byte total at
// the limit counts as over: RLIMIT_FSIZE stops a file there.
func usage(dir string, maxBytes int64, maxFiles int) (over bool, what string) {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, ""
	}
	var bytes int64
	files := 0
	var walk func(fd, depth int) string
	walk = func(fd, depth int) string {
		if depth > maxDepth {
			return fmt.Sprintf("directories nested deeper than %d levels", maxDepth)
		}
		names, err := dirNames(fd)
		if err != nil {
			return ""
		}
		for _, n := range names {
			files++
			if files > maxFiles {
				return fmt.Sprintf("more than %d files and directories", maxFiles)
			}
			var st unix.Stat_t
			if unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
				continue
			}
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFREG:
				bytes += st.Size
				if bytes >= maxBytes {
					return fmt.Sprintf("%d bytes or more", maxBytes)
				}
			case unix.S_IFDIR:
				sub, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
				if err != nil {
					continue
				}
				why := walk(sub, depth+1)
				unix.Close(sub)
				if why != "" {
					return why
				}
			}
		}
		return ""
	}
	what = walk(root, 1)
	unix.Close(root)
	return what != "", what
}

// cleanStaleScratch removes the run directories that processes which no
// longer exist left under root (a worker killed mid-command), unmounting any
// tmpfs still on them.
func cleanStaleScratch(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), scratchPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(name, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || unix.Kill(pid, 0) == nil || errors.Is(unix.Kill(pid, 0), unix.EPERM) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		unmountUnder(dir)
		removeTree(dir)
	}
}

// unmountUnder detaches dir and every mount below it (a run's tmpfs that a
// killed process left), deepest first, so that the tree can be removed.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && (f[1] == dir || strings.HasPrefix(f[1], dir+"/")) {
			points = append(points, f[1])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = unix.Unmount(points[i], unix.MNT_DETACH)
	}
}

// canMount reports whether this process may mount a tmpfs under root (it
// needs CAP_SYS_ADMIN), by mounting and unmounting one.
func canMount(root string) bool {
	dir, err := os.MkdirTemp(root, "mount-probe-")
	if err != nil {
		return false
	}
	defer os.Remove(dir)
	if unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=4096,nr_inodes=4") != nil {
		return false
	}
	return unix.Unmount(dir, unix.MNT_DETACH) == nil
}
