package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Persister writes the memory store to a directory: one JSON file per task,
// one for users, sessions and usage, and content-addressed blobs for file
// bodies. Every write goes to a temporary file that is synced and renamed
// over the old one, so a crash leaves either the old or the new file.
type Persister struct {
	dir string
}

// NewPersister prepares dir (created if missing).
func NewPersister(dir string) (*Persister, error) {
	for _, sub := range []string{"tasks", "blobs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("store: creating %s: %w", dir, err)
		}
	}
	return &Persister{dir: dir}, nil
}

// SHA256Hex is the hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// WriteFileAtomic replaces path with data so that readers and crashes see
// either the old or the new content, never a torn mix.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func (p *Persister) taskPath(id string) string {
	return filepath.Join(p.dir, "tasks", id+".json")
}

func (p *Persister) saveTask(mt *memTask) error {
	pt := persistedTask{Task: mt.Task, State: mt.State, StateAt: mt.StateAt, Snapshot: mt.Snapshot, Files: mt.Files}
	for _, e := range mt.Events {
		pt.Events = append(pt.Events, diskEvent{Event: e, Seq: e.Seq})
	}
	for _, a := range mt.Artifacts {
		pt.Artifacts = append(pt.Artifacts, diskArtifact{Artifact: a, Seq: a.Seq})
	}
	data, err := json.Marshal(pt)
	if err != nil {
		return fmt.Errorf("store: encoding task %s: %w", mt.Task.ID, err)
	}
	if err := WriteFileAtomic(p.taskPath(mt.Task.ID), data, 0o600); err != nil {
		return fmt.Errorf("store: writing task %s: %w", mt.Task.ID, err)
	}
	return nil
}

func (p *Persister) deleteTask(id string) error {
	err := os.Remove(p.taskPath(id))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: deleting task %s: %w", id, err)
	}
	return nil
}

func (p *Persister) putBlob(sum string, content []byte) error {
	if len(sum) != 64 || strings.ContainsAny(sum, `/\.`) {
		return fmt.Errorf("store: blob name %q is not a SHA-256", sum)
	}
	path := filepath.Join(p.dir, "blobs", sum)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := WriteFileAtomic(path, content, 0o600); err != nil {
		return fmt.Errorf("store: writing blob: %w", err)
	}
	return nil
}

// collectBlobs removes blobs no task refers to any more.
func (p *Persister) collectBlobs(m *Memory) error {
	used := map[string]bool{}
	for _, mt := range m.tasks {
		for _, f := range mt.Files {
			used[f.SHA256] = true
		}
	}
	entries, err := os.ReadDir(filepath.Join(p.dir, "blobs"))
	if err != nil {
		return fmt.Errorf("store: listing blobs: %w", err)
	}
	for _, e := range entries {
		if !used[e.Name()] && !strings.HasPrefix(e.Name(), ".") {
			_ = os.Remove(filepath.Join(p.dir, "blobs", e.Name()))
		}
	}
	return nil
}

type persistedTask struct {
	Task      Task            `json:"task"`
	Events    []diskEvent     `json:"events"`
	Artifacts []diskArtifact  `json:"artifacts"`
	State     json.RawMessage `json:"state,omitempty"`
	StateAt   time.Time       `json:"state_at"`
	Snapshot  json.RawMessage `json:"snapshot,omitempty"`
	Files     map[string]File `json:"files"`
}

// Sequence numbers are hidden from clients' JSON, so the disk form adds them.
type diskEvent struct {
	Event
	Seq int64 `json:"seq"`
}

type diskArtifact struct {
	Artifact
	Seq int64 `json:"seq"`
}

// The password hash is hidden from clients' JSON too; without this the
// file would drop it and nobody could log in after a restart.
type diskUser struct {
	User
	PasswordHash string `json:"password_hash"`
}

type persistedGlobal struct {
	Users    []diskUser           `json:"users"`
	Sessions []RefreshSession     `json:"sessions"`
	Usage    []Usage              `json:"usage"`
	Charges  map[string]time.Time `json:"charges"`
	Seq      int64                `json:"seq"`
}

