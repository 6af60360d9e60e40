package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ai-platform/internal/store"
	"ai-platform/internal/testutil/logbuf"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	svc   *Service
	store store.Store
	clock *clock
	logs  *logbuf.Buffer
}

func newHarness(t *testing.T, st store.Store, registration bool) *harness {
	t.Helper()
	if st == nil {
		m, err := store.NewMemory(nil)
		if err != nil {
			t.Fatal(err)
		}
		st = m
	}
	h := &harness{store: st, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, logs: &logbuf.Buffer{}}
	svc, err := New(Settings{Store: st, Tokens: TokenSettings{Secret: testSecret, TTL: 15 * time.Minute},
		RefreshSecret: "refresh-secret-refresh-secret-xx", RefreshTTL: 30 * 24 * time.Hour, Registration: registration,
		PasswordCost: bcrypt.MinCost, Logger: slog.New(slog.NewJSONHandler(h.logs, nil)), Now: h.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	return h
}

var cl = Client{UserAgent: "test-agent/1.0", IP: "198.51.100.9"}

func TestRegisterAndLogin(t *testing.T) {
	h := newHarness(t, nil, true)
	ctx := t.Context()
	s, err := h.svc.Register(ctx, " Alice@Example.com ", "password-1", cl)
	if err != nil {
		t.Fatal(err)
	}
	if s.User.Email != "alice@example.com" || s.User.IsAdmin || s.AccessToken == "" || len(s.RefreshToken) < 43 ||
		s.AccessTTL != 15*time.Minute || !s.RefreshExpires.Equal(h.clock.now().Add(30*24*time.Hour)) {
		t.Fatalf("session %+v", s)
	}
	if u, err := h.svc.Authenticate(ctx, s.AccessToken); err != nil || u.ID != s.User.ID {
		t.Fatalf("Authenticate = %+v, %v", u, err)
	}
	// The refresh token is stored only as its HMAC, with the client's details.
	row, err := h.store.GetRefreshSessionByHash(ctx, h.svc.HashRefreshToken(s.RefreshToken))
	if err != nil || row.UserID != s.User.ID || row.UserAgent != cl.UserAgent || row.IP != cl.IP || row.TokenHash == s.RefreshToken {
		t.Fatalf("session row %+v, %v", row, err)
	}
	if _, err := h.store.GetRefreshSessionByHash(ctx, s.RefreshToken); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the raw refresh token is stored")
	}

	errCases := []struct {
		name      string
		email, pw string
		register  bool
		want      error
		wantInput string
	}{
		{"duplicate email in another case", "ALICE@example.com", "password-2", true, ErrEmailTaken, ""},
		{"invalid email", "alice", "password-2", true, nil, "email"},
		{"short password", "bob@example.com", "short", true, nil, "password"},
		{"73-byte password", "bob@example.com", strings.Repeat("p", 73), true, nil, "password"},
		{"wrong password", "alice@example.com", "password-2", false, ErrInvalidCredentials, ""},
		{"unknown email", "nobody@example.com", "password-1", false, ErrInvalidCredentials, ""},
		{"malformed email", "nobody", "password-1", false, ErrInvalidCredentials, ""},
		{"73-byte login", "alice@example.com", "password-1" + strings.Repeat("p", 63), false, ErrInvalidCredentials, ""},
	}
	for _, tc := range errCases {
		var err error
		if tc.register {
			_, err = h.svc.Register(ctx, tc.email, tc.pw, cl)
		} else {
			_, err = h.svc.Login(ctx, tc.email, tc.pw, cl)
		}
		var ie *InputError
		switch {
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		case tc.wantInput != "" && (!errors.As(err, &ie) || ie.Field != tc.wantInput):
			t.Errorf("%s: %v, want an InputError on %s", tc.name, err, tc.wantInput)
		}
	}
	l, err := h.svc.Login(ctx, "ALICE@example.com", "password-1", cl)
	if err != nil || l.User.ID != s.User.ID {
		t.Fatalf("login = %+v, %v", l, err)
	}
	// Each login starts its own family.
	r1, _ := h.store.GetRefreshSessionByHash(ctx, h.svc.HashRefreshToken(s.RefreshToken))
	r2, _ := h.store.GetRefreshSessionByHash(ctx, h.svc.HashRefreshToken(l.RefreshToken))
	if r1.FamilyID == r2.FamilyID {
		t.Error("two logins share a session family")
	}

	closed := newHarness(t, nil, false)
	if _, err := closed.svc.Register(ctx, "carol@example.com", "password-1", cl); !errors.Is(err, ErrRegistrationDisabled) {
		t.Errorf("registration while disabled: %v", err)
	}
}

func TestRefreshRotationReuseLogoutExpiry(t *testing.T) {
	h := newHarness(t, nil, true)
	ctx := t.Context()
	s0, err := h.svc.Register(ctx, "dave@example.com", "password-1", cl)
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.svc.Login(ctx, "dave@example.com", "password-1", cl)
	if err != nil {
		t.Fatal(err)
	}

	// Rotation: each refresh returns a new token and resets the expiry.
	h.clock.add(20 * 24 * time.Hour)
	s1, err := h.svc.Refresh(ctx, s0.RefreshToken, Client{UserAgent: "agent-2", IP: "203.0.113.5"})
	if err != nil {
		t.Fatal(err)
	}
	if s1.RefreshToken == s0.RefreshToken || s1.AccessToken == "" || !s1.RefreshExpires.Equal(h.clock.now().Add(30*24*time.Hour)) {
		t.Fatalf("rotated session %+v", s1)
	}
	row, _ := h.store.GetRefreshSessionByHash(ctx, h.svc.HashRefreshToken(s1.RefreshToken))
	if row.UserAgent != "agent-2" || row.IP != "203.0.113.5" {
		t.Errorf("rotated row does not record the client: %+v", row)
	}
	h.clock.add(20 * 24 * time.Hour) // 40 days after login, 20 after the rotation
	s2, err := h.svc.Refresh(ctx, s1.RefreshToken, cl)
	if err != nil {
		t.Fatalf("refresh inside the reset lifetime: %v", err)
	}

	// Reuse: presenting s1 again, once the grace window for concurrent
	// refreshes is over, revokes the family, including s2.
	h.clock.add(RefreshReuseGrace)
	if _, err := h.svc.Refresh(ctx, s1.RefreshToken, cl); !errors.Is(err, ErrRefreshRevoked) {
		t.Fatalf("reuse: %v, want ErrRefreshRevoked", err)
	}
	if _, err := h.svc.Refresh(ctx, s2.RefreshToken, cl); !errors.Is(err, ErrRefreshRevoked) {
		t.Fatalf("descendant after reuse: %v, want ErrRefreshRevoked", err)
	}
	logs := h.logs.String()
	var event map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["event"] == "refresh_token_reuse" {
			event = m
		}
	}
	if event == nil || event["level"] != "WARN" || event["user_id"] != s0.User.ID || event["family_id"] != row.FamilyID {
		t.Fatalf("no security event for the reuse; logs:\n%s", logs)
	}
	for _, tok := range []string{s0.RefreshToken, s1.RefreshToken, s2.RefreshToken} {
		if strings.Contains(logs, tok) {
			t.Fatal("a refresh token was logged")
		}
	}
	// The other login's family is untouched by the reuse...
	// (it is simply expired: 40 days old, never rotated).
	if _, err := h.svc.Refresh(ctx, other.RefreshToken, cl); !errors.Is(err, ErrRefreshExpired) {
		t.Fatalf("old token: %v, want ErrRefreshExpired", err)
	}
	// ...and logout revokes a whole family, nothing else.
	a, _ := h.svc.Login(ctx, "dave@example.com", "password-1", cl)
	b, _ := h.svc.Login(ctx, "dave@example.com", "password-1", cl)
	a1, err := h.svc.Refresh(ctx, a.RefreshToken, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Logout(ctx, a1.RefreshToken); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a.RefreshToken, a1.RefreshToken} {
		if _, err := h.svc.Refresh(ctx, tok, cl); !errors.Is(err, ErrRefreshRevoked) {
			t.Errorf("after logout: %v, want ErrRefreshRevoked", err)
		}
	}
	if _, err := h.svc.Refresh(ctx, b.RefreshToken, cl); err != nil {
		t.Errorf("another login's family was revoked by logout: %v", err)
	}
	for _, tc := range []struct {
		raw  string
		want error
	}{{"", ErrRefreshMissing}, {"not-a-token", ErrRefreshInvalid}, {strings.Repeat("a", 300), ErrRefreshInvalid}} {
		if _, err := h.svc.Refresh(ctx, tc.raw, cl); !errors.Is(err, tc.want) {
			t.Errorf("Refresh(%.10q) = %v, want %v", tc.raw, err, tc.want)
		}
		if err := h.svc.Logout(ctx, tc.raw); err != nil {
			t.Errorf("Logout(%.10q) = %v", tc.raw, err)
		}
	}
}

