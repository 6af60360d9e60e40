package auth

import (
	"errors"
	"testing"

	"ai-platform/internal/store"
	"ai-platform/internal/store/pgtest"
)

// TestPostgresRoundTrip: users and refresh sessions survive a restart (a new
// store on the same schema), and rotation, reuse detection and logout work
// against the real SQL.
func TestPostgresRoundTrip(t *testing.T) {
	url := pgtest.Schema(t)
	open := func() store.Store {
		pg, err := store.OpenPostgres(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pg.Close() })
		return pg
	}
	first := newHarness(t, open(), true)
	ctx := t.Context()
	reg, err := first.svc.Register(ctx, "Pat@Example.com", "password-1", cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.svc.BootstrapAdmin(ctx, "root@example.com", "root-password"); err != nil {
		t.Fatal(err)
	}
	r1, err := first.svc.Refresh(ctx, reg.RefreshToken, cl)
	if err != nil {
		t.Fatal(err)
	}

	// "Restart": a new store and service on the same database.
	second := newHarness(t, open(), true)
	u, err := second.store.GetUserByEmail(ctx, "pat@example.com")
	if err != nil || u.ID != reg.User.ID || u.PasswordHash == "" || u.IsAdmin {
		t.Fatalf("user after restart: %+v, %v", u, err)
	}
	if admin, err := second.store.GetUserByEmail(ctx, "root@example.com"); err != nil || !admin.IsAdmin {
		t.Fatalf("bootstrap admin after restart: %+v, %v", admin, err)
	}
	if _, err := second.svc.Login(ctx, "pat@example.com", "password-1", cl); err != nil {
		t.Fatalf("login after restart: %v", err)
	}
	if got, err := second.svc.Authenticate(ctx, r1.AccessToken); err != nil || got.ID != u.ID {
		t.Fatalf("access token after restart: %v", err)
	}
	row, err := second.store.GetRefreshSessionByHash(ctx, second.svc.HashRefreshToken(r1.RefreshToken))
	if err != nil || row.UserAgent != cl.UserAgent || row.IP != cl.IP || row.RotatedAt != nil {
		t.Fatalf("session after restart: %+v, %v", row, err)
	}
	r2, err := second.svc.Refresh(ctx, r1.RefreshToken, cl)
	if err != nil {
		t.Fatalf("refresh after restart: %v", err)
	}
	// Replaying the first (rotated) token after the grace window for
	// concurrent refreshes revokes the whole family.
	second.clock.add(RefreshReuseGrace)
	if _, err := second.svc.Refresh(ctx, reg.RefreshToken, cl); !errors.Is(err, ErrRefreshRevoked) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := second.svc.Refresh(ctx, r2.RefreshToken, cl); !errors.Is(err, ErrRefreshRevoked) {
		t.Fatalf("descendant after reuse: %v", err)
	}
	// Logout of another login revokes it in the database.
	l, _ := second.svc.Login(ctx, "pat@example.com", "password-1", cl)
	if err := second.svc.Logout(ctx, l.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := first.svc.Refresh(ctx, l.RefreshToken, cl); !errors.Is(err, ErrRefreshRevoked) {
		t.Fatalf("after logout, seen by the other process: %v", err)
	}
	if _, err := second.svc.Register(ctx, "PAT@example.com", "password-2", cl); !errors.Is(err, ErrEmailTaken) {
		t.Fatalf("duplicate email in PostgreSQL: %v", err)
	}
}
