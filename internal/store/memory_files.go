package store

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"time"
)

// PutState implements Store.
func (m *Memory) PutState(_ context.Context, taskID string, state json.RawMessage) error {
	return m.putDocument("task state", taskID, state, func(mt *memTask, doc json.RawMessage) (undo func()) {
		prev, prevAt := mt.State, mt.StateAt
		mt.State, mt.StateAt = doc, m.now()
		return func() { mt.State, mt.StateAt = prev, prevAt }
	})
}

// putDocument stores one of a task's JSON documents (its state or snapshot):
// it checks the document, lets set put a clean copy on the task under the
// lock, and saves the task; if saving fails, set's undo puts the previous
// document back.
func (m *Memory) putDocument(what, taskID string, doc json.RawMessage,
	set func(mt *memTask, doc json.RawMessage) (undo func())) error {
	if err := checkJSON(what, doc); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.tasks[taskID]
	if !ok {
		return ErrNotFound
	}
	undo := set(mt, slices.Clone(cleanJSON(doc)))
	if err := m.saveTask(mt); err != nil {
		undo()
		return err
	}
	return nil
}

// GetState implements Store.
func (m *Memory) GetState(_ context.Context, taskID string) (json.RawMessage, time.Time, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mt, ok := m.tasks[taskID]
	if !ok || mt.State == nil {
		return nil, time.Time{}, ErrNotFound
	}
	return slices.Clone(mt.State), mt.StateAt, nil
}

// PutFiles implements Store.
func (m *Memory) PutFiles(_ context.Context, taskID string, files []File, remove []string, lim FileLimits) error {
	files, remove = cleanFiles(files, remove)
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.tasks[taskID]
	if !ok {
		return ErrNotFound
	}
	next := maps.Clone(mt.Files)
	for _, p := range remove {
		delete(next, p)
	}
	now := m.now()
	for _, f := range files {
		f.Size = int64(len(f.Content))
		if f.SHA256 == "" {
			f.SHA256 = SHA256Hex(f.Content)
		}
		f.Content = slices.Clone(f.Content)
		if f.Content == nil {
			f.Content = []byte{}
		}
		f.UpdatedAt = now
		next[f.Path] = f
	}
	var total int64
	for _, f := range next {
		total += f.Size
	}
	if err := checkLimits(len(next), total, lim); err != nil {
		return err
	}
	if m.persister != nil {
		// From next, not files: next holds the computed SHA-256, files
		// usually an empty one, which named no blob at all.
		for _, f := range files {
			stored := next[f.Path]
			if err := m.persister.putBlob(stored.SHA256, stored.Content); err != nil {
				return err
			}
		}
	}
	prev, prevTask := mt.Files, mt.Task
	mt.Files = next
	mt.Task.FilesCount, mt.Task.FilesBytes = len(next), total
	m.touch(&mt.Task)
	if err := m.saveTask(mt); err != nil {
		mt.Files, mt.Task = prev, prevTask
		return err
	}
	return nil
}

// checkLimits applies FileLimits to a task's totals after a change; the
// count is checked first (as in the earlier system), so a change over both
// bounds reports the file count.
func checkLimits(count int, bytes int64, lim FileLimits) error {
	if lim.MaxFiles > 0 && count > lim.MaxFiles {
		return &LimitError{Kind: "files", Value: int64(count), Max: int64(lim.MaxFiles)}
	}
	if lim.MaxBytes > 0 && bytes > lim.MaxBytes {
		return &LimitError{Kind: "bytes", Value: bytes, Max: lim.MaxBytes}
	}
	return nil
}

// ListFiles implements Store.
func (m *Memory) ListFiles(_ context.Context, taskID string) ([]File, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mt, ok := m.tasks[taskID]
	if !ok {
		return nil, ErrNotFound
	}
	out := make([]File, 0, len(mt.Files))
	for _, f := range mt.Files {
		f.Content = nil
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// GetFile implements Store.
func (m *Memory) GetFile(_ context.Context, taskID, path string) (File, error) {
	path = CleanText(path) // as stored
	m.mu.RLock()
	defer m.mu.RUnlock()
	mt, ok := m.tasks[taskID]
	if !ok {
		return File{}, ErrNotFound
	}
	f, ok := mt.Files[path]
	if !ok {
		return File{}, ErrNotFound
	}
	f.Content = slices.Clone(f.Content)
	return f, nil
}

// GetFiles implements Store.
func (m *Memory) GetFiles(_ context.Context, taskID string) ([]File, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mt, ok := m.tasks[taskID]
	if !ok {
		return nil, ErrNotFound
	}
	out := make([]File, 0, len(mt.Files))
	for _, f := range mt.Files {
		f.Content = slices.Clone(f.Content)
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// PutSnapshot implements Store.
func (m *Memory) PutSnapshot(_ context.Context, taskID string, snap json.RawMessage) error {
	return m.putDocument("task snapshot", taskID, snap, func(mt *memTask, doc json.RawMessage) (undo func()) {
		prev := mt.Snapshot
		mt.Snapshot = doc
		return func() { mt.Snapshot = prev }
	})
}

// GetSnapshot implements Store.
func (m *Memory) GetSnapshot(_ context.Context, taskID string) (json.RawMessage, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mt, ok := m.tasks[taskID]
	if !ok || mt.Snapshot == nil {
		return nil, ErrNotFound
	}
	return slices.Clone(mt.Snapshot), nil
}
