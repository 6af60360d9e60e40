// Package project reads a task's project as the store holds it: the snapshot
// with its template baseline, and the patch from that baseline to the files.
package project

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"ai-platform/internal/store"
	"ai-platform/internal/workspace"
)

// Snapshot is the task's container snapshot: enough to rebuild the task and
// its patch from the store alone.
type Snapshot struct {
	ProjectID    string          `json:"project_id"`
	State        string          `json:"state"`
	Progress     float64         `json:"progress"`
	TemplateID   string          `json:"template_id,omitempty"`
	TemplateHash string          `json:"template_hash,omitempty"`
	CodexVersion string          `json:"codex_version"`
	CodexHash    string          `json:"codex_hash"`
	Baseline     []BaselineFile  `json:"baseline"`
	Files        []SnapshotFile  `json:"files"`
	Iterations   int             `json:"iterations"`
	Answers      map[string]any  `json:"answers,omitempty"`
	History      []SnapshotEntry `json:"history,omitempty"`
	UpdatedAt    string          `json:"updated_at"`
}

// BaselineFile is a template file as it was before the pipeline touched it.
type BaselineFile struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Content string `json:"content_b64"`
}

// SnapshotFile indexes one stored file.
type SnapshotFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size_bytes"`
	Mime   string `json:"mime_type"`
}

// SnapshotEntry is one line of the task's history.
type SnapshotEntry struct {
	At    string `json:"at"`
	Stage string `json:"stage"`
	Note  string `json:"note"`
}

// LoadSnapshot reads a task's snapshot (an empty one when none is stored).
func LoadSnapshot(ctx context.Context, st store.FileStore, taskID string) (Snapshot, error) {
	raw, err := st.GetSnapshot(ctx, taskID)
	if errors.Is(err, store.ErrNotFound) {
		return Snapshot{ProjectID: taskID}, nil
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("loading snapshot of %s: %w", taskID, err)
	}
	var s Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		return Snapshot{}, fmt.Errorf("decoding snapshot of %s: %w", taskID, err)
	}
	return s, nil
}

// BaselineFiles decodes the snapshot's baseline.
func (s Snapshot) BaselineFiles() ([]workspace.File, error) {
	out := make([]workspace.File, 0, len(s.Baseline))
	for _, b := range s.Baseline {
		content, err := base64.StdEncoding.DecodeString(b.Content)
		if err != nil {
			return nil, fmt.Errorf("baseline file %s is corrupt: %w", b.Path, err)
		}
		out = append(out, workspace.File{Path: b.Path, Content: content})
	}
	return out, nil
}

// Patch diffs the task's stored files against its template baseline.
func Patch(ctx context.Context, st store.FileStore, taskID string) (workspace.Patch, error) {
	snap, err := LoadSnapshot(ctx, st, taskID)
	if err != nil {
		return workspace.Patch{}, err
	}
	before, err := snap.BaselineFiles()
	if err != nil {
		return workspace.Patch{}, err
	}
	stored, err := st.GetFiles(ctx, taskID)
	if err != nil {
		return workspace.Patch{}, fmt.Errorf("loading files of %s: %w", taskID, err)
	}
	after := make([]workspace.File, 0, len(stored))
	for _, f := range stored {
		after = append(after, workspace.File{Path: f.Path, Content: f.Content})
	}
	return workspace.Diff(before, after), nil
}
