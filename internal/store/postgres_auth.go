package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

const userColumns = `id, email, password_hash, is_admin, created_at, updated_at`

func scanUser(row pgx.Row) (User, error) {
	var u User
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.IsAdmin, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return User{}, err
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, nil
}

// CreateUser implements Store.
func (p *Postgres) CreateUser(ctx context.Context, u User) (User, error) {
	if err := checkNewID("user", u.ID); err != nil {
		return User{}, fmt.Errorf("postgres: create user: %w", err)
	}
	// Normalised here rather than with SQL lower(), whose result depends on
	// the database's locale; the memory store must agree byte for byte.
	u.Email = normalizeEmail(u.Email)
	now := p.now()
	created, err := scanUser(p.pool.QueryRow(ctx, `INSERT INTO auth_users (`+userColumns+`)
		VALUES ($1, $2, $3, $4, $5, $5) RETURNING `+userColumns, u.ID, u.Email, u.PasswordHash, u.IsAdmin, now))
	if err != nil {
		return User{}, fail("create user "+u.ID, err)
	}
	return created, nil
}

// GetUserByEmail implements Store.
func (p *Postgres) GetUserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(p.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM auth_users WHERE email = $1`, normalizeEmail(email)))
	if err != nil {
		return User{}, fail("get user by email", err)
	}
	return u, nil
}

// GetUserByID implements Store.
func (p *Postgres) GetUserByID(ctx context.Context, id string) (User, error) {
	if !validID(id) {
		return User{}, fmt.Errorf("postgres: get user %q: %w", id, ErrNotFound)
	}
	u, err := scanUser(p.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM auth_users WHERE id = $1`, id))
	if err != nil {
		return User{}, fail("get user "+id, err)
	}
	return u, nil
}

const sessionColumns = `id, family_id, user_id, token_hash, created_at, expires_at, revoked_at, rotated_at,
	last_used_at, user_agent, ip_address`

func scanSession(row pgx.Row) (RefreshSession, error) {
	var s RefreshSession
	err := row.Scan(&s.ID, &s.FamilyID, &s.UserID, &s.TokenHash, &s.CreatedAt, &s.ExpiresAt, &s.RevokedAt,
		&s.RotatedAt, &s.LastUsedAt, &s.UserAgent, &s.IP)
	if err != nil {
		return RefreshSession{}, err
	}
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	s.RevokedAt, s.RotatedAt, s.LastUsedAt = utcPtr(s.RevokedAt), utcPtr(s.RotatedAt), utcPtr(s.LastUsedAt)
	return s, nil
}

// insertSession inserts s, already checked and normalised; a duplicate id or
// token hash is ErrConflict, an unknown user ErrNotFound.
func insertSession(ctx context.Context, q querier, s RefreshSession) error {
	if !validID(s.UserID) {
		return fmt.Errorf("user %q: %w", s.UserID, ErrNotFound)
	}
	_, err := q.Exec(ctx, `INSERT INTO auth_refresh_sessions (`+sessionColumns+`, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $5)`,
		s.ID, s.FamilyID, s.UserID, s.TokenHash, s.CreatedAt, s.ExpiresAt, s.RevokedAt, s.RotatedAt,
		s.LastUsedAt, s.UserAgent, s.IP)
	return err
}

// CreateRefreshSession implements Store.
func (p *Postgres) CreateRefreshSession(ctx context.Context, s RefreshSession) error {
	if err := checkSessionIDs(s); err != nil {
		return fmt.Errorf("postgres: create refresh session: %w", err)
	}
	if err := insertSession(ctx, p.pool, normalizeSession(s, p.now())); err != nil {
		return fail("create refresh session "+s.ID, err)
	}
	return nil
}

// GetRefreshSessionByHash implements Store.
func (p *Postgres) GetRefreshSessionByHash(ctx context.Context, tokenHash string) (RefreshSession, error) {
	s, err := scanSession(p.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM auth_refresh_sessions WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return RefreshSession{}, fail("get refresh session by hash", err)
	}
	return s, nil
}

// RotateRefreshSession implements Store. The conditional UPDATE is the
// whole concurrency story: of two requests presenting the same token, only
// one finds it neither rotated nor revoked.
func (p *Postgres) RotateRefreshSession(ctx context.Context, oldID string, next RefreshSession, now time.Time) error {
	op := "rotate refresh session " + oldID
	if err := checkSessionIDs(next); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if !validID(oldID) {
		return fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	next = normalizeSession(next, p.now())
	now = dbTime(now)
	err := p.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE auth_refresh_sessions SET rotated_at = $2, last_used_at = $2, updated_at = $2
			WHERE id = $1 AND rotated_at IS NULL AND revoked_at IS NULL`, oldID, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM auth_refresh_sessions WHERE id = $1)`, oldID).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return fmt.Errorf("already rotated or revoked: %w", ErrConflict)
			}
			return ErrNotFound
		}
		return insertSession(ctx, tx, next)
	})
	if err != nil {
		return fail(op, err)
	}
	return nil
}

// RevokeRefreshFamily implements Store.
func (p *Postgres) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) (int64, error) {
	if !validID(familyID) {
		return 0, nil
	}
	tag, err := p.pool.Exec(ctx, `UPDATE auth_refresh_sessions SET revoked_at = $2, updated_at = $2
		WHERE family_id = $1 AND revoked_at IS NULL`, familyID, dbTime(now))
	if err != nil {
		return 0, fail("revoke refresh family "+familyID, err)
	}
	return tag.RowsAffected(), nil
}
