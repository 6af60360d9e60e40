package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"ai-platform/internal/task"
)

// Memory keeps everything in process memory. With a Persister it also writes
// every change to JSON files, atomically, and reloads them at start.
type Memory struct {
	mu        sync.RWMutex
	tasks     map[string]*memTask
	users     map[string]User // by id
	sessions  map[string]RefreshSession
	usage     map[string]Usage // owner|date
	charges   map[string]time.Time
	seq       int64
	persister *Persister
	now       func() time.Time
}

// memTask is one task with everything it owns; it is also the unit written
// to disk by the Persister.
type memTask struct {
	Task      Task            `json:"task"`
	Events    []Event         `json:"events"`
	EventIDs  map[string]bool `json:"-"`
	Artifacts []Artifact      `json:"artifacts"`
	ArtIDs    map[string]bool `json:"-"`
	State     json.RawMessage `json:"state,omitempty"`
	StateAt   time.Time       `json:"state_at"`
	Snapshot  json.RawMessage `json:"snapshot,omitempty"`
	Files     map[string]File `json:"files"` // content kept in blobs on disk
}

// NewMemory returns an empty memory store. With p non-nil the store's
// previous content is loaded from p and every change is written through it.
func NewMemory(p *Persister) (*Memory, error) {
	m := &Memory{
		tasks:     map[string]*memTask{},
		users:     map[string]User{},
		sessions:  map[string]RefreshSession{},
		usage:     map[string]Usage{},
		charges:   map[string]time.Time{},
		persister: p,
		now:       func() time.Time { return time.Now().UTC() },
	}
	if p != nil {
		if err := p.load(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Memory) nextSeq() int64 { m.seq++; return m.seq }

func usageKey(owner string, day time.Time) string {
	return owner + "|" + day.UTC().Format(time.DateOnly)
}

func cloneTask(t Task) Task {
	t.PendingQuestions = slices.Clone(t.PendingQuestions)
	if t.ProvidedAnswers != nil {
		t.ProvidedAnswers = maps.Clone(t.ProvidedAnswers)
	}
	t.Result = slices.Clone(t.Result)
	if t.CompletedAt != nil {
		c := *t.CompletedAt
		t.CompletedAt = &c
	}
	return t
}

// saveTask writes one task through the persister; callers hold m.mu.
func (m *Memory) saveTask(mt *memTask) error {
	if m.persister == nil {
		return nil
	}
	return m.persister.saveTask(mt)
}

func (m *Memory) saveGlobal() error {
	if m.persister == nil {
		return nil
	}
	return m.persister.saveGlobal(m)
}

// CreateTask implements Store.
func (m *Memory) CreateTask(_ context.Context, t Task) (Task, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tasks[t.ID]; ok {
		return Task{}, fmt.Errorf("create task %s: %w", t.ID, ErrConflict)
	}
	if t.IdempotencyKey != "" {
		for _, mt := range m.tasks {
			if mt.Task.IdempotencyKey == t.IdempotencyKey && mt.Task.OwnerKeyHash == t.OwnerKeyHash && mt.Task.OwnerUserID == t.OwnerUserID {
				return cloneTask(mt.Task), ErrConflict
			}
		}
	}
	now := m.now()
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	t.UpdatedAt = t.CreatedAt
	t.Version = 1
	mt := &memTask{Task: cloneTask(t), EventIDs: map[string]bool{}, ArtIDs: map[string]bool{}, Files: map[string]File{}}
	m.tasks[t.ID] = mt
	if err := m.saveTask(mt); err != nil {
		delete(m.tasks, t.ID)
		return Task{}, err
	}
	return cloneTask(mt.Task), nil
}

// GetTask implements Store.
func (m *Memory) GetTask(_ context.Context, id string) (Task, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mt, ok := m.tasks[id]
	if !ok {
		return Task{}, ErrNotFound
	}
	return cloneTask(mt.Task), nil
}

// UpdateTask implements Store.
func (m *Memory) UpdateTask(_ context.Context, id string, fn func(*Task) error) (Task, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.tasks[id]
	if !ok {
		return Task{}, ErrNotFound
	}
	next := cloneTask(mt.Task)
	if err := fn(&next); err != nil {
		return Task{}, err
	}
	next.ID = mt.Task.ID
	next.Version = mt.Task.Version + 1
	next.UpdatedAt = m.now()
	prev := mt.Task
	mt.Task = next
	if err := m.saveTask(mt); err != nil {
		mt.Task = prev
		return Task{}, err
	}
	return cloneTask(next), nil
}

// ListTasks implements Store.
func (m *Memory) ListTasks(_ context.Context, f TaskFilter) (Page[Task], error) {
	var beforeAt time.Time
	var beforeID string
	if f.Before != "" {
		var err error
		if beforeAt, beforeID, err = ParseTaskCursor(f.Before); err != nil {
			return Page[Task]{}, err
		}
	}
	m.mu.RLock()
	var all []Task
	for _, mt := range m.tasks {
		t := mt.Task
		if (f.OwnerKeyHash != "" && t.OwnerKeyHash != f.OwnerKeyHash) ||
			(f.OwnerUserID != "" && t.OwnerUserID != f.OwnerUserID) ||
			(f.UserID != "" && t.UserID != f.UserID) ||
			(f.Status != "" && t.Status != f.Status) {
			continue
		}
		all = append(all, cloneTask(t))
	}
	m.mu.RUnlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].CreatedAt.Equal(all[j].CreatedAt) {
			return all[i].ID > all[j].ID
		}
		return all[i].CreatedAt.After(all[j].CreatedAt)
	})
	total := len(all)
	if f.Before != "" {
		i := sort.Search(len(all), func(i int) bool { return taskOlder(all[i], beforeAt, beforeID) })
		all = all[i:]
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	page := Page[Task]{Total: total}
	if len(all) > limit {
		page.Next = TaskCursor(all[limit-1])
		all = all[:limit]
	}
	page.Items = all
	return page, nil
}