// TestConcurrentRefreshIsNotReuse: the same token presented several times
// at once (tabs of one browser loading together) rotates exactly once; the
// others get ErrRefreshRotated, nothing is revoked and the winner's token
// keeps working.
func TestConcurrentRefreshIsNotReuse(t *testing.T) {
	h := newHarness(t, nil, true)
	s, err := h.svc.Register(t.Context(), "erin@example.com", "password-1", cl)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	sessions := make([]Session, len(errs))
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sessions[i], errs[i] = h.svc.Refresh(context.Background(), s.RefreshToken, cl)
		}()
	}
	wg.Wait()
	var winner Session
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			winner = sessions[i]
		} else if !errors.Is(err, ErrRefreshRotated) {
			t.Errorf("unexpected error %v, want ErrRefreshRotated", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent refreshes of one token succeeded, want 1", ok)
	}
	if _, err := h.svc.Refresh(t.Context(), winner.RefreshToken, cl); err != nil {
		t.Fatalf("the winner's token after the race: %v", err)
	}
	if strings.Contains(h.logs.String(), `"refresh_token_reuse"`) {
		t.Fatalf("a concurrent refresh was logged as reuse:\n%s", h.logs)
	}
}

// TestRotatedTokenInsideGraceDoesNotRevoke: a token presented again shortly
// after its rotation is refused without touching the family.
func TestRotatedTokenInsideGraceDoesNotRevoke(t *testing.T) {
	h := newHarness(t, nil, true)
	ctx := t.Context()
	s0, err := h.svc.Register(ctx, "fay@example.com", "password-1", cl)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := h.svc.Refresh(ctx, s0.RefreshToken, cl)
	if err != nil {
		t.Fatal(err)
	}
	h.clock.add(RefreshReuseGrace - time.Second)
	if _, err := h.svc.Refresh(ctx, s0.RefreshToken, cl); !errors.Is(err, ErrRefreshRotated) {
		t.Fatalf("rotated token inside the grace window: %v, want ErrRefreshRotated", err)
	}
	if _, err := h.svc.Refresh(ctx, s1.RefreshToken, cl); err != nil {
		t.Fatalf("the current token after a late duplicate: %v", err)
	}
	logs := h.logs.String()
	if strings.Contains(logs, `"refresh_token_reuse"`) || !strings.Contains(logs, `"refresh_token_rotation_race"`) {
		t.Fatalf("want a rotation-race event and no reuse event; logs:\n%s", logs)
	}
	for _, tok := range []string{s0.RefreshToken, s1.RefreshToken} {
		if strings.Contains(logs, tok) {
			t.Fatal("a refresh token was logged")
		}
	}
}

