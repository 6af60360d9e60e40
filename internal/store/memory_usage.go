package store

import (
	"context"
	"maps"
	"slices"
	"sort"
	"time"

	"ai-platform/internal/pricing"
)

// AddUsage implements Store.
func (m *Memory) AddUsage(_ context.Context, c UsageCharge) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, done := m.charges[c.ID]; done {
		return false, nil
	}
	day := dbDay(c.Day)
	k := usageKey(c.OwnerKey, day)
	prev, had := m.usage[k]
	u := prev
	u.OwnerKey, u.Day = c.OwnerKey, day
	u.TokensIn += c.TokensIn
	u.TokensOut += c.TokensOut
	u.CostUSD = pricing.Add(u.CostUSD, c.CostUSD)
	u.CommandRuns += c.CommandRuns
	m.usage[k] = u
	m.charges[c.ID] = day
	if err := m.saveGlobal(); err != nil {
		// Undo, or a retry of this charge would be a no-op that never
		// reaches the disk.
		delete(m.charges, c.ID)
		if had {
			m.usage[k] = prev
		} else {
			delete(m.usage, k)
		}
		return false, err
	}
	return true, nil
}

// GetUsage implements Store.
func (m *Memory) GetUsage(_ context.Context, ownerKey string, day time.Time) (Usage, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	day = dbDay(day)
	u, ok := m.usage[usageKey(ownerKey, day)]
	if !ok {
		return Usage{OwnerKey: ownerKey, Day: day}, nil
	}
	return u, nil
}

// UsageSince implements Store.
func (m *Memory) UsageSince(_ context.Context, day time.Time, limit int) ([]Usage, error) {
	from := dbDay(day)
	m.mu.RLock()
	sums := map[string]Usage{}
	for _, u := range m.usage {
		if u.Day.Before(from) {
			continue
		}
		s := sums[u.OwnerKey]
		s.OwnerKey = u.OwnerKey
		s.TokensIn += u.TokensIn
		s.TokensOut += u.TokensOut
		s.CostUSD = pricing.Add(s.CostUSD, u.CostUSD)
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

// UsageDays implements Store.
func (m *Memory) UsageDays(_ context.Context, ownerKey string, from, to time.Time) ([]Usage, error) {
	from, to = dbDay(from), dbDay(to)
	m.mu.RLock()
	var out []Usage
	for _, u := range m.usage {
		if u.OwnerKey == ownerKey && !u.Day.Before(from) && !u.Day.After(to) {
			out = append(out, u)
		}
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Day.After(out[j].Day) })
	return out, nil
}

// purgeCutoff rounds cutoff up to the microsecond: a row stored at microsecond
// precision is older than cutoff exactly when it is older than the rounded
// value, which is also what PostgreSQL compares against.
func purgeCutoff(cutoff time.Time) time.Time {
	c := dbTime(cutoff)
	if c.Before(cutoff) {
		c = c.Add(time.Microsecond)
	}
	return c
}

// endedAt is when a terminal task ended, the time retention counts from:
// CompletedAt, or UpdatedAt for a terminal row without one.
func endedAt(t Task) time.Time {
	if t.CompletedAt != nil {
		return *t.CompletedAt
	}
	return t.UpdatedAt
}

// Purge implements Store: only tasks in a terminal status that ended before
// cutoff (see endedAt), like the PostgreSQL store.
func (m *Memory) Purge(_ context.Context, cutoff time.Time, batch int) (PurgeResult, error) {
	cutoff = purgeCutoff(cutoff)
	m.mu.Lock()
	defer m.mu.Unlock()
	var r PurgeResult
	var old []*memTask
	for _, mt := range m.tasks {
		if mt.Task.Status.Terminal() && endedAt(mt.Task).Before(cutoff) && mt.Task.CreatedAt.Before(cutoff) {
			old = append(old, mt)
		}
	}
	sort.Slice(old, func(i, j int) bool {
		a, b := old[i].Task, old[j].Task
		if a.CreatedAt.Equal(b.CreatedAt) {
			return a.ID < b.ID
		}
		return a.CreatedAt.Before(b.CreatedAt)
	})
	if batch > 0 && len(old) > batch {
		old = old[:batch]
	}
	for _, mt := range old {
		if m.persister != nil {
			if err := m.persister.deleteTask(mt.Task.ID); err != nil {
				return r, err
			}
		}
		r.Tasks++
		r.Events += int64(len(mt.Events))
		r.Artifacts += int64(len(mt.Artifacts))
		r.Files += int64(len(mt.Files))
		for _, e := range mt.Events {
			delete(m.eventIDs, e.ID)
		}
		for _, a := range mt.Artifacts {
			delete(m.artIDs, a.ID)
		}
		delete(m.tasks, mt.Task.ID)
	}
	cutDay := dbDay(cutoff)
	for k, u := range m.usage {
		if u.Day.Before(cutDay) {
			delete(m.usage, k)
			r.Usage++
		}
	}
	charges := 0
	for id, d := range m.charges {
		if d.Before(cutDay) {
			delete(m.charges, id)
			charges++
		}
	}
	for id, s := range m.sessions {
		if s.ExpiresAt.Before(cutoff) {
			delete(m.sessions, id)
			r.Sessions++
		}
	}
	if r.Usage > 0 || r.Sessions > 0 || charges > 0 {
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
