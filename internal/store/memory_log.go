package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// logPayload validates an event or artifact payload, defaulting to {}, and
// cleans it (text.go): command output in a payload may hold NUL.
func logPayload(what string, p json.RawMessage) (json.RawMessage, error) {
	if len(p) == 0 {
		return json.RawMessage(`{}`), nil
	}
	if err := checkJSON(what+" payload", p); err != nil {
		return nil, err
	}
	return slices.Clone(cleanJSON(p)), nil
}

// AppendEvent implements Store.
func (m *Memory) AppendEvent(_ context.Context, e Event) (bool, error) {
	if err := checkNewID("event", e.ID); err != nil {
		return false, err
	}
	var err error
	if e.Payload, err = logPayload("event", e.Payload); err != nil {
		return false, err
	}
	e.Type = CleanText(e.Type)
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.tasks[e.TaskID]
	if !ok {
		return false, fmt.Errorf("append event to task %s: %w", e.TaskID, ErrNotFound)
	}
	if m.eventIDs[e.ID] {
		return false, nil
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = m.now()
	}
	e.CreatedAt = dbTime(e.CreatedAt)
	e.Seq = m.nextSeq()
	mt.Events = append(mt.Events, e)
	m.eventIDs[e.ID] = true
	if err := m.saveTask(mt); err != nil {
		mt.Events = mt.Events[:len(mt.Events)-1]
		delete(m.eventIDs, e.ID)
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
	if err := checkSeqCursor(o.After); err != nil {
		return Page[Event]{}, err
	}
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
	if err := checkNewID("artifact", a.ID); err != nil {
		return false, err
	}
	var err error
	if a.Payload, err = logPayload("artifact", a.Payload); err != nil {
		return false, err
	}
	a.Type, a.ProducedBy = CleanText(a.Type), CleanText(a.ProducedBy)
	m.mu.Lock()
	defer m.mu.Unlock()
	mt, ok := m.tasks[a.TaskID]
	if !ok {
		return false, fmt.Errorf("append artifact to task %s: %w", a.TaskID, ErrNotFound)
	}
	if m.artIDs[a.ID] {
		return false, nil
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = m.now()
	}
	a.CreatedAt = dbTime(a.CreatedAt)
	a.Seq = m.nextSeq()
	prev := mt.Task
	mt.Artifacts = append(mt.Artifacts, a)
	m.artIDs[a.ID] = true
	mt.Task.ArtifactsCount++
	m.touch(&mt.Task)
	if err := m.saveTask(mt); err != nil {
		mt.Artifacts = mt.Artifacts[:len(mt.Artifacts)-1]
		delete(m.artIDs, a.ID)
		mt.Task = prev
		return false, err
	}
	return true, nil
}

// ListArtifacts implements Store.
func (m *Memory) ListArtifacts(_ context.Context, taskID string, o ListOptions) (Page[Artifact], error) {
	if err := checkSeqCursor(o.After); err != nil {
		return Page[Artifact]{}, err
	}
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
