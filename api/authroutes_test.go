package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/auth"
)

func TestAuthRoutesDisabledInAPIKeyMode(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"POST", "/auth/register", 403}, {"POST", "/auth/login", 403}, {"POST", "/auth/refresh", 403},
		{"POST", "/auth/logout", 403}, {"GET", "/auth/me", 401},
	} {
		w := f.do(tc.method, tc.path, "", map[string]any{"email": "a@example.com", "password": "password-1"})
		if w.Code != tc.code || detail(t, w) != "Auth mode disabled" {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, w.Code, w.Body)
		}
	}
}

func TestRegisterLoginMe(t *testing.T) {
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "auth"})
	tr, ck := f.signup("  Alice@Example.COM ")
	if tr.TokenType != "bearer" || tr.ExpiresIn != 15*60 || tr.User.Email != "alice@example.com" || tr.User.ID == "" || tr.AccessToken == "" {
		t.Fatalf("token response %+v", tr)
	}
	if ck == nil || ck.Value == "" || !ck.HttpOnly || ck.Path != "/auth" || ck.SameSite != http.SameSiteLaxMode ||
		ck.MaxAge != 30*24*3600 || ck.Secure || ck.Domain != "" {
		t.Fatalf("refresh cookie %+v", ck)
	}
	cases := []struct {
		name, path string
		body       any
		code       int
		detail     string
	}{
		{"duplicate email", "/auth/register", map[string]any{"email": "ALICE@example.com", "password": "password-123"}, 409, "Email already registered"},
		{"short password", "/auth/register", map[string]any{"email": "b@example.com", "password": "short"}, 422, "Password must be at least 8 characters"},
		{"73-byte password", "/auth/register", map[string]any{"email": "b@example.com", "password": strings.Repeat("p", 73)}, 422, ""},
		{"bad email", "/auth/register", map[string]any{"email": "not-an-email", "password": "password-123"}, 422, "A valid email address is required"},
		{"missing password", "/auth/register", map[string]any{"email": "b@example.com"}, 422, "email and password are required"},
		{"password not a string", "/auth/login", map[string]any{"email": "b@example.com", "password": 12345678}, 422, ""},
		{"wrong password", "/auth/login", map[string]any{"email": "alice@example.com", "password": "password-999"}, 401, "Invalid credentials"},
		{"unknown email", "/auth/login", map[string]any{"email": "zed@example.com", "password": "password-123"}, 401, "Invalid credentials"},
		{"right password", "/auth/login", map[string]any{"email": "ALICE@example.com", "password": "password-123"}, 200, ""},
	}
	for _, tc := range cases {
		w := f.do("POST", tc.path, "", tc.body)
		if w.Code != tc.code || (tc.detail != "" && detail(t, w) != tc.detail) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, w.Code, w.Body, tc.code, tc.detail)
		}
		if tc.name == "73-byte password" && !strings.Contains(w.Body.String(), "72 bytes") {
			t.Errorf("73-byte password: message does not explain the limit: %s", w.Body)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: token responses must not be cached", tc.name)
		}
	}
	me := f.do("GET", "/auth/me", "", nil, bearer(tr.AccessToken)...)
	var body struct {
		User map[string]any `json:"user"`
	}
	decodeJSON(t, me.Body.Bytes(), &body)
	if me.Code != 200 || body.User["id"] != tr.User.ID || body.User["email"] != "alice@example.com" || len(body.User) != 2 {
		t.Fatalf("/auth/me: %d %s", me.Code, me.Body)
	}
	if w := f.do("GET", "/auth/me", "", nil); w.Code != 401 || detail(t, w) != "Missing access token" {
		t.Errorf("/auth/me without a token: %d %s", w.Code, w.Body)
	}

	closed := newAuthFixture(t, map[string]string{"AUTH_MODE": "hybrid", "PUBLIC_REGISTRATION_ENABLED": "false"})
	w := closed.do("POST", "/auth/register", "", map[string]any{"email": "c@example.com", "password": "password-123"})
	if w.Code != 403 || detail(t, w) != "Registration is disabled" {
		t.Errorf("closed registration: %d %s", w.Code, w.Body)
	}
}

// refresh posts /auth/refresh with the cookie (nil sends none).
func (f *authFixture) refresh(ck *http.Cookie, headers ...string) (int, string, *http.Cookie) {
	f.t.Helper()
	if ck != nil {
		headers = append(headers, "Cookie", ck.Name+"="+ck.Value)
	}
	w := f.do("POST", "/auth/refresh", "", nil, headers...)
	d, _ := detail(f.t, w).(string)
	return w.Code, d, refreshCookieOf(w, f.cfg.RefreshCookieName)
}

