package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ai-platform/internal/auth"
)

const jwtSecret = "jwt-secret-jwt-secret-jwt-secret-0123"

// testClock drives the account service's clock (token and session times).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type authFixture struct {
	*fixture
	accounts *auth.Service
	clock    *testClock
}

// newAuthFixture is newFixture with an account service, as the app wires it.
func newAuthFixture(t *testing.T, env map[string]string) *authFixture {
	t.Helper()
	full := map[string]string{"AUTH_JWT_SECRET": jwtSecret}
	for k, v := range env {
		full[k] = v
	}
	f := newFixture(t, full)
	clock := &testClock{t: time.Now().UTC()}
	acc, err := auth.New(auth.Settings{Store: f.store, Tokens: auth.TokenSettings{Secret: f.cfg.JWTSecret,
		Issuer: f.cfg.JWTIssuer, Audience: f.cfg.JWTAudience, TTL: f.cfg.AccessTokenTTL},
		RefreshSecret: f.cfg.RefreshTokenSecret, RefreshTTL: f.cfg.RefreshTokenTTL, Registration: f.cfg.PublicRegistration,
		PasswordCost: bcrypt.MinCost, Logger: f.srv.Logger, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	d := f.srv.Deps
	d.Accounts, d.Auth = acc, nil
	f.srv = New(d)
	return &authFixture{fixture: f, accounts: acc, clock: clock}
}

// tokenResponse is the body of register, login and refresh.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	User        struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
}

// signup registers email and returns the response and the refresh cookie.
func (f *authFixture) signup(email string) (tokenResponse, *http.Cookie) {
	f.t.Helper()
	w := f.do("POST", "/auth/register", "", map[string]any{"email": email, "password": "password-123"})
	if w.Code != 200 {
		f.t.Fatalf("register %s: %d %s", email, w.Code, w.Body)
	}
	return decodeToken(f.t, w), refreshCookieOf(w, f.cfg.RefreshCookieName)
}

func decodeToken(t *testing.T, w *httptest.ResponseRecorder) tokenResponse {
	t.Helper()
	var tr tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil {
		t.Fatalf("token response %s: %v", w.Body, err)
	}
	return tr
}

func refreshCookieOf(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// createAs creates a task with the given headers and returns its id.
func (f *fixture) createAs(headers ...string) string {
	f.t.Helper()
	w := f.do("POST", "/api/tasks", "", map[string]any{"description": "a task"}, headers...)
	if w.Code != 200 {
		f.t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return out["task_id"].(string)
}

func decodeJSON(t *testing.T, raw []byte, out any) {
	t.Helper()
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
}
