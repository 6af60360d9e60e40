package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// normalizeEmail is the one spelling of an address both stores keep.
func normalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// CreateUser implements Store.
func (m *Memory) CreateUser(_ context.Context, u User) (User, error) {
	if err := checkNewID("user", u.ID); err != nil {
		return User{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u.Email = normalizeEmail(u.Email)
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
	email = normalizeEmail(email)
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

// checkSessionIDs rejects a new session whose own ids are malformed.
func checkSessionIDs(s RefreshSession) error {
	if err := checkNewID("refresh session", s.ID); err != nil {
		return err
	}
	return checkNewID("refresh session family", s.FamilyID)
}

// normalizeSession fills CreatedAt and brings times to what PostgreSQL keeps.
func normalizeSession(s RefreshSession, now time.Time) RefreshSession {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	s.CreatedAt, s.ExpiresAt = dbTime(s.CreatedAt), dbTime(s.ExpiresAt)
	s.RevokedAt, s.RotatedAt, s.LastUsedAt = dbTimePtr(s.RevokedAt), dbTimePtr(s.RotatedAt), dbTimePtr(s.LastUsedAt)
	return s
}

// sessionInsertable checks what the unique and foreign keys check in SQL;
// callers hold m.mu.
func (m *Memory) sessionInsertable(s RefreshSession) error {
	if _, ok := m.sessions[s.ID]; ok {
		return ErrConflict
	}
	for _, e := range m.sessions {
		if e.TokenHash == s.TokenHash {
			return ErrConflict
		}
	}
	if _, ok := m.users[s.UserID]; !ok {
		return fmt.Errorf("refresh session for user %s: %w", s.UserID, ErrNotFound)
	}
	return nil
}

// CreateRefreshSession implements Store.
func (m *Memory) CreateRefreshSession(_ context.Context, s RefreshSession) error {
	if err := checkSessionIDs(s); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.sessionInsertable(s); err != nil {
		return err
	}
	m.sessions[s.ID] = normalizeSession(s, m.now())
	if err := m.saveGlobal(); err != nil {
		delete(m.sessions, s.ID)
		return err
	}
	return nil
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
	if err := checkSessionIDs(next); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.sessions[oldID]
	if !ok {
		return ErrNotFound
	}
	if old.RotatedAt != nil || old.RevokedAt != nil {
		return ErrConflict
	}
	if err := m.sessionInsertable(next); err != nil {
		return err
	}
	now = dbTime(now)
	rotated := old
	rotated.RotatedAt, rotated.LastUsedAt = &now, &now
	m.sessions[oldID] = rotated
	m.sessions[next.ID] = normalizeSession(next, m.now())
	if err := m.saveGlobal(); err != nil {
		m.sessions[oldID] = old
		delete(m.sessions, next.ID)
		return err
	}
	return nil
}

// RevokeRefreshFamily implements Store.
func (m *Memory) RevokeRefreshFamily(_ context.Context, familyID string, now time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now = dbTime(now)
	prev := map[string]RefreshSession{}
	for id, s := range m.sessions {
		if s.FamilyID == familyID && s.RevokedAt == nil {
			prev[id] = s
			s.RevokedAt = &now
			m.sessions[id] = s
		}
	}
	if len(prev) == 0 {
		return 0, nil
	}
	if err := m.saveGlobal(); err != nil {
		for id, s := range prev {
			m.sessions[id] = s
		}
		return 0, err
	}
	return int64(len(prev)), nil
}