// CountTasksByStatus implements Store.
func (m *Memory) CountTasksByStatus(context.Context) (map[task.Status]int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[task.Status]int{}
	for _, mt := range m.tasks {
		out[mt.Task.Status]++
	}
	return out, nil
}

// AppendEvent implements Store.
func (m *Memory) AppendEvent(_ context.Context, e Event) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.tasks[e.TaskID]
	if !ok {
		return false, fmt.Errorf("append event to task %s: %w", e.TaskID, ErrNotFound)
	}
	if mt.EventIDs[e.ID] {
		return false, nil
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = m.now()
	}
	if len(e.Payload) == 0 {
		e.Payload = json.RawMessage(`{}`)
	}
	e.Seq = m.nextSeq()
	mt.Events = append(mt.Events, e)
	mt.EventIDs[e.ID] = true
	if err := m.saveTask(mt); err != nil {
		mt.Events = mt.Events[:len(mt.Events)-1]
		delete(mt.EventIDs, e.ID)
		return false, err
	}
	return true, nil
}

func pageBySeq[T any](items []T, seqOf func(T) int64, typeOf func(T) string, o ListOptions) (Page[T], error) {
	var after int64 = -1
	if o.After != "" {
		n, err := ParseSeqCursor(o.After)
		if err != nil {
			return Page[T]{}, err
		}
		after = n
	}
	desc := o.Order != "asc"
	var sel []T
	total := 0
	for _, it := range items {
		if o.Type != "" && typeOf(it) != o.Type {
			continue
		}
		total++
		s := seqOf(it)
		if after >= 0 && ((desc && s >= after) || (!desc && s <= after)) {
			continue
		}
		sel = append(sel, it)
	}
	sort.Slice(sel, func(i, j int) bool {
		if desc {
			return seqOf(sel[i]) > seqOf(sel[j])
		}
		return seqOf(sel[i]) < seqOf(sel[j])
	})
	limit := o.Limit
	if limit <= 0 {
		limit = 200
	}
	p := Page[T]{Total: total}
	if len(sel) > limit {
		p.Next = SeqCursor(seqOf(sel[limit-1]))
		sel = sel[:limit]
	}
	p.Items = sel
	return p, nil
}

// ListEvents implements Store.
func (m *Memory) ListEvents(_ context.Context, taskID string, o ListOptions) (Page[Event], error) {
	m.mu.RLock()
	mt, ok := m.tasks[taskID]
	var evs []Event
	if ok {
		evs = slices.Clone(mt.Events)
	}
	m.mu.RUnlock()
	if !ok {
		return Page[Event]{}, ErrNotFound
	}
	return pageBySeq(evs, func(e Event) int64 { return e.Seq }, func(e Event) string { return e.Type }, o)
}

// AppendArtifact implements Store.
func (m *Memory) AppendArtifact(_ context.Context, a Artifact) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.tasks[a.TaskID]
	if !ok {
		return false, fmt.Errorf("append artifact to task %s: %w", a.TaskID, ErrNotFound)
	}
	if mt.ArtIDs[a.ID] {
		return false, nil
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = m.now()
	}
	if len(a.Payload) == 0 {
		a.Payload = json.RawMessage(`{}`)
	}
	a.Seq = m.nextSeq()
	mt.Artifacts = append(mt.Artifacts, a)
	mt.ArtIDs[a.ID] = true
	mt.Task.ArtifactsCount++
	if err := m.saveTask(mt); err != nil {
		mt.Artifacts = mt.Artifacts[:len(mt.Artifacts)-1]
		delete(mt.ArtIDs, a.ID)
		mt.Task.ArtifactsCount--
		return false, err
	}
	return true, nil
}

