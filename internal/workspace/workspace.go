package workspace

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
)

// ErrNotRegular means a path names a directory, symlink, device or FIFO where
// a regular file was expected.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooManyEntries means a walk of the workspace passed Limits.MaxEntries.
var ErrTooManyEntries = errors.New("too many workspace entries")

// errTooLarge means a file is over Limits.MaxFileSize (or grew past it while
// being read).
var errTooLarge = errors.New("file is over the size limit")

// errChanged means an entry was replaced between the lstat that classified it
// and the open that followed.
var errChanged = errors.New("entry changed while being opened")

// Defaults for the zero fields of Limits.
const (
	// defaultMaxFileSize is the codex's default max_file_size, the cap on
	// generated files.
	defaultMaxFileSize = 1 << 20
	// defaultMaxEntries is fifty times MAX_TASK_FILES' default (2,000), so a
	// real project with its tool caches never reaches it, while the names a
	// walk keeps stay within a few megabytes.
	defaultMaxEntries = 100_000
)

// Tuning of the walks; none of these changes what a walk does, only its cost.
const (
	// readBatch names are read from a directory at a time, so a directory
	// with millions of entries never has its whole listing in memory.
	readBatch = 256
	// ctxEvery entries pass between checks of the context.
	ctxEvery = 256
	// maxHeldDirs bounds the directories removeTree holds open at once; a
	// deeper directory is moved up to the top of the tree being removed, so
	// any depth is removed with bounded descriptors and no recursion.
	maxHeldDirs = 16
	// hashBufSize is the buffer of the streaming comparison of a file.
	hashBufSize = 32 << 10
	// maxExamples paths, each cut at maxExampleLen bytes, go into a Report.
	maxExamples   = 8
	maxExampleLen = 200
)

// Limits bound what Files and Sync may cost on a workspace that generated
// code has filled. Zero fields take the defaults.
type Limits struct {
	// MaxFileSize is the largest file that is ever read (default 1 MiB):
	// Sync replaces or removes a larger one without reading it, Files skips
	// it. The activities set it to the codex's max_file_size.
	MaxFileSize int64
	// MaxEntries (default 100,000) caps the entries a walk keeps and
	// inspects: everything Files looks at, and the stored files and their directories for Sync.
	// What Sync removes is not counted (it streams, one entry at a time), so
	// a workspace polluted with any number of entries can still be cleaned;
	// the context bounds how long that may take.
	MaxEntries int
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = defaultMaxFileSize
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = defaultMaxEntries
	}
	return l
}

// Dir is one task's workspace. Every access goes through an os.Root, so "..",
// absolute paths and symlinks cannot reach outside it, and task-supplied
// paths are validated with CleanPath first. A Dir is safe for concurrent use
// on distinct paths.
type Dir struct {
	root *os.Root
	path string
	// Limits bound Files and Sync. They live on the Dir rather than in each
	// call because they are the deployment's policy (the codex), shared by
	// both walks; the zero value is safe, so code that only writes files
	// never has to know the codex.
	Limits Limits
}

// Path returns the absolute directory of the workspace.
func (d *Dir) Path() string { return d.path }

// Close releases the directory handle.
func (d *Dir) Close() error { return d.root.Close() }

// Write stores content at p atomically: it writes a temporary file in the
// target's directory, syncs it and renames it over p, creating parents as
// needed. A symlink at p is replaced, never written through.
func (d *Dir) Write(p string, content []byte) error {
	clean, err := CleanPath(p)
	if err != nil {
		return err
	}
	if err := d.write(clean, content); err != nil {
		return fmt.Errorf("write %s: %w", clean, err)
	}
	return nil
}

func (d *Dir) write(p string, content []byte) error {
	parent := path.Dir(p)
	if parent != "." {
		if err := d.root.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	tmp := path.Join(parent, tempPrefix+rand.Text())
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.root.Rename(tmp, p)
	}
	if err != nil {
		_ = d.root.Remove(tmp) // best effort; the error that matters is err
		return err
	}
	return nil
}

// Read returns the content of the regular file at p; symlinks, directories,
// devices and FIFOs are refused with ErrNotRegular.
func (d *Dir) Read(p string) ([]byte, error) {
	clean, err := CleanPath(p)
	if err != nil {
		return nil, err
	}
	b, err := readRegular(d.root, clean, -1)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", clean, err)
	}
	return b, nil
}