// TestRotatedTokenAfterGraceRevokes: the same replay once the window is
// over is reuse: the family is revoked and the security event logged.
func TestRotatedTokenAfterGraceRevokes(t *testing.T) {
	h := newHarness(t, nil, true)
	ctx := t.Context()
	s0, err := h.svc.Register(ctx, "gus@example.com", "password-1", cl)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := h.svc.Refresh(ctx, s0.RefreshToken, cl)
	if err != nil {
		t.Fatal(err)
	}
	h.clock.add(RefreshReuseGrace)
	if _, err := h.svc.Refresh(ctx, s0.RefreshToken, cl); !errors.Is(err, ErrRefreshRevoked) {
		t.Fatalf("rotated token after the grace window: %v, want ErrRefreshRevoked", err)
	}
	if _, err := h.svc.Refresh(ctx, s1.RefreshToken, cl); !errors.Is(err, ErrRefreshRevoked) {
		t.Fatalf("the family was not revoked: %v", err)
	}
	if !strings.Contains(h.logs.String(), `"refresh_token_reuse"`) {
		t.Fatalf("no security event for the reuse; logs:\n%s", h.logs)
	}
}

// racingStore runs race once, just before the first rotation, as if another
// request had got there between the lookup and the rotation.
type racingStore struct {
	store.Store
	raced atomic.Bool
	race  func()
}

