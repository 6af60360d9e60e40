package auth

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ai-platform/internal/store"
)

// ctxMarkKey marks a request's context in TestLogLinesUseTheRequestContext.
type ctxMarkKey struct{}

// ctxRecorder is a slog handler that records, per message, the marker of
// the context the line was logged with ("" for none).
type ctxRecorder struct {
	mu   *sync.Mutex
	seen map[string]string
}

func (r ctxRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r ctxRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r ctxRecorder) WithGroup(string) slog.Handler            { return r }
func (r ctxRecorder) Handle(ctx context.Context, rec slog.Record) error {
	mark, _ := ctx.Value(ctxMarkKey{}).(string)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[rec.Message] = mark
	return nil
}

// TestLogLinesUseTheRequestContext: the lines the service writes while
// serving a request are logged with that request's context, so the app's
// logger can add the request_id the API put there (the registration, the
// logout and the refresh-token reuse security event).
func TestLogLinesUseTheRequestContext(t *testing.T) {
	st, err := store.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var clockMu sync.Mutex
	rec := ctxRecorder{mu: &sync.Mutex{}, seen: map[string]string{}}
	svc, err := New(Settings{Store: st, Tokens: TokenSettings{Secret: "ctx-test-secret-ctx-test-secret-xx", TTL: time.Minute},
		RefreshSecret: "ctx-refresh-secret-ctx-refresh-xx", RefreshTTL: 30 * 24 * time.Hour, Registration: true,
		PasswordCost: bcrypt.MinCost, Logger: slog.New(rec),
		Now: func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }})
	if err != nil {
		t.Fatal(err)
	}
	req := func(id string) context.Context { return context.WithValue(t.Context(), ctxMarkKey{}, id) }
	c := Client{UserAgent: "ctx-test", IP: "192.0.2.1"}

	sess, err := svc.Register(req("register"), "ctx@example.com", "password-1", c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(req("refresh"), sess.RefreshToken, c); err != nil {
		t.Fatal(err)
	}
	// Long after its rotation, the first token is presented again: reuse.
	clockMu.Lock()
	now = now.Add(time.Hour)
	clockMu.Unlock()
	if _, err := svc.Refresh(req("reuse"), sess.RefreshToken, c); err == nil {
		t.Fatal("a rotated token was accepted an hour later")
	}
	second, err := svc.Login(req("login"), "ctx@example.com", "password-1", c)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Logout(req("logout"), second.RefreshToken); err != nil {
		t.Fatal(err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for msg, want := range map[string]string{
		"user registered": "register",
		"security: refresh token reuse detected; session family revoked": "reuse",
		"user logged out": "logout",
	} {
		got, logged := rec.seen[msg]
		if !logged {
			t.Errorf("%q was not logged (lines: %v)", msg, rec.seen)
		} else if got != want {
			t.Errorf("%q was logged with the context of %q, want %q", msg, got, want)
		}
	}
}