// readRegular reads the regular file name below r, refusing anything else,
// and fails with errTooLarge past limit bytes (no limit when negative).
func readRegular(r *os.Root, name string, limit int64) ([]byte, error) {
	before, err := r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, before.Mode().Type())
	}
	if limit >= 0 && before.Size() > limit {
		return nil, errTooLarge
	}
	f, err := r.OpenFile(name, readFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The entry may have been swapped between Lstat and open; trust only the
	// descriptor we read from.
	after, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !after.Mode().IsRegular() || !os.SameFile(before, after) {
		return nil, fmt.Errorf("%w: %s changed while being opened", ErrNotRegular, name)
	}
	if limit >= 0 && after.Size() > limit {
		return nil, errTooLarge
	}
	// Size+1 lets the read that reports EOF land without growing the buffer;
	// the loop still copes with a file that grows meanwhile.
	data := make([]byte, 0, after.Size()+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if limit >= 0 && int64(len(data)) > limit {
			return nil, errTooLarge
		}
		if errors.Is(err, io.EOF) {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}

// Remove deletes the file (or symlink, as a link) at p; a missing file is not
// an error, so retried activities stay idempotent. Directories are refused.
func (d *Dir) Remove(p string) error {
	clean, err := CleanPath(p)
	if err != nil {
		return err
	}
	info, err := d.root.Lstat(clean)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", clean, err)
	}
	if info.IsDir() {
		return fmt.Errorf("remove %s: is a directory", clean)
	}
	if err := d.root.Remove(clean); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", clean, err)
	}
	return nil
}

// Report says what a walk did, in counts and a few paths (never contents),
// for a log line.
type Report struct {
	Written int // Sync: stored files created or rewritten
	// Removed counts what Sync deleted: every file, symlink, FIFO, device
	// and directory, including those inside a removed directory.
	Removed int
	// Oversized counts files over Limits.MaxFileSize, never read: Sync
	// removed or replaced them, Files left them out.
	Oversized int
	// TooDeep counts trees that reached maxDepth: Sync removed them, Files
	// did not enter them.
	TooDeep int
	// Examples are up to maxExamples paths of what was removed or left out,
	// oversized files and too-deep trees first. Paths are cut at
	// maxExampleLen bytes.
	Examples []string

	notable int // leading Examples that are oversized or too deep
}

// note keeps p as an example; notable ones displace ordinary ones, because
// in a polluted workspace they are what explains the pollution.
func (r *Report) note(p string, notable bool) {
	if len(p) > maxExampleLen {
		p = strings.ToValidUTF8(p[:maxExampleLen], "") + "…"
	}
	if !notable {
		if len(r.Examples) < maxExamples {
			r.Examples = append(r.Examples, p)
		}
		return
	}
	if r.notable == maxExamples {
		return
	}
	if len(r.Examples) == maxExamples {
		r.Examples = r.Examples[:maxExamples-1]
	}
	r.Examples = slices.Insert(r.Examples, r.notable, p)
	r.notable++
}

// LogValue renders the report as a group of its counts and examples.
func (r Report) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Int("written", r.Written), slog.Int("removed", r.Removed),
		slog.Int("oversized", r.Oversized), slog.Int("too_deep", r.TooDeep),
	}
	if len(r.Examples) > 0 {
		attrs = append(attrs, slog.Any("examples", r.Examples))
	}
	return slog.GroupValue(attrs...)
}

// walker is the state every walk shares: the context it checks, its limits
// and the report it fills.
type walker struct {
	ctx   context.Context
	lim   Limits
	rep   *Report
	ticks int
}

// tick counts one entry and, every ctxEvery entries, checks the context.
func (w *walker) tick() error {
	w.ticks++
	if w.ticks%ctxEvery != 0 {
		return nil
	}
	return w.stopped()
}

func (w *walker) stopped() error {
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("stopped after %d entries: %w", w.ticks, err)
	}
	return nil
}

// dirFrame is one directory on the path a walk is in.
type dirFrame struct {
	root    *os.Root
	path    string // slash path from the workspace root; "" for the root
	depth   int    // segments in path
	subdirs []string
	next    int // index in subdirs of the next directory to enter
}

func (fr *dirFrame) join(name string) string {
	if fr.path == "" {
		return name
	}
	return fr.path + "/" + name
}

func (fr *dirFrame) name() string {
	if fr.path == "" {
		return "the workspace root"
	}
	return fr.path
}

