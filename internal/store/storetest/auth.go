package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"ai-platform/internal/store"
)

func mustUser(t *testing.T, s store.Store, email string) store.User {
	t.Helper()
	u, err := s.CreateUser(ctx(t), store.User{ID: newID(), Email: email, PasswordHash: "$2a$10$hash"})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func session(userID, familyID, hash string, expires time.Time) store.RefreshSession {
	return store.RefreshSession{ID: newID(), FamilyID: familyID, UserID: userID, TokenHash: hash,
		ExpiresAt: expires, UserAgent: "test-agent/1.0", IP: "198.51.100.7"}
}

func testUsers(t *testing.T, s store.Store) {
	in := store.User{ID: newID(), Email: "  Alice@Example.COM\t", PasswordHash: "$2a$10$abc", IsAdmin: true}
	u, err := s.CreateUser(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "alice@example.com" || u.ID != in.ID || u.PasswordHash != in.PasswordHash || !u.IsAdmin ||
		time.Since(u.CreatedAt) > time.Minute || !u.UpdatedAt.Equal(u.CreatedAt) || u.CreatedAt.Location() != time.UTC {
		t.Errorf("CreateUser = %+v", u)
	}
	for _, email := range []string{"alice@example.com", " ALICE@example.com "} {
		got, err := s.GetUserByEmail(ctx(t), email)
		if err != nil || got != u {
			t.Errorf("GetUserByEmail(%q) = %+v, %v; want %+v", email, got, err, u)
		}
	}
	if got, err := s.GetUserByID(ctx(t), u.ID); err != nil || got != u {
		t.Errorf("GetUserByID = %+v, %v", got, err)
	}
	plain := mustUser(t, s, "bob@example.com")
	if plain.IsAdmin {
		t.Error("IsAdmin defaulted to true")
	}

	_, err = s.CreateUser(ctx(t), store.User{ID: newID(), Email: "ALICE@EXAMPLE.COM", PasswordHash: "x"})
	wantErr(t, err, store.ErrConflict, "duplicate email in another case")
	_, err = s.CreateUser(ctx(t), store.User{ID: u.ID, Email: "carol@example.com", PasswordHash: "x"})
	wantErr(t, err, store.ErrConflict, "duplicate id")
	_, err = s.GetUserByEmail(ctx(t), "carol@example.com")
	wantErr(t, err, store.ErrNotFound, "unknown email")
	_, err = s.GetUserByID(ctx(t), newID())
	wantErr(t, err, store.ErrNotFound, "unknown id")
	for _, id := range malformed {
		_, err = s.GetUserByID(ctx(t), id)
		wantErr(t, err, store.ErrNotFound, "GetUserByID("+id+")")
		if _, err := s.CreateUser(ctx(t), store.User{ID: id, Email: id + "@example.com"}); err == nil {
			t.Errorf("CreateUser with id %q succeeded", id)
		}
	}
}

func testRefreshSessions(t *testing.T, s store.Store) {
	u := mustUser(t, s, "dave@example.com")
	exp := t0.Add(30 * 24 * time.Hour)
	fam, fam2 := newID(), newID()
	s1 := session(u.ID, fam, "h1", exp)
	s1.CreatedAt = t0
	if err := s.CreateRefreshSession(ctx(t), s1); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRefreshSessionByHash(ctx(t), "h1")
	if err != nil {
		t.Fatal(err)
	}
	want := s1
	want.CreatedAt, want.ExpiresAt = t0.Truncate(time.Microsecond), exp.Truncate(time.Microsecond)
	if got.ID != want.ID || got.FamilyID != fam || got.UserID != u.ID || got.TokenHash != "h1" || got.UserAgent != want.UserAgent ||
		got.IP != want.IP || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		got.RevokedAt != nil || got.RotatedAt != nil || got.LastUsedAt != nil {
		t.Errorf("session = %+v, want %+v", got, want)
	}
	noTime := session(u.ID, fam2, "h-other", exp)
	if err := s.CreateRefreshSession(ctx(t), noTime); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetRefreshSessionByHash(ctx(t), "h-other"); time.Since(got.CreatedAt) > time.Minute {
		t.Errorf("zero CreatedAt became %v, want now", got.CreatedAt)
	}

	dup := session(u.ID, fam, "h1", exp)
	wantErr(t, s.CreateRefreshSession(ctx(t), dup), store.ErrConflict, "duplicate token hash")
	dup = s1
	dup.TokenHash = "h-new"
	wantErr(t, s.CreateRefreshSession(ctx(t), dup), store.ErrConflict, "duplicate session id")
	wantErr(t, s.CreateRefreshSession(ctx(t), session(newID(), fam, "h-x", exp)), store.ErrNotFound, "unknown user")
	wantErr(t, s.CreateRefreshSession(ctx(t), session("nope", fam, "h-y", exp)), store.ErrNotFound, "malformed user id")
	bad := session(u.ID, fam, "h-z", exp)
	bad.ID = "nope"
	if err := s.CreateRefreshSession(ctx(t), bad); err == nil {
		t.Error("malformed session id accepted")
	}
	_, err = s.GetRefreshSessionByHash(ctx(t), "h-missing")
	wantErr(t, err, store.ErrNotFound, "unknown hash")

	now := t0.Add(time.Hour + 123*time.Nanosecond)
	s2 := session(u.ID, fam, "h2", exp)
	if err := s.RotateRefreshSession(ctx(t), s1.ID, s2, now); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	old, _ := s.GetRefreshSessionByHash(ctx(t), "h1")
	if old.RotatedAt == nil || old.LastUsedAt == nil || !old.RotatedAt.Equal(now.Truncate(time.Microsecond)) ||
		!old.LastUsedAt.Equal(*old.RotatedAt) || old.RevokedAt != nil {
		t.Errorf("rotated session = %+v", old)
	}
	if got, err := s.GetRefreshSessionByHash(ctx(t), "h2"); err != nil || got.ID != s2.ID || got.FamilyID != fam {
		t.Errorf("next session = %+v, %v", got, err)
	}

	wantErr(t, s.RotateRefreshSession(ctx(t), s1.ID, session(u.ID, fam, "h3", exp), now), store.ErrConflict, "rotating twice")
	_, err = s.GetRefreshSessionByHash(ctx(t), "h3")
	wantErr(t, err, store.ErrNotFound, "next session of a refused rotation")
	wantErr(t, s.RotateRefreshSession(ctx(t), newID(), session(u.ID, fam, "h4", exp), now), store.ErrNotFound, "rotating an unknown session")
	for _, id := range malformed {
		wantErr(t, s.RotateRefreshSession(ctx(t), id, session(u.ID, fam, "h5", exp), now), store.ErrNotFound, "rotating "+id)
	}
	// A rotation whose next session cannot be inserted leaves the old one live.
	wantErr(t, s.RotateRefreshSession(ctx(t), s2.ID, session(u.ID, fam, "h1", exp), now), store.ErrConflict, "rotation onto a used hash")
	if got, _ := s.GetRefreshSessionByHash(ctx(t), "h2"); got.RotatedAt != nil {
		t.Error("failed rotation marked the old session rotated")
	}

	n, err := s.RevokeRefreshFamily(ctx(t), fam, now)
	if err != nil || n != 2 {
		t.Errorf("RevokeRefreshFamily = %d, %v; want 2 (the rotated and the live token)", n, err)
	}
	for _, h := range []string{"h1", "h2"} {
		if got, _ := s.GetRefreshSessionByHash(ctx(t), h); got.RevokedAt == nil || !got.RevokedAt.Equal(now.Truncate(time.Microsecond)) {
			t.Errorf("%s not revoked: %+v", h, got)
		}
	}
	if got, _ := s.GetRefreshSessionByHash(ctx(t), "h-other"); got.RevokedAt != nil {
		t.Error("another family was revoked")
	}
	if n, err := s.RevokeRefreshFamily(ctx(t), fam, now); err != nil || n != 0 {
		t.Errorf("second revoke = %d, %v; want 0", n, err)
	}
	wantErr(t, s.RotateRefreshSession(ctx(t), s2.ID, session(u.ID, fam, "h6", exp), now), store.ErrConflict, "rotating a revoked session")
	for _, id := range []string{newID(), "nope"} {
		if n, err := s.RevokeRefreshFamily(ctx(t), id, now); err != nil || n != 0 {
			t.Errorf("revoking family %q = %d, %v", id, n, err)
		}
	}
}

func testRefreshRotateConcurrent(t *testing.T, s store.Store) {
	u := mustUser(t, s, "eve@example.com")
	fam := newID()
	first := session(u.ID, fam, "start", t0.Add(time.Hour))
	if err := s.CreateRefreshSession(ctx(t), first); err != nil {
		t.Fatal(err)
	}
	const n = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range n {
		wg.Go(func() {
			err := s.RotateRefreshSession(ctx(t), first.ID, session(u.ID, fam, "next-"+string(rune('a'+i)), t0.Add(time.Hour)), t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrConflict):
				lost++
			default:
				t.Errorf("rotate: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != n-1 {
		t.Errorf("%d rotations of one token won, %d lost; want exactly 1 winner", won, lost)
	}
}