func TestRefreshRotationReuseLogoutExpiryOverHTTP(t *testing.T) {
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "auth"})
	_, c0 := f.signup("dave@example.com")

	code, _, c1 := f.refresh(c0)
	if code != 200 || c1 == nil || c1.Value == c0.Value || c1.MaxAge != 30*24*3600 {
		t.Fatalf("first refresh: %d %+v", code, c1)
	}
	f.clock.add(29 * 24 * time.Hour)
	code, _, c2 := f.refresh(c1) // the expiry was reset by the rotation
	if code != 200 {
		t.Fatalf("refresh 29 days after the rotation: %d", code)
	}
	// Replaying c1 after the grace window for concurrent refreshes revokes
	// the family: c2 dies with it.
	f.clock.add(auth.RefreshReuseGrace)
	if code, d, cleared := f.refresh(c1); code != 401 || d != "Refresh token revoked" || cleared == nil || cleared.MaxAge >= 0 {
		t.Fatalf("reuse: %d %q %+v", code, d, cleared)
	}
	if code, d, _ := f.refresh(c2); code != 401 || d != "Refresh token revoked" {
		t.Fatalf("descendant after reuse: %d %q", code, d)
	}

	_, a0 := f.signup("erin@example.com")
	if code, d, _ := f.refresh(nil); code != 401 || d != "Missing refresh token" {
		t.Errorf("no cookie: %d %q", code, d)
	}
	if code, d, _ := f.refresh(&http.Cookie{Name: "refresh_token", Value: "forged"}); code != 401 || d != "Invalid refresh token" {
		t.Errorf("forged cookie: %d %q", code, d)
	}
	w := f.do("POST", "/auth/logout", "", nil, "Cookie", a0.Name+"="+a0.Value)
	cleared := refreshCookieOf(w, "refresh_token")
	if w.Code != 200 || detail(t, w) != "Logged out" || cleared == nil || cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Fatalf("logout: %d %s %+v", w.Code, w.Body, cleared)
	}
	if code, d, _ := f.refresh(a0); code != 401 || d != "Refresh token revoked" {
		t.Errorf("after logout: %d %q", code, d)
	}
	if w := f.do("POST", "/auth/logout", "", nil); w.Code != 200 {
		t.Errorf("logout without a cookie: %d", w.Code)
	}

	_, b0 := f.signup("frank@example.com")
	f.clock.add(30*24*time.Hour + time.Second)
	if code, d, _ := f.refresh(b0); code != 401 || d != "Refresh token expired" {
		t.Errorf("expired: %d %q", code, d)
	}
}

func TestRefreshCookieAttributes(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		headers []string
		secure  bool
		site    http.SameSite
	}{
		{"plain http", nil, nil, false, http.SameSiteLaxMode},
		{"behind a TLS proxy", nil, []string{"X-Forwarded-Proto", "https"}, true, http.SameSiteLaxMode},
		{"SameSite=None forces Secure", map[string]string{"AUTH_REFRESH_COOKIE_SAMESITE": "none"}, nil, true, http.SameSiteNoneMode},
		{"strict", map[string]string{"AUTH_REFRESH_COOKIE_SAMESITE": "strict"}, nil, false, http.SameSiteStrictMode},
		{"custom name, path, domain", map[string]string{"AUTH_REFRESH_COOKIE_NAME": "rt", "AUTH_REFRESH_COOKIE_PATH": "/auth/refresh",
			"AUTH_REFRESH_COOKIE_DOMAIN": "example.com", "AUTH_REFRESH_TOKEN_TTL_DAYS": "7"}, nil, false, http.SameSiteLaxMode},
	}
	for _, tc := range cases {
		env := map[string]string{"AUTH_MODE": "hybrid"}
		for k, v := range tc.env {
			env[k] = v
		}
		f := newAuthFixture(t, env)
		w := f.do("POST", "/auth/register", "", map[string]any{"email": "u@example.com", "password": "password-123"}, tc.headers...)
		ck := refreshCookieOf(w, f.cfg.RefreshCookieName)
		if w.Code != 200 || ck == nil {
			t.Fatalf("%s: %d %s", tc.name, w.Code, w.Body)
		}
		if ck.Secure != tc.secure || ck.SameSite != tc.site || !ck.HttpOnly || ck.Path != f.cfg.RefreshCookiePath ||
			ck.Domain != f.cfg.RefreshCookieDomain || ck.MaxAge != int(f.cfg.RefreshTokenTTL.Seconds()) {
			t.Errorf("%s: cookie %+v", tc.name, ck)
		}
		code, _, next := f.refresh(ck, tc.headers...)
		if code != 200 || next == nil || next.Secure != tc.secure || next.MaxAge != ck.MaxAge {
			t.Errorf("%s: rotated cookie %d %+v", tc.name, code, next)
		}
	}
}