// walkDirs visits directories depth first from the workspace root: list
// handles one directory's entries and returns the names of the
// subdirectories to enter. Each directory is opened relative to its parent,
// so an open costs the same at any depth (resolving whole paths through the
// os.Root made a deep tree quadratic), and only the directories on the
// current path are open. A subdirectory that is gone by the time it is
// entered is skipped.
func (d *Dir) walkDirs(list func(fr *dirFrame) ([]string, error)) error {
	stack := []*dirFrame{{root: d.root}}
	defer func() {
		for _, fr := range stack {
			if fr.root != d.root {
				fr.root.Close()
			}
		}
	}()
	var err error
	if stack[0].subdirs, err = list(stack[0]); err != nil {
		return err
	}
	for len(stack) > 0 {
		fr := stack[len(stack)-1]
		if fr.next == len(fr.subdirs) {
			if fr.root != d.root {
				fr.root.Close()
			}
			stack = stack[:len(stack)-1]
			continue
		}
		name := fr.subdirs[fr.next]
		fr.next++
		sub, err := openDir(fr.root, name, nil)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", fr.join(name), err)
		}
		child := &dirFrame{root: sub, path: fr.join(name), depth: fr.depth + 1}
		stack = append(stack, child)
		if child.subdirs, err = list(child); err != nil {
			return err
		}
	}
	return nil
}

// openDir opens the directory name in parent as a root of its own, never
// through a symlink: the entry is lstat'ed first (unless the caller passes
// what it found) and the descriptor fstat'ed after, and anything swapped in
// between is refused. os.Root cannot open with O_DIRECTORY|O_NONBLOCK, so a
// FIFO swapped in during that window would block the open; no command runs
// during a walk (bwrap's PID namespace dies with each command), so only a
// survivor of an unsandboxed command could try. A directory made unreadable
// is made readable again: it belongs to the worker's user, and generated code
// must not keep junk by locking it.
func openDir(parent *os.Root, name string, before fs.FileInfo) (*os.Root, error) {
	if before == nil {
		var err error
		if before, err = parent.Lstat(name); err != nil {
			return nil, err
		}
	}
	if !before.IsDir() {
		return nil, fmt.Errorf("%w: %s is a %s, not a directory", errChanged, name, before.Mode().Type())
	}
	r, err := parent.OpenRoot(name)
	if errors.Is(err, fs.ErrPermission) && parent.Chmod(name, 0o700) == nil {
		r, err = parent.OpenRoot(name)
	}
	if err != nil {
		return nil, err
	}
	after, err := r.Stat(".")
	if err != nil || !after.IsDir() || !os.SameFile(before, after) {
		r.Close()
		if err == nil {
			err = fmt.Errorf("%w: %s", errChanged, name)
		}
		return nil, err
	}
	return r, nil
}

// openListing opens r's own directory for reading its names.
func openListing(r *os.Root) (*os.File, error) {
	f, err := r.Open(".")
	if errors.Is(err, fs.ErrPermission) && r.Chmod(".", 0o700) == nil {
		f, err = r.Open(".")
	}
	return f, err
}

// removeEntry removes name from r: a file, link, FIFO, device or empty
// directory; a non-empty directory fails with ENOTEMPTY (or EEXIST). A
// directory generated code made read-only is made writable first.
func removeEntry(r *os.Root, name string) error {
	err := r.Remove(name)
	if errors.Is(err, fs.ErrPermission) && r.Chmod(".", 0o700) == nil {
		err = r.Remove(name)
	}
	return err
}

