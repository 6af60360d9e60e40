package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"ai-platform/internal/task"
)

// Memory keeps everything in process memory. With a Persister it also writes
// every change to JSON files, atomically, and reloads them at start.
//
// It follows the rules PostgreSQL imposes (see check.go: canonical UUID ids,
// valid JSON, microsecond UTC times, JSON-typed answers) so that code tested
// against it behaves the same in production.
type Memory struct {
	mu        sync.RWMutex
	rows      rowLocks
	tasks     map[string]*memTask
	eventIDs  map[string]bool // ids are unique across tasks, as the primary key is in SQL
	artIDs    map[string]bool
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
	Artifacts []Artifact      `json:"artifacts"`
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
		eventIDs:  map[string]bool{},
		artIDs:    map[string]bool{},
		users:     map[string]User{},
		sessions:  map[string]RefreshSession{},
		usage:     map[string]Usage{},
		charges:   map[string]time.Time{},
		persister: p,
		now:       func() time.Time { return dbTime(time.Now()) },
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
	for i := range t.PendingQuestions {
		t.PendingQuestions[i].Choices = slices.Clone(t.PendingQuestions[i].Choices)
	}
	if t.ProvidedAnswers != nil {
		t.ProvidedAnswers = cloneJSONValue(t.ProvidedAnswers).(map[string]any)
	}
	t.Result = slices.Clone(t.Result)
	if t.CompletedAt != nil {
		c := *t.CompletedAt
		t.CompletedAt = &c
	}
	return t
}

// cloneJSONValue deep-copies a value made of the types encoding/json decodes to.
func cloneJSONValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = cloneJSONValue(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneJSONValue(e)
		}
		return c
	}
	return v
}

