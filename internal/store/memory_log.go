package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

// AppendEvent implements Store.
func (m *Memory) AppendEvent(_ context.Context, e Event) (bool, error) {
	return m.appendLog(e.entry(), m.eventIDs, func(mt *memTask) (undo func()) {
		mt.Events = append(mt.Events, e)
		return func() { mt.Events = mt.Events[:len(mt.Events)-1] }
	})
}

// AppendArtifact implements Store.
func (m *Memory) AppendArtifact(_ context.Context, a Artifact) (bool, error) {
	return m.appendLog(a.entry(), m.artIDs, func(mt *memTask) (undo func()) {
		prev := mt.Task
		mt.Artifacts = append(mt.Artifacts, a)
		mt.Task.ArtifactsCount++
		m.touch(&mt.Task)
		return func() {
			mt.Artifacts = mt.Artifacts[:len(mt.Artifacts)-1]
			mt.Task = prev
		}
	})
}

// appendLog appends an event or artifact: it checks and cleans the entry,
// then, under the lock, skips an id already in seen, stamps the entry's time
// and sequence number, lets insert add it to the task, and saves the task;
// if saving fails, insert's undo takes the entry out again.
func (m *Memory) appendLog(l logEntry, seen map[string]bool, insert func(*memTask) (undo func())) (bool, error) {
	if err := checkNewID(l.what, l.id); err != nil {
		return false, err
	}
	if err := l.clean(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.tasks[l.taskID]
	if !ok {
		return false, fmt.Errorf("append %s to task %s: %w", l.what, l.taskID, ErrNotFound)
	}
	if seen[l.id] {
		return false, nil
	}
	if l.createdAt.IsZero() {
		*l.createdAt = m.now()
	}
	*l.createdAt = dbTime(*l.createdAt)
	*l.seq = m.nextSeq()
	undo := insert(mt)
	seen[l.id] = true
	if err := m.saveTask(mt); err != nil {
		undo()
		delete(seen, l.id)
		return false, err
	}
	return true, nil
}

// checkSeqCursor rejects a bad cursor before anything is looked up, as the
// PostgreSQL store does.
func checkSeqCursor(c string) error {
	if c == "" {
		return nil
	}
	_, err := ParseSeqCursor(c)
	return err
}

func pageBySeq[T any](items []T, seqOf func(T) int64, typeOf func(T) string, o ListOptions) (Page[T], error) {
	o.Type = CleanText(o.Type) // as stored
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
	return listEntries(m, taskID, o, func(mt *memTask) []Event { return mt.Events },
		func(e Event) int64 { return e.Seq }, func(e Event) string { return e.Type })
}

// ListArtifacts implements Store.
func (m *Memory) ListArtifacts(_ context.Context, taskID string, o ListOptions) (Page[Artifact], error) {
	return listEntries(m, taskID, o, func(mt *memTask) []Artifact { return mt.Artifacts },
		func(a Artifact) int64 { return a.Seq }, func(a Artifact) string { return a.Type })
}

// listEntries pages one task's events or artifacts: a bad cursor is
// rejected before anything is looked up, and the page is cut from a copy
// of the entries taken under the read lock.
func listEntries[T any](m *Memory, taskID string, o ListOptions, entries func(*memTask) []T,
	seqOf func(T) int64, typeOf func(T) string) (Page[T], error) {
	if err := checkSeqCursor(o.After); err != nil {
		return Page[T]{}, err
	}
	m.mu.RLock()
	mt, ok := m.tasks[taskID]
	var items []T
	if ok {
		items = slices.Clone(entries(mt))
	}
	m.mu.RUnlock()
	if !ok {
		return Page[T]{}, ErrNotFound
	}
	return pageBySeq(items, seqOf, typeOf, o)
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
			a.Payload = slices.Clone(a.Payload)
			return a, nil
		}
	}
	return Artifact{}, ErrNotFound
}

// LatestArtifact implements Store.
func (m *Memory) LatestArtifact(_ context.Context, taskID, typ string) (Artifact, error) {
	typ = CleanText(typ)
	m.mu.RLock()
	defer m.mu.RUnlock()
	mt, ok := m.tasks[taskID]
	if !ok {
		return Artifact{}, ErrNotFound
	}
	for i := len(mt.Artifacts) - 1; i >= 0; i-- {
		if a := mt.Artifacts[i]; a.Type == typ {
			a.Payload = slices.Clone(a.Payload)
			return a, nil
		}
	}
	return Artifact{}, ErrNotFound
}