// ListArtifacts implements Store.
func (m *Memory) ListArtifacts(_ context.Context, taskID string, o ListOptions) (Page[Artifact], error) {
	m.mu.RLock()
	mt, ok := m.tasks[taskID]
	var arts []Artifact
	if ok {
		arts = slices.Clone(mt.Artifacts)
	}
	m.mu.RUnlock()
	if !ok {
		return Page[Artifact]{}, ErrNotFound
	}
	return pageBySeq(arts, func(a Artifact) int64 { return a.Seq }, func(a Artifact) string { return a.Type }, o)
}

// GetArtifact implements Store.
func (m *Memory) GetArtifact(_ context.Context, taskID, id string) (Artifact, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mt, ok := m.tasks[taskID]
	if !ok {
		return Artifact{}, ErrNotFound
	}
	for _, a := range mt.Artifacts {
		if a.ID == id {
			return a, nil
		}
	}
	return Artifact{}, ErrNotFound
}

// LatestArtifact implements Store.
func (m *Memory) LatestArtifact(_ context.Context, taskID, typ string) (Artifact, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mt, ok := m.tasks[taskID]
	if !ok {
		return Artifact{}, ErrNotFound
	}
	for i := len(mt.Artifacts) - 1; i >= 0; i-- {
		if mt.Artifacts[i].Type == typ {
			return mt.Artifacts[i], nil
		}
	}
	return Artifact{}, ErrNotFound
}

// PutState implements Store.
func (m *Memory) PutState(_ context.Context, taskID string, state json.RawMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.tasks[taskID]
	if !ok {
		return ErrNotFound
	}
	prev, prevAt := mt.State, mt.StateAt
	mt.State, mt.StateAt = slices.Clone(state), m.now()
	if err := m.saveTask(mt); err != nil {
		mt.State, mt.StateAt = prev, prevAt
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
	prev, prevCount, prevBytes := mt.Files, mt.Task.FilesCount, mt.Task.FilesBytes
	mt.Files = next
	mt.Task.FilesCount, mt.Task.FilesBytes = len(next), total
	if err := m.saveTask(mt); err != nil {
		mt.Files, mt.Task.FilesCount, mt.Task.FilesBytes = prev, prevCount, prevBytes
		return err
	}
	return nil
}

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
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.tasks[taskID]
	if !ok {
		return ErrNotFound
	}
	prev := mt.Snapshot
	mt.Snapshot = slices.Clone(snap)
	if err := m.saveTask(mt); err != nil {
		mt.Snapshot = prev
		return err
	}
	return nil
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

// AddUsage implements Store.
func (m *Memory) AddUsage(_ context.Context, c UsageCharge) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, done := m.charges[c.ID]; done {
		return false, nil
	}
	day := c.Day.UTC().Truncate(24 * time.Hour)
	k := usageKey(c.OwnerKey, day)
	u := m.usage[k]
	u.OwnerKey, u.Day = c.OwnerKey, day
	u.TokensIn += c.TokensIn
	u.TokensOut += c.TokensOut
	u.CommandRuns += c.CommandRuns
	m.usage[k] = u
	m.charges[c.ID] = day
	if err := m.saveGlobal(); err != nil {
		return false, err
	}
	return true, nil
}

// GetUsage implements Store.
func (m *Memory) GetUsage(_ context.Context, ownerKey string, day time.Time) (Usage, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	day = day.UTC().Truncate(24 * time.Hour)
	u, ok := m.usage[usageKey(ownerKey, day)]
	if !ok {
		return Usage{OwnerKey: ownerKey, Day: day}, nil
	}
	return u, nil
}