// removeTree removes the directory name (at p) in parent and everything
// below it, and returns how many entries went and how many levels the tree
// reached below name; oversized files in it are reported. It never recurses
// and holds at most maxHeldDirs directories open: a directory found deeper
// is renamed up into the top of the tree and removed from there, so every
// entry is opened or moved a bounded number of times whatever the depth.
// Symlinks are unlinked, never followed. Names are read in batches while
// entries go, and a directory is listed again until it can be removed, so
// entries a file system skipped meanwhile (or that were moved in) do not
// stay.
func (w *walker) removeTree(parent *os.Root, name, p string) (removed, deepest int, err error) {
	top, err := openDir(parent, name, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	type frame struct {
		root    *os.Root
		name    string // in the parent frame
		depth   int    // levels below the top
		list    *os.File
		pending []string // names read but not handled yet
		dirty   bool     // entries removed or moved since the listing began
	}
	frames := []*frame{{root: top}}
	defer func() {
		for _, fr := range frames {
			if fr.list != nil {
				fr.list.Close()
			}
			fr.root.Close()
		}
	}()
	moved := map[string]int{} // names given to moved directories, with their depth
	for len(frames) > 0 {
		fr := frames[len(frames)-1]
		if len(fr.pending) == 0 {
			if fr.list == nil {
				if fr.list, err = openListing(fr.root); err != nil {
					return removed, deepest, fmt.Errorf("list: %w", err)
				}
			}
			names, rerr := fr.list.Readdirnames(readBatch)
			if rerr != nil && !errors.Is(rerr, io.EOF) {
				return removed, deepest, fmt.Errorf("list: %w", rerr)
			}
			if len(names) > 0 {
				fr.pending = names
				continue
			}
			fr.list.Close()
			fr.list = nil
			from, as := parent, name
			if len(frames) > 1 {
				from, as = frames[len(frames)-2].root, fr.name
			}
			err := removeEntry(from, as)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				if !fr.dirty {
					return removed, deepest, fmt.Errorf("remove: %w", err)
				}
				fr.dirty = false // list it again
				continue
			}
			removed++
			fr.root.Close()
			frames = frames[:len(frames)-1]
			if len(frames) > 0 {
				frames[len(frames)-1].dirty = true
			}
			continue
		}
		for len(fr.pending) > 0 {
			n := fr.pending[0]
			fr.pending = fr.pending[1:]
			if err := w.tick(); err != nil {
				return removed, deepest, err
			}
			info, err := fr.root.Lstat(n)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return removed, deepest, err
			}
			if !info.IsDir() {
				if err := removeEntry(fr.root, n); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return removed, deepest, fmt.Errorf("remove: %w", err)
				}
				removed++
				fr.dirty = true
				if info.Mode().IsRegular() && info.Size() > w.lim.MaxFileSize {
					w.rep.Oversized++
					inner := []string{p}
					for _, f := range frames[1:] {
						inner = append(inner, f.name)
					}
					w.rep.note(path.Join(append(inner, n)...), true)
				}
				continue
			}
			depth := fr.depth + 1
			if d, ok := moved[n]; ok && len(frames) == 1 {
				depth = d
			}
			deepest = max(deepest, depth)
			if len(frames) == maxHeldDirs {
				rel := make([]string, 0, len(frames))
				for _, f := range frames[1:] {
					rel = append(rel, f.name)
				}
				to := tempPrefix + rand.Text()
				if err := top.Rename(path.Join(append(rel, n)...), to); err != nil {
					return removed, deepest, fmt.Errorf("move a deep directory up: %w", err)
				}
				moved[to] = depth
				fr.dirty, frames[0].dirty = true, true
				continue
			}
			sub, err := openDir(fr.root, n, info)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return removed, deepest, err
			}
			frames = append(frames, &frame{root: sub, name: n, depth: depth})
			break
		}
	}
	return removed, deepest, nil
}

// removeAny removes the entry name of fr, whatever it is, and reports it.
func (w *walker) removeAny(fr *dirFrame, name string) error {
	p := fr.join(name)
	info, err := fr.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	if info.IsDir() {
		n, deepest, err := w.removeTree(fr.root, name, p)
		w.rep.Removed += n
		if fr.depth+1+deepest >= maxDepth {
			w.rep.TooDeep++
			w.rep.note(p, true)
		} else {
			w.rep.note(p, false)
		}
		if err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		return nil
	}
	big := info.Mode().IsRegular() && info.Size() > w.lim.MaxFileSize
	if err := removeEntry(fr.root, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	w.rep.Removed++
	if big {
		w.rep.Oversized++
	}
	w.rep.note(p, big)
	return nil
}

// Files collects the workspace's regular files sorted by path. Symlinks,
// devices and FIFOs are skipped, as are the .git, __pycache__, .pytest_cache,
// .ruff_cache, .mypy_cache, .venv and node_modules directories, *.pyc files,
// and names CleanPath rejects (they could never be written back or exported).
// Files over Limits.MaxFileSize are left out unread and directories at
// maxDepth are not entered; the report counts both. More than
// Limits.MaxEntries entries fail with ErrTooManyEntries, and a cancelled ctx
// stops the walk. The result can still reach MaxEntries × MaxFileSize bytes,
// which is why Sync compares files on disk without collecting them.
func (d *Dir) Files(ctx context.Context) ([]File, Report, error) {
	var rep Report
	w := &walker{ctx: ctx, lim: d.Limits.withDefaults(), rep: &rep}
	if err := w.stopped(); err != nil {
		return nil, rep, fmt.Errorf("collect workspace files: %w", err)
	}
	var files []File
	entries := 0
	err := d.walkDirs(func(fr *dirFrame) ([]string, error) {
		list, err := openListing(fr.root)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", fr.name(), err)
		}
		defer list.Close()
		var subdirs []string
		for {
			names, rerr := list.Readdirnames(readBatch)
			for _, name := range names {
				if err := w.tick(); err != nil {
					return nil, err
				}
				if entries++; entries > w.lim.MaxEntries {
					return nil, fmt.Errorf("%w: more than the cap of %d entries", ErrTooManyEntries, w.lim.MaxEntries)
				}
				sub, err := collectEntry(w, fr, name, &files)
				if err != nil {
					return nil, err
				}
				if sub {
					subdirs = append(subdirs, name)
				}
			}
			if errors.Is(rerr, io.EOF) {
				return subdirs, nil
			}
			if rerr != nil {
				return nil, fmt.Errorf("list %s: %w", fr.name(), rerr)
			}
		}
	})
	if err != nil {
		return nil, rep, fmt.Errorf("collect workspace files: %w", err)
	}
	sortFiles(files)
	return files, rep, nil
}