func (r *racingStore) RotateRefreshSession(ctx context.Context, oldID string, next store.RefreshSession, now time.Time) error {
	if r.race != nil && r.raced.CompareAndSwap(false, true) {
		r.race() // the competing request rotates through this store too
	}
	return r.Store.RotateRefreshSession(ctx, oldID, next, now)
}

// TestRotationConflictIsTold: losing the rotation itself (the store's
// conflict) answers like the rotated-token check: ErrRefreshRotated when
// another refresh won, ErrRefreshRevoked when a logout did.
func TestRotationConflictIsTold(t *testing.T) {
	for _, tc := range []struct {
		name string
		race func(h *harness, token string) error
		want error
	}{
		{"refresh", func(h *harness, token string) error {
			_, err := h.svc.Refresh(context.Background(), token, cl)
			return err
		}, ErrRefreshRotated},
		{"logout", func(h *harness, token string) error { return h.svc.Logout(context.Background(), token) }, ErrRefreshRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem, err := store.NewMemory(nil)
			if err != nil {
				t.Fatal(err)
			}
			rs := &racingStore{Store: mem}
			h := newHarness(t, rs, true)
			s0, err := h.svc.Register(t.Context(), "hal@example.com", "password-1", cl)
			if err != nil {
				t.Fatal(err)
			}
			var raceErr error
			rs.race = func() { raceErr = tc.race(h, s0.RefreshToken) }
			if _, err := h.svc.Refresh(t.Context(), s0.RefreshToken, cl); !errors.Is(err, tc.want) {
				t.Fatalf("the loser: %v, want %v", err, tc.want)
			}
			if raceErr != nil {
				t.Fatalf("the winner: %v", raceErr)
			}
			if strings.Contains(h.logs.String(), `"refresh_token_reuse"`) {
				t.Fatalf("logged as reuse:\n%s", h.logs)
			}
		})
	}
}

func TestAuthenticateUnknownUser(t *testing.T) {
	h := newHarness(t, nil, true)
	ghost, err := h.svc.tokens.issue(store.User{ID: "33333333-3333-4333-8333-333333333333", Email: "ghost@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Authenticate(t.Context(), ghost); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of an unknown user: %v", err)
	}
}

func TestBootstrapAdmin(t *testing.T) {
	h := newHarness(t, nil, false)
	ctx := t.Context()
	for i := 0; i < 2; i++ {
		if err := h.svc.BootstrapAdmin(ctx, "Root@Example.com", "admin-password"); err != nil {
			t.Fatalf("bootstrap %d: %v", i, err)
		}
	}
	u, err := h.store.GetUserByEmail(ctx, "root@example.com")
	if err != nil || !u.IsAdmin {
		t.Fatalf("admin %+v, %v", u, err)
	}
	s, err := h.svc.Login(ctx, "root@example.com", "admin-password", cl)
	if err != nil || s.User.ID != u.ID {
		t.Fatalf("admin login: %v", err)
	}
	if err := h.svc.BootstrapAdmin(ctx, "x@example.com", "short"); err == nil {
		t.Error("a short bootstrap password was accepted")
	}
	if err := h.svc.BootstrapAdmin(ctx, "not-an-email", "long-enough-pw"); err == nil {
		t.Error("a malformed bootstrap email was accepted")
	}
}

func TestNewRefusesMissingSecrets(t *testing.T) {
	m, _ := store.NewMemory(nil)
	base := Settings{Store: m, Tokens: TokenSettings{Secret: testSecret, TTL: time.Minute}, RefreshSecret: "r", RefreshTTL: time.Hour}
	cases := []struct {
		name string
		mut  func(*Settings)
	}{
		{"no jwt secret", func(s *Settings) { s.Tokens.Secret = "" }},
		{"no refresh secret", func(s *Settings) { s.RefreshSecret = "" }},
		{"no store", func(s *Settings) { s.Store = nil }},
		{"bad cost", func(s *Settings) { s.PasswordCost = 40 }},
	}
	for _, tc := range cases {
		s := base
		tc.mut(&s)
		if _, err := New(s); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
	if _, err := New(base); err != nil {
		t.Fatal(err)
	}
}