// UsageSince implements Store.
func (m *Memory) UsageSince(_ context.Context, day time.Time, limit int) ([]Usage, error) {
	m.mu.RLock()
	sums := map[string]Usage{}
	for _, u := range m.usage {
		if u.Day.Before(day.UTC().Truncate(24 * time.Hour)) {
			continue
		}
		s := sums[u.OwnerKey]
		s.OwnerKey = u.OwnerKey
		s.TokensIn += u.TokensIn
		s.TokensOut += u.TokensOut
		s.CommandRuns += u.CommandRuns
		sums[u.OwnerKey] = s
	}
	m.mu.RUnlock()
	out := slices.Collect(maps.Values(sums))
	sort.Slice(out, func(i, j int) bool {
		ti, tj := out[i].TokensIn+out[i].TokensOut, out[j].TokensIn+out[j].TokensOut
		if ti == tj {
			return out[i].OwnerKey < out[j].OwnerKey
		}
		return ti > tj
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// CreateUser implements Store.
func (m *Memory) CreateUser(_ context.Context, u User) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	for _, e := range m.users {
		if e.Email == u.Email {
			return User{}, ErrConflict
		}
	}
	if _, ok := m.users[u.ID]; ok {
		return User{}, ErrConflict
	}
	now := m.now()
	u.CreatedAt, u.UpdatedAt = now, now
	m.users[u.ID] = u
	if err := m.saveGlobal(); err != nil {
		delete(m.users, u.ID)
		return User{}, err
	}
	return u, nil
}

// GetUserByEmail implements Store.
func (m *Memory) GetUserByEmail(_ context.Context, email string) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	email = strings.ToLower(strings.TrimSpace(email))
	for _, u := range m.users {
		if u.Email == email {
			return u, nil
		}
	}
	return User{}, ErrNotFound
}

// GetUserByID implements Store.
func (m *Memory) GetUserByID(_ context.Context, id string) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.users[id]
	if !ok {
		return User{}, ErrNotFound
	}
	return u, nil
}

// CreateRefreshSession implements Store.
func (m *Memory) CreateRefreshSession(_ context.Context, s RefreshSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.sessions {
		if e.TokenHash == s.TokenHash {
			return ErrConflict
		}
	}
	if _, ok := m.users[s.UserID]; !ok {
		return fmt.Errorf("refresh session for user %s: %w", s.UserID, ErrNotFound)
	}
	m.sessions[s.ID] = s
	return m.saveGlobal()
}

// GetRefreshSessionByHash implements Store.
func (m *Memory) GetRefreshSessionByHash(_ context.Context, tokenHash string) (RefreshSession, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, s := range m.sessions {
		if s.TokenHash == tokenHash {
			return s, nil
		}
	}
	return RefreshSession{}, ErrNotFound
}

// RotateRefreshSession implements Store.
func (m *Memory) RotateRefreshSession(_ context.Context, oldID string, next RefreshSession, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.sessions[oldID]
	if !ok {
		return ErrNotFound
	}
	if old.RotatedAt != nil || old.RevokedAt != nil {
		return ErrConflict
	}
	old.RotatedAt, old.LastUsedAt = &now, &now
	m.sessions[oldID] = old
	m.sessions[next.ID] = next
	return m.saveGlobal()
}

// RevokeRefreshFamily implements Store.
func (m *Memory) RevokeRefreshFamily(_ context.Context, familyID string, now time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for id, s := range m.sessions {
		if s.FamilyID == familyID && s.RevokedAt == nil {
			s.RevokedAt = &now
			m.sessions[id] = s
			n++
		}
	}
	return n, m.saveGlobal()
}

// Purge implements Store.
func (m *Memory) Purge(_ context.Context, cutoff time.Time, batch int) (PurgeResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var r PurgeResult
	var old []*memTask
	for _, mt := range m.tasks {
		if mt.Task.CreatedAt.Before(cutoff) {
			old = append(old, mt)
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i].Task.CreatedAt.Before(old[j].Task.CreatedAt) })
	if batch > 0 && len(old) > batch {
		old = old[:batch]
	}
	for _, mt := range old {
		r.Tasks++
		r.Events += int64(len(mt.Events))
		r.Artifacts += int64(len(mt.Artifacts))
		r.Files += int64(len(mt.Files))
		delete(m.tasks, mt.Task.ID)
		if m.persister != nil {
			if err := m.persister.deleteTask(mt.Task.ID); err != nil {
				return r, err
			}
		}
	}
	cutDay := cutoff.UTC().Truncate(24 * time.Hour)
	for k, u := range m.usage {
		if u.Day.Before(cutDay) {
			delete(m.usage, k)
			r.Usage++
		}
	}
	for id, d := range m.charges {
		if d.Before(cutDay) {
			delete(m.charges, id)
		}
	}
	for id, s := range m.sessions {
		if s.ExpiresAt.Before(cutoff) {
			delete(m.sessions, id)
			r.Sessions++
		}
	}
	if r.Usage > 0 || r.Sessions > 0 {
		if err := m.saveGlobal(); err != nil {
			return r, err
		}
	}
	if m.persister != nil && r.Tasks > 0 {
		if err := m.persister.collectBlobs(m); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Ping implements Store.
func (m *Memory) Ping(context.Context) error { return nil }

// Close implements Store.
func (m *Memory) Close() error { return nil }