func (p *Persister) saveGlobal(m *Memory) error {
	g := persistedGlobal{Charges: m.charges, Seq: m.seq}
	for _, u := range m.users {
		g.Users = append(g.Users, diskUser{User: u, PasswordHash: u.PasswordHash})
	}
	for _, s := range m.sessions {
		g.Sessions = append(g.Sessions, s)
	}
	for _, u := range m.usage {
		g.Usage = append(g.Usage, u)
	}
	data, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("store: encoding global state: %w", err)
	}
	if err := WriteFileAtomic(filepath.Join(p.dir, "global.json"), data, 0o600); err != nil {
		return fmt.Errorf("store: writing global state: %w", err)
	}
	return nil
}

// isTempName matches the names WriteFileAtomic gives its temporary files:
// "." + the target's name + ".tmp-" + the digits os.CreateTemp puts for "*".
func isTempName(name string) bool {
	i := strings.LastIndex(name, ".tmp-")
	if !strings.HasPrefix(name, ".") || i < 2 || i+len(".tmp-") == len(name) {
		return false
	}
	for _, r := range name[i+len(".tmp-"):] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// removeTemps deletes the temporary files a crash in the middle of
// WriteFileAtomic left in the store's directories (the file it was
// replacing is intact; the temporary one is garbage). Only regular files
// named like those temporaries, directly in the store's own directories,
// are touched. Best effort, like collectBlobs: a file that cannot be
// removed stays, as harmless as before (loading skips it).
func (p *Persister) removeTemps() {
	for _, dir := range []string{p.dir, filepath.Join(p.dir, "tasks"), filepath.Join(p.dir, "blobs")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.Type().IsRegular() && isTempName(e.Name()) {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}

// load reads everything back into m, after removing the temporary files
// an interrupted write left behind.
func (p *Persister) load(m *Memory) error {
	p.removeTemps()
	if data, err := os.ReadFile(filepath.Join(p.dir, "global.json")); err == nil {
		var g persistedGlobal
		if err := json.Unmarshal(data, &g); err != nil {
			return fmt.Errorf("store: %s is corrupt: %w", filepath.Join(p.dir, "global.json"), err)
		}
		for _, u := range g.Users {
			u.User.PasswordHash = u.PasswordHash
			m.users[u.ID] = u.User
		}
		for _, s := range g.Sessions {
			m.sessions[s.ID] = s
		}
		for _, u := range g.Usage {
			m.usage[usageKey(u.OwnerKey, u.Day)] = u
		}
		if g.Charges != nil {
			m.charges = g.Charges
		}
		m.seq = g.Seq
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: reading global state: %w", err)
	}
	entries, err := os.ReadDir(filepath.Join(p.dir, "tasks"))
	if err != nil {
		return fmt.Errorf("store: listing tasks: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(p.dir, "tasks", name)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("store: reading %s: %w", path, err)
		}
		var pt persistedTask
		if err := json.Unmarshal(data, &pt); err != nil {
			return fmt.Errorf("store: %s is corrupt: %w", path, err)
		}
		mt := &memTask{Task: pt.Task, State: pt.State, StateAt: pt.StateAt, Snapshot: pt.Snapshot, Files: pt.Files}
		for _, e := range pt.Events {
			e.Event.Seq = e.Seq
			mt.Events = append(mt.Events, e.Event)
		}
		for _, a := range pt.Artifacts {
			a.Artifact.Seq = a.Seq
			mt.Artifacts = append(mt.Artifacts, a.Artifact)
		}
		if mt.Files == nil {
			mt.Files = map[string]File{}
		}
		for i := range mt.Events {
			m.eventIDs[mt.Events[i].ID] = true
			if mt.Events[i].Seq > m.seq {
				m.seq = mt.Events[i].Seq
			}
		}
		for i := range mt.Artifacts {
			m.artIDs[mt.Artifacts[i].ID] = true
			if mt.Artifacts[i].Seq > m.seq {
				m.seq = mt.Artifacts[i].Seq
			}
		}
		for path, f := range mt.Files {
			content, err := os.ReadFile(filepath.Join(p.dir, "blobs", f.SHA256))
			if err != nil {
				return fmt.Errorf("store: task %s file %s: blob missing: %w", mt.Task.ID, path, err)
			}
			f.Content = content
			mt.Files[path] = f
		}
		m.tasks[mt.Task.ID] = mt
	}
	return nil
}
