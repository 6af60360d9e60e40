package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAuth implements the auth endpoints with the server's shapes: a
// TokenResponse body and a rotating HttpOnly refresh cookie on /auth.
type fakeAuth struct {
	mu        sync.Mutex
	n         int
	refresh   string // the one valid refresh token
	access    string // the one valid access token
	revoked   bool
	refreshes int
	loggedOut string // refresh token presented to /auth/logout
	expiresIn int
	seenAuth  []string // Authorization headers seen on /api
}

func (f *fakeAuth) issue(w http.ResponseWriter) {
	f.n++
	f.refresh, f.access = fmt.Sprintf("refresh-secret-%d", f.n), fmt.Sprintf("access-secret-%d", f.n)
	http.SetCookie(w, &http.Cookie{Name: "refresh_token", Value: f.refresh, Path: "/auth", HttpOnly: true, MaxAge: 3600})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": f.access, "token_type": "bearer", "expires_in": f.expiresIn,
		"user": map[string]string{"id": "u-1", "email": "me@example.com"}})
}

func deny(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"detail": detail})
}

func (f *fakeAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cookie, _ := r.Cookie("refresh_token")
	switch r.URL.Path {
	case "/auth/login":
		var body struct{ Email, Password string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Email != "me@example.com" || body.Password != "correct horse" {
			deny(w, 401, "Invalid credentials")
			return
		}
		f.issue(w)
	case "/auth/refresh":
		f.refreshes++
		switch {
		case cookie == nil:
			deny(w, 401, "Missing refresh token")
		case f.revoked:
			deny(w, 401, "Refresh token revoked")
		case cookie.Value != f.refresh:
			deny(w, 401, "Invalid refresh token")
		default:
			f.issue(w)
		}
	case "/auth/logout":
		if cookie != nil {
			f.loggedOut = cookie.Value
		}
		http.SetCookie(w, &http.Cookie{Name: "refresh_token", Value: "", Path: "/auth", MaxAge: -1})
		_ = json.NewEncoder(w).Encode(map[string]string{"detail": "Logged out"})
	case "/api/tasks":
		f.seenAuth = append(f.seenAuth, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") != "Bearer "+f.access || f.access == "" {
			deny(w, 401, "Invalid access token")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"tasks": []any{}, "total": 0, "limit": 20, "next_cursor": nil})
	default:
		deny(w, 404, "Not found")
	}
}

