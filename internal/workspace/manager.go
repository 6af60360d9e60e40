package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/uuid"
)

// ErrInvalidTaskID means a task id is not a canonical lower-case UUID.
var ErrInvalidTaskID = errors.New("invalid task id")

// Manager owns WORKSPACE_ROOT and hands out one Dir per task.
type Manager struct {
	root string // absolute
}

// NewManager returns a Manager for root (WORKSPACE_ROOT), creating it with
// mode 0700 if it is missing.
func NewManager(root string) (*Manager, error) {
	if root == "" {
		return nil, errors.New("workspace root is empty")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("workspace root %q: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create workspace root: %w", err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("workspace root: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("workspace root %s is not a directory", abs)
	}
	return &Manager{root: abs}, nil
}

// Root returns the absolute workspace root directory.
func (m *Manager) Root() string { return m.root }

// ValidTaskID checks that id is a UUID in canonical lower-case form, the only
// form that may name a workspace directory (so one task has one directory).
func ValidTaskID(id string) error {
	u, err := uuid.Parse(id)
	if err != nil {
		return fmt.Errorf("%w %q: %v", ErrInvalidTaskID, id, err)
	}
	if u.String() != id {
		return fmt.Errorf("%w %q: not in canonical lower-case UUID form", ErrInvalidTaskID, id)
	}
	return nil
}

// Open returns the workspace of taskID, creating WORKSPACE_ROOT/<taskID> if
// needed and touching its mtime so Cleanup treats it as recently used. The
// entry must be a real directory: a symlink planted there is refused.
func (m *Manager) Open(taskID string) (*Dir, error) {
	if err := ValidTaskID(taskID); err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(m.root)
	if err != nil {
		return nil, fmt.Errorf("open workspace root: %w", err)
	}
	defer r.Close()
	if err := r.Mkdir(taskID, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create workspace %s: %w", taskID, err)
	}
	info, err := r.Lstat(taskID)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", taskID, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("workspace %s: entry is a %s, not a directory", taskID, info.Mode().Type())
	}
	now := time.Now()
	if err := r.Chtimes(taskID, now, now); err != nil {
		return nil, fmt.Errorf("touch workspace %s: %w", taskID, err)
	}
	sub, err := r.OpenRoot(taskID)
	if err != nil {
		return nil, fmt.Errorf("open workspace %s: %w", taskID, err)
	}
	return &Dir{root: sub, path: filepath.Join(m.root, taskID)}, nil
}

// Exists reports whether taskID is valid and its workspace directory exists.
func (m *Manager) Exists(taskID string) bool {
	if ValidTaskID(taskID) != nil {
		return false
	}
	info, err := os.Lstat(filepath.Join(m.root, taskID))
	return err == nil && info.IsDir()
}

// Remove deletes the workspace of taskID; a missing workspace is not an error.
func (m *Manager) Remove(taskID string) error {
	if err := ValidTaskID(taskID); err != nil {
		return err
	}
	r, err := os.OpenRoot(m.root)
	if err != nil {
		return fmt.Errorf("open workspace root: %w", err)
	}
	defer r.Close()
	if err := r.RemoveAll(taskID); err != nil {
		return fmt.Errorf("remove workspace %s: %w", taskID, err)
	}
	return nil
}

// Cleanup removes the top-level entries named like task ids whose own mtime
// (lstat) is before olderThan and returns their names, sorted. Other names are
// left alone, so a mis-set WORKSPACE_ROOT cannot wipe unrelated data. A
// symlink is removed as a link; its target is never touched. It keeps going
// after a failed removal and reports all failures together.
func (m *Manager) Cleanup(olderThan time.Time) ([]string, error) {
	r, err := os.OpenRoot(m.root)
	if err != nil {
		return nil, fmt.Errorf("open workspace root: %w", err)
	}
	defer r.Close()
	dir, err := r.Open(".")
	if err != nil {
		return nil, fmt.Errorf("open workspace root: %w", err)
	}
	entries, err := dir.ReadDir(-1)
	dir.Close()
	if err != nil {
		return nil, fmt.Errorf("list workspace root: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if ValidTaskID(name) != nil {
			continue
		}
		info, err := r.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("stat %s: %w", name, err))
			continue
		}
		if !info.ModTime().Before(olderThan) {
			continue
		}
		if info.IsDir() {
			err = r.RemoveAll(name)
		} else {
			err = r.Remove(name) // symlinks and stray files: never followed
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
			continue
		}
		removed = append(removed, name)
	}
	slices.Sort(removed)
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("workspace cleanup: %w", err)
	}
	return removed, nil
}
