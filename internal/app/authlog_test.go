package app

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"ai-platform/internal/config"
	"ai-platform/internal/testutil/logbuf"
)

// TestAuthLogLinesCarryTheRequestID: the account service's lines written
// while serving a request ("user registered", "user logged out") carry the
// request's request_id, next to component=auth, like the API's own lines.
func TestAuthLogLinesCarryTheRequestID(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"AUTH_MODE": "auth", "AUTH_JWT_SECRET": "authlog-test-secret-authlog-test-secret",
		"DATA_DIR": dir, "WORKSPACE_ROOT": filepath.Join(dir, "workspaces"), "ENVIRONMENT": "test",
		"TEMPLATES_ROOT": filepath.Join("..", "..", "templates"),
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	var logs logbuf.Buffer
	a, err := Open(t.Context(), cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	srv, err := a.APIServer(t.Context(), mockClient())
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	do := func(path, requestID string, body string, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-ID", requestID)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
		}
		return w
	}
	reg := do("/auth/register", "req-register-1", `{"email":"log@example.com","password":"password-123"}`, nil)
	var refresh *http.Cookie
	for _, c := range reg.Result().Cookies() {
		if c.Name == cfg.RefreshCookieName {
			refresh = c
		}
	}
	if refresh == nil {
		t.Fatal("register set no refresh cookie")
	}
	do("/auth/logout", "req-logout-2", "", refresh)

	want := map[string]string{"user registered": "req-register-1", "user logged out": "req-logout-2"}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		msg, _ := line["msg"].(string)
		id, ok := want[msg]
		if !ok {
			continue
		}
		if line["request_id"] != id || line["component"] != "auth" {
			t.Errorf("%q: request_id %v, component %v; want %s, auth\n%s", msg, line["request_id"], line["component"], id, sc.Text())
		}
		delete(want, msg)
	}
	if len(want) > 0 {
		t.Errorf("not logged: %v\n%s", want, logs.String())
	}
}