func (f *fakeAuth) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func TestLoginRefreshLogout(t *testing.T) {
	fake := &fakeAuth{expiresIn: 900}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	home := t.TempDir()
	env := envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL, "HOME": home})
	credFile := filepath.Join(home, ".config", "aiplatform", "credentials.json")
	secretsIn := func(s string) bool {
		return strings.Contains(s, "correct horse") || strings.Contains(s, "refresh-secret") || strings.Contains(s, "access-secret")
	}

	r := runCLI(t, env, "me@example.com\nwrong password\n", "login")
	if r.code != ExitError || !strings.Contains(r.errOut, "login failed: Invalid credentials") {
		t.Fatalf("bad password: exit %d %q", r.code, r.errOut)
	}
	r = runCLI(t, env, "me@example.com\ncorrect horse\n", "login")
	if r.code != ExitOK || !strings.Contains(r.out, "Logged in to "+srv.URL+" as me@example.com") || secretsIn(r.out+r.errOut) {
		t.Fatalf("login: exit %d %q %q", r.code, r.out, r.errOut)
	}
	assertMode(t, credFile, 0o600)
	assertMode(t, filepath.Dir(credFile), 0o700)
	stored := readCreds(t, credFile)
	if stored.RefreshToken != "refresh-secret-1" || stored.CookieName != "refresh_token" || stored.URL != srv.URL {
		t.Fatalf("stored %+v", stored)
	}

	// The stored access token is used as it is while valid.
	if r = runCLI(t, env, "", "task", "list"); r.code != ExitOK {
		t.Fatalf("list: %d %q", r.code, r.errOut)
	}
	// The server stops accepting it: a 401 renews it with the cookie and retries.
	fake.with(func() { fake.access = "rotated-away" })
	if r = runCLI(t, env, "", "task", "list"); r.code != ExitOK || secretsIn(r.out+r.errOut) {
		t.Fatalf("list after 401: %d %q", r.code, r.errOut)
	}
	if got := readCreds(t, credFile).RefreshToken; got != "refresh-secret-2" {
		t.Fatalf("the rotated refresh token was not saved: %q", got)
	}
	// An expired token is renewed before the request is sent.
	c := readCreds(t, credFile)
	c.AccessExpires = time.Now().Add(-time.Minute)
	if _, err := saveCredentials(env, c); err != nil {
		t.Fatal(err)
	}
	var before int
	fake.with(func() { before = len(fake.seenAuth) })
	if r = runCLI(t, env, "", "task", "list"); r.code != ExitOK {
		t.Fatalf("list with an expired token: %d %q", r.code, r.errOut)
	}
	fake.with(func() {
		if len(fake.seenAuth) != before+1 || fake.seenAuth[before] != "Bearer access-secret-3" {
			t.Errorf("want one request with the renewed token, saw %q", fake.seenAuth[before:])
		}
	})
	assertMode(t, credFile, 0o600)

	// Another server never receives the token.
	other := &fakeAuth{}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	r = runCLI(t, envOf(t, map[string]string{"AIPLATFORM_URL": otherSrv.URL, "HOME": home}), "", "task", "list")
	if r.code != ExitError || !strings.Contains(r.errOut, "Your login is for "+srv.URL) {
		t.Fatalf("other server: %d %q", r.code, r.errOut)
	}
	other.with(func() {
		if len(other.seenAuth) != 1 || other.seenAuth[0] != "" {
			t.Errorf("the other server saw %q", other.seenAuth)
		}
	})

	// A revoked session says to log in again.
	fake.with(func() { fake.revoked, fake.access = true, "" })
	r = runCLI(t, env, "", "task", "list")
	if r.code != ExitError || !strings.Contains(r.errOut, "your login has expired (Refresh token revoked)") ||
		!strings.Contains(r.errOut, "aiplatform login") {
		t.Fatalf("revoked: %d %q", r.code, r.errOut)
	}
	fake.with(func() { fake.revoked = false })

	r = runCLI(t, env, "", "logout")
	if r.code != ExitOK || !strings.Contains(r.out, "Logged out of "+srv.URL) {
		t.Fatalf("logout: %d %q %q", r.code, r.out, r.errOut)
	}
	fake.with(func() {
		if fake.loggedOut != "refresh-secret-3" {
			t.Errorf("logout sent refresh cookie %q", fake.loggedOut)
		}
	})
	if _, err := os.Stat(credFile); !os.IsNotExist(err) {
		t.Fatalf("credentials still there: %v", err)
	}
	if r = runCLI(t, env, "", "logout"); r.code != ExitOK || !strings.Contains(r.out, "Not logged in") {
		t.Fatalf("second logout: %d %q", r.code, r.out)
	}
}

func TestLoginWithoutUserAccounts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deny(w, 403, "Auth mode disabled")
	}))
	defer srv.Close()
	r := runCLI(t, envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL}), "me@example.com\npw\n", "login")
	if r.code != ExitError || !strings.Contains(r.errOut, "forbidden (403): Auth mode disabled") ||
		!strings.Contains(r.errOut, "use AIPLATFORM_API_KEY") {
		t.Fatalf("exit %d %q", r.code, r.errOut)
	}
	r = runCLI(t, envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL}), "", "login")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "login needs an email and a password") {
		t.Fatalf("no input: exit %d %q", r.code, r.errOut)
	}
}

func TestUserConfigDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the cases are the Linux rules")
	}
	env := func(m map[string]string) Env {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	cases := []struct {
		vars map[string]string
		want string
		err  bool
	}{
		{map[string]string{"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/me"}, "/x/cfg", false},
		{map[string]string{"HOME": "/home/me"}, "/home/me/.config", false},
		{map[string]string{"XDG_CONFIG_HOME": "relative"}, "", true},
		{map[string]string{}, "", true},
	}
	for _, c := range cases {
		got, err := userConfigDir(env(c.vars))
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%v: %q %v", c.vars, got, err)
		}
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != want {
		t.Errorf("%s has mode %o, want %o", path, st.Mode().Perm(), want)
	}
}

func readCreds(t *testing.T, path string) *storedCredentials {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c storedCredentials
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}