// collectEntry adds the entry name of fr to files if it is a regular file
// Files keeps, and reports whether it is a directory to enter.
func collectEntry(w *walker, fr *dirFrame, name string, files *[]File) (enter bool, err error) {
	p := fr.join(name)
	info, err := fr.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", p, err)
	}
	switch {
	case info.IsDir():
		if skipDir(name) {
			return false, nil
		}
		if _, err := CleanPath(p); err != nil {
			return false, nil // nothing below it could be collected either
		}
		if fr.depth+1 >= maxDepth {
			w.rep.TooDeep++
			w.rep.note(p, true)
			return false, nil
		}
		return true, nil
	case !info.Mode().IsRegular() || skipFile(name):
		return false, nil
	}
	if _, err := CleanPath(p); err != nil {
		return false, nil
	}
	content, err := readRegular(fr.root, name, w.lim.MaxFileSize)
	switch {
	case errors.Is(err, errTooLarge):
		w.rep.Oversized++
		w.rep.note(p, true)
		return false, nil
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotRegular):
		return false, nil // changed under us: it is not a regular file any more
	case err != nil:
		return false, fmt.Errorf("read %s: %w", p, err)
	}
	*files = append(*files, File{Path: p, Content: content})
	return false, nil
}

// Sync makes the workspace hold exactly files: anything else (unknown files
// and directories, tool caches, symlinks, FIFOs, devices, leftovers of
// crashed writes, trees of any depth) is removed, then files that are
// missing or whose content differs are written, in path order. A file on
// disk is compared by size and then by a streaming SHA-256, and never read
// when it is over Limits.MaxFileSize (it is replaced). Only the directories
// leading to stored files are walked; any other directory is removed whole
// without being walked. Nothing is touched if a path is invalid, repeated,
// or both a file and a directory, or if the stored files and their
// directories number more than Limits.MaxEntries. A cancelled ctx stops the
// sync and its error is returned wrapped, with the report of what was done.
func (d *Dir) Sync(ctx context.Context, files []File) (Report, error) {
	var rep Report
	sorted, err := cleanFileSet(files)
	if err != nil {
		return rep, fmt.Errorf("sync: %w", err)
	}
	s := &syncer{
		walker: walker{ctx: ctx, lim: d.Limits.withDefaults(), rep: &rep},
		want:   make(map[string][]byte, len(sorted)),
		dirs:   map[string]bool{},
		equal:  map[string]bool{},
	}
	for _, f := range sorted {
		s.want[f.Path] = f.Content
		for dir := path.Dir(f.Path); dir != "." && !s.dirs[dir]; dir = path.Dir(dir) {
			s.dirs[dir] = true
		}
	}
	if n := len(s.want) + len(s.dirs); n > s.lim.MaxEntries {
		return rep, fmt.Errorf("sync: %w: the stored files and their directories are %d entries, over the cap of %d",
			ErrTooManyEntries, n, s.lim.MaxEntries)
	}
	if err := s.stopped(); err != nil {
		return rep, fmt.Errorf("sync: %w", err)
	}
	if err := d.walkDirs(s.list); err != nil {
		return rep, fmt.Errorf("sync: %w", err)
	}
	for _, f := range sorted {
		if s.equal[f.Path] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("sync: stopped before writing %s: %w", f.Path, err)
		}
		if err := d.write(f.Path, f.Content); err != nil {
			return rep, fmt.Errorf("sync: write %s: %w", f.Path, err)
		}
		rep.Written++
	}
	return rep, nil
}

