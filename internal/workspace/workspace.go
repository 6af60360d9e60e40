package workspace

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
)

// ErrNotRegular means a path names a directory, symlink, device or FIFO where
// a regular file was expected.
var ErrNotRegular = errors.New("not a regular file")

// Dir is one task's workspace. Every access goes through an os.Root, so "..",
// absolute paths and symlinks cannot reach outside it, and task-supplied
// paths are validated with CleanPath first. A Dir is safe for concurrent use
// on distinct paths.
type Dir struct {
	root *os.Root
	path string
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
	b, err := d.readRegular(clean)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", clean, err)
	}
	return b, nil
}

func (d *Dir) readRegular(p string) ([]byte, error) {
	before, err := d.root.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, before.Mode().Type())
	}
	f, err := d.root.OpenFile(p, readFlags, 0)
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
		return nil, fmt.Errorf("%w: %s changed while being opened", ErrNotRegular, p)
	}
	// Size+1 lets the read that reports EOF land without growing the buffer;
	// the loop still copes with a file that grows meanwhile.
	data := make([]byte, 0, after.Size()+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
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

// Files collects the workspace's regular files sorted by path. Symlinks,
// devices and FIFOs are skipped, as are the .git, __pycache__, .pytest_cache,
// .ruff_cache, .mypy_cache, .venv and node_modules directories, *.pyc files,
// and names CleanPath rejects (they could never be written back or exported).
func (d *Dir) Files() ([]File, error) {
	var files []File
	err := fs.WalkDir(d.root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != "." && skipDir(e.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() || skipFile(e.Name()) {
			return nil
		}
		if _, err := CleanPath(p); err != nil {
			return nil
		}
		content, err := d.readRegular(p)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotRegular) {
			return nil // changed under us: it is not a regular file any more
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		files = append(files, File{Path: p, Content: content})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("collect workspace files: %w", err)
	}
	sortFiles(files)
	return files, nil
}

// Sync makes the collected file set equal to files: collected files not in
// the set are removed (with directories left empty by that), then files that
// are missing or whose content differs are written, in path order. Nothing
// is touched if a path is invalid, repeated, or both a file and a directory.
func (d *Dir) Sync(files []File) (written, removed int, err error) {
	sorted, err := cleanFileSet(files)
	if err != nil {
		return 0, 0, fmt.Errorf("sync: %w", err)
	}
	want := make(map[string][]byte, len(sorted))
	for _, f := range sorted {
		want[f.Path] = f.Content
	}
	have, err := d.Files()
	if err != nil {
		return 0, 0, fmt.Errorf("sync: %w", err)
	}
	current := make(map[string][]byte, len(have))
	// Removals go first so that a file may replace a directory and vice versa.
	for _, f := range have {
		if _, keep := want[f.Path]; keep {
			current[f.Path] = f.Content
			continue
		}
		if err := d.Remove(f.Path); err != nil {
			return written, removed, fmt.Errorf("sync: %w", err)
		}
		removed++
		d.pruneEmptyParents(f.Path)
	}
	for _, f := range sorted {
		// Equal bytes is the same test as equal SHA-256, without hashing twice.
		if old, ok := current[f.Path]; ok && bytes.Equal(old, f.Content) {
			continue
		}
		if err := d.Write(f.Path, f.Content); err != nil {
			return written, removed, fmt.Errorf("sync: %w", err)
		}
		written++
	}
	return written, removed, nil
}

// pruneEmptyParents removes the now-empty directories above a removed file;
// it stops at the first directory that is not empty (Remove fails on those).
func (d *Dir) pruneEmptyParents(p string) {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if d.root.Remove(dir) != nil {
			return
		}
	}
}
