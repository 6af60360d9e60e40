package app

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ai-platform/internal/config"
)

// TestAuthThrottleSettingsReachTheAPI: the app builds the limiter with the
// login, register and failed-login settings (the lockout over its own
// window, not the one-minute one) and reports the new scopes as metrics.
func TestAuthThrottleSettingsReachTheAPI(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"AUTH_MODE": "auth", "AUTH_JWT_SECRET": "throttle-test-secret-throttle-test-secret",
		"DATA_DIR": dir, "WORKSPACE_ROOT": filepath.Join(dir, "workspaces"), "ENVIRONMENT": "test",
		"TEMPLATES_ROOT":         filepath.Join("..", "..", "templates"),
		"AUTH_MAX_FAILED_LOGINS": "2", "AUTH_FAILED_LOGIN_WINDOW_MINUTES": "7", "RATE_LIMIT_REGISTER_PER_MIN": "1",
		"AUTH_BCRYPT_CONCURRENCY": "2",
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	a, err := Open(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	srv, err := a.APIServer(t.Context(), mockClient())
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		return w
	}
	steps := []struct {
		path, body string
		want       int
		retryAfter int // seconds at most, less the time since the window began; 0 = not checked
	}{
		{"/auth/register", `{"email":"t@example.com","password":"password-123"}`, 200, 0},
		{"/auth/register", `{"email":"u@example.com","password":"password-123"}`, 429, 60},
		{"/auth/login", `{"email":"t@example.com","password":"wrong-password"}`, 401, 0},
		{"/auth/login", `{"email":"t@example.com","password":"wrong-password"}`, 401, 0},
		{"/auth/login", `{"email":"t@example.com","password":"password-123"}`, 429, 7 * 60},
	}
	for i, s := range steps {
		w := post(s.path, s.body)
		retry, _ := strconv.Atoi(w.Header().Get("Retry-After"))
		if w.Code != s.want || (s.retryAfter > 0 && (retry < s.retryAfter-10 || retry > s.retryAfter+1)) {
			t.Fatalf("step %d %s: %d Retry-After %q %s; want %d, Retry-After about %d", i+1, s.path, w.Code,
				w.Header().Get("Retry-After"), w.Body, s.want, s.retryAfter)
		}
	}
	if got := srv.Accounts.BcryptConcurrency(); got != 2 {
		t.Fatalf("bcrypt slots %d, want AUTH_BCRYPT_CONCURRENCY=2", got)
	}
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{`scope="login"} 0`, `scope="register"} 1`, `scope="login_failures"} 1`} {
		if !strings.Contains(w.Body.String(), "aiplatform_rate_limited_total{"+want) {
			t.Errorf("/metrics lacks aiplatform_rate_limited_total{%s", want)
		}
	}
}