// syncer is the state of one Sync walk.
type syncer struct {
	walker
	want  map[string][]byte // stored files by path
	dirs  map[string]bool   // the directories leading to them
	equal map[string]bool   // stored files found on disk with the right content
	buf   []byte            // for hashing
}

// list reconciles one directory on the way to stored files and returns its
// subdirectories that lead to more. It reads the directory again while a
// pass removed something, so nothing a file system skipped meanwhile stays;
// entries already decided are not looked at twice.
func (s *syncer) list(fr *dirFrame) ([]string, error) {
	decided := map[string]bool{}
	var subdirs []string
	for {
		list, err := openListing(fr.root)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", fr.name(), err)
		}
		dirty, err := s.pass(fr, list, decided, &subdirs)
		list.Close()
		if err != nil || !dirty {
			return subdirs, err
		}
	}
}

// pass reads one listing of fr and reports whether it removed anything.
func (s *syncer) pass(fr *dirFrame, list *os.File, decided map[string]bool, subdirs *[]string) (dirty bool, err error) {
	for {
		names, rerr := list.Readdirnames(readBatch)
		for _, name := range names {
			if decided[name] {
				continue
			}
			if err := s.tick(); err != nil {
				return dirty, err
			}
			decided[name] = true
			p := fr.join(name)
			var removed bool
			switch content, wanted := s.want[p]; {
			case wanted:
				removed, err = s.storedFile(fr, name, content)
			case s.dirs[p]:
				var enter bool
				enter, removed, err = s.storedDir(fr, name)
				if enter {
					*subdirs = append(*subdirs, name)
				}
			default:
				removed, err = true, s.removeAny(fr, name)
			}
			if err != nil {
				return dirty, err
			}
			dirty = dirty || removed
		}
		if errors.Is(rerr, io.EOF) {
			return dirty, nil
		}
		if rerr != nil {
			return dirty, fmt.Errorf("list %s: %w", fr.name(), rerr)
		}
	}
}

// storedFile checks the entry at a stored file's path: an equal regular file
// is kept; a different or oversized one is left for the write to replace
// (the rename unlinks it); anything else is removed first.
func (s *syncer) storedFile(fr *dirFrame, name string, want []byte) (removed bool, err error) {
	p := fr.join(name)
	info, err := fr.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", p, err)
	}
	if !info.Mode().IsRegular() {
		return true, s.removeAny(fr, name)
	}
	if info.Size() > s.lim.MaxFileSize {
		s.rep.Oversized++
		s.rep.note(p, true)
		return false, nil
	}
	if info.Size() == int64(len(want)) && s.sameContent(fr.root, name, info, want) {
		s.equal[p] = true
	}
	return false, nil
}

// storedDir checks the entry at a path that leads to stored files: a real
// directory is entered, anything else removed (the write makes the
// directory).
func (s *syncer) storedDir(fr *dirFrame, name string) (enter, removed bool, err error) {
	info, err := fr.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("stat %s: %w", fr.join(name), err)
	}
	if info.IsDir() {
		return true, false, nil
	}
	return false, true, s.removeAny(fr, name)
}

// sameContent reports whether the regular file name (lstat'ed as before)
// holds exactly want, streaming it through SHA-256 with a fixed buffer. Any
// doubt (it changed, cannot be opened or read) counts as different, and the
// write that follows replaces it.
func (s *syncer) sameContent(r *os.Root, name string, before fs.FileInfo, want []byte) bool {
	f, err := r.OpenFile(name, readFlags, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	after, err := f.Stat()
	if err != nil || !after.Mode().IsRegular() || !os.SameFile(before, after) || after.Size() != int64(len(want)) {
		return false
	}
	if s.buf == nil {
		s.buf = make([]byte, hashBufSize)
	}
	h := sha256.New()
	// One byte past the expected size shows a file that grew meanwhile.
	n, err := io.CopyBuffer(h, io.LimitReader(f, int64(len(want))+1), s.buf)
	if err != nil || n != int64(len(want)) {
		return false
	}
	sum := sha256.Sum256(want)
	return bytes.Equal(h.Sum(nil), sum[:])
}