// normalizeTask brings t to the form PostgreSQL would hand back: times in
// UTC microseconds, answers as decoded JSON (an int becomes a float64) and
// text as PostgreSQL can hold it (text.go).
func normalizeTask(t *Task) error {
	if t.Result != nil {
		if err := checkJSON("task result", t.Result); err != nil {
			return err
		}
	}
	cleanTask(t)
	if t.ProvidedAnswers != nil {
		b, err := json.Marshal(t.ProvidedAnswers)
		if err != nil {
			return fmt.Errorf("task provided answers: %w", err)
		}
		var a map[string]any
		if err := json.Unmarshal(cleanJSON(b), &a); err != nil {
			return fmt.Errorf("task provided answers: %w", err)
		}
		t.ProvidedAnswers = a
	}
	t.CreatedAt = dbTime(t.CreatedAt)
	t.UpdatedAt = dbTime(t.UpdatedAt)
	t.CompletedAt = dbTimePtr(t.CompletedAt)
	return nil
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
	if err := checkNewID("task", t.ID); err != nil {
		return Task{}, err
	}
	if err := normalizeTask(&t); err != nil {
		return Task{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// The key is checked before the id: a retried create carries both, and
	// the caller wants the task it created the first time.
	if t.IdempotencyKey != "" {
		for _, mt := range m.tasks {
			if mt.Task.IdempotencyKey == t.IdempotencyKey && mt.Task.OwnerKeyHash == t.OwnerKeyHash && mt.Task.OwnerUserID == t.OwnerUserID {
				return cloneTask(mt.Task), ErrConflict
			}
		}
	}
	if _, ok := m.tasks[t.ID]; ok {
		return Task{}, fmt.Errorf("create task %s: %w", t.ID, ErrConflict)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = m.now()
	}
	t.UpdatedAt = t.CreatedAt
	t.Version = 1
	// The counters describe rows the task does not have yet.
	t.FilesCount, t.FilesBytes, t.ArtifactsCount = 0, 0, 0
	mt := &memTask{Task: cloneTask(t), Files: map[string]File{}}
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

// UpdateTask implements Store. The id, creation time and the counters kept
// by PutFiles and AppendArtifact cannot be changed by fn. fn runs holding
// the task's row lock, not the store's mutex: it may do I/O (the API signals
// a workflow from it) without stalling every other task, as in PostgreSQL.
func (m *Memory) UpdateTask(ctx context.Context, id string, fn func(*Task) error) (Task, error) {
	return m.UpdateTaskProjected(ctx, id, fn, nil)
}

// UpdateTaskProjected implements Store. project runs before the row is
// saved, so its error leaves everything as it was; the events and the state
// document are written right after the row, under the row lock. An event
// that cannot be written is reported, but the row stays updated: the memory
// store has no transaction to take it back.
func (m *Memory) UpdateTaskProjected(ctx context.Context, id string, fn func(*Task) error, project ProjectFunc) (Task, error) {
	unlock := m.rows.lock(id)
	defer unlock()
	t, proj, err := m.updateRow(id, fn, project)
	if err != nil {
		return Task{}, err
	}
	for _, e := range proj.Events {
		if _, err := m.AppendEvent(ctx, e); err != nil {
			return t, err
		}
	}
	if proj.State != nil {
		if err := m.PutState(ctx, id, proj.State); err != nil {
			return t, err
		}
	}
	return t, nil
}

// updateRow is UpdateTask's row change; the caller holds the row lock.
func (m *Memory) updateRow(id string, fn func(*Task) error, project ProjectFunc) (Task, Projection, error) {
	var proj Projection
	m.mu.RLock()
	mt, ok := m.tasks[id]
	var next Task
	if ok {
		next = cloneTask(mt.Task)
	}
	m.mu.RUnlock()
	if !ok {
		return Task{}, proj, ErrNotFound
	}
	if err := fn(&next); err != nil {
		return Task{}, proj, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if mt, ok = m.tasks[id]; !ok {
		return Task{}, proj, ErrNotFound // purged while fn ran
	}
	// Only UpdateTask changes the row's fields, and it holds the row lock;
	// the counters may have moved while fn ran, so they are read now.
	cur := mt.Task
	next.ID, next.CreatedAt = cur.ID, cur.CreatedAt
	next.FilesCount, next.FilesBytes, next.ArtifactsCount = cur.FilesCount, cur.FilesBytes, cur.ArtifactsCount
	next.Version = cur.Version + 1
	next.UpdatedAt = m.now()
	if err := normalizeTask(&next); err != nil {
		return Task{}, proj, err
	}
	if project != nil {
		var err error
		if proj, err = project(cloneTask(cur), cloneTask(next)); err != nil {
			return Task{}, proj, err
		}
		for _, e := range proj.Events {
			if e.TaskID != id {
				return Task{}, proj, fmt.Errorf("memory: event %s belongs to task %q, not %s", e.ID, e.TaskID, id)
			}
			if err := checkNewID("event", e.ID); err != nil {
				return Task{}, proj, err
			}
		}
		if proj.State != nil {
			if err := checkJSON("task state", proj.State); err != nil {
				return Task{}, proj, err
			}
		}
	}
	mt.Task = next
	if err := m.saveTask(mt); err != nil {
		mt.Task = cur
		return Task{}, proj, err
	}
	return cloneTask(next), proj, nil
}

// rowLocks are per-task locks, the memory store's row locks.
type rowLocks struct {
	mu    sync.Mutex
	locks map[string]*rowLock
}

type rowLock struct {
	mu    sync.Mutex
	users int
}

// lock takes id's row lock and returns its release; a lock nobody holds or
// waits for is forgotten.
func (r *rowLocks) lock(id string) func() {
	r.mu.Lock()
	if r.locks == nil {
		r.locks = map[string]*rowLock{}
	}
	l := r.locks[id]
	if l == nil {
		l = &rowLock{}
		r.locks[id] = l
	}
	l.users++
	r.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		r.mu.Lock()
		if l.users--; l.users == 0 {
			delete(r.locks, id)
		}
		r.mu.Unlock()
	}
}

// touch records a change to the task row made by the store itself.
func (m *Memory) touch(t *Task) {
	t.Version++
	t.UpdatedAt = m.now()
}

// ListTasks implements Store.
func (m *Memory) ListTasks(_ context.Context, f TaskFilter) (Page[Task], error) {
	f = cleanFilter(f)
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

// Ping implements Store.
func (m *Memory) Ping(context.Context) error { return nil }

// Close implements Store.
func (m *Memory) Close() error { return nil }
