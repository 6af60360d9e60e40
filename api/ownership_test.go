package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const missingTask = "00000000-0000-4000-8000-000000000000"

// taskRoutes lists every registered /api/tasks/{id}/* route with the id
// (and other parameters) filled in.
func taskRoutes(f *fixture, id string) [][2]string {
	var out [][2]string
	for _, r := range f.srv.Engine().Routes() {
		if !strings.HasPrefix(r.Path, "/api/tasks/:task_id") {
			continue
		}
		p := strings.Replace(r.Path, ":task_id", id, 1)
		p = strings.Replace(p, ":artifact_id", "11111111-1111-4111-8111-111111111111", 1)
		p = strings.Replace(p, "*path", "cli.py", 1)
		out = append(out, [2]string{r.Method, p})
	}
	return out
}

// TestOtherOwnersGetTheSame404 runs every task route as the owner's rivals
// and compares the answer with the one for a task that does not exist.
func TestOtherOwnersGetTheSame404(t *testing.T) {
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "hybrid"})
	f.expectStart()
	alice, _ := f.signup("alice@example.com")
	bob, _ := f.signup("bob@example.com")
	aliceTask := f.createAs(bearer(alice.AccessToken)...)
	keyTask := f.createAs("X-API-Key", "key-1")
	type caller struct {
		name    string
		key     string
		headers []string
	}
	cases := []struct {
		task    string
		owner   caller
		strange []caller
	}{
		{aliceTask, caller{"alice", "", bearer(alice.AccessToken)}, []caller{
			{"another user", "", bearer(bob.AccessToken)},
			{"an API key", "key-1", nil},
		}},
		{keyTask, caller{"key-1", "key-1", nil}, []caller{
			{"a user", "", bearer(alice.AccessToken)},
			{"another API key", "key-2", nil},
		}},
	}
	routes := taskRoutes(f.fixture, "ID")
	if len(routes) < 18 {
		t.Fatalf("only %d task routes found", len(routes))
	}
	for _, tc := range cases {
		if w := f.do("GET", "/api/tasks/"+tc.task, tc.owner.key, nil, tc.owner.headers...); w.Code != 200 {
			t.Fatalf("owner %s cannot read its task: %d %s", tc.owner.name, w.Code, w.Body)
		}
		for _, c := range tc.strange {
			for _, r := range routes {
				method, path := r[0], r[1]
				other := f.do(method, strings.Replace(path, "ID", tc.task, 1), c.key, map[string]any{}, c.headers...)
				absent := f.do(method, strings.Replace(path, "ID", missingTask, 1), c.key, map[string]any{}, c.headers...)
				if other.Code != 404 || other.Body.String() != absent.Body.String() || detail(t, other) != "Task not found" {
					t.Errorf("%s on %s %s: %d %s; a missing task gives %d %s", c.name, method, path, other.Code, other.Body,
						absent.Code, absent.Body)
				}
			}
		}
	}
}

// wsDial connects to /ws/{id} and returns the close status of the first
// read (-1 if a message arrived instead) and the message.
func wsDial(t *testing.T, srv *httptest.Server, id string, header http.Header, query url.Values, first string) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/" + id
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.CloseNow()
	if first != "" {
		if err := conn.Write(ctx, websocket.MessageText, []byte(first)); err != nil {
			t.Fatal(err)
		}
	}
	_, msg, err := conn.Read(ctx)
	if err != nil {
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		t.Fatalf("read: %v", err)
	}
	return -1, string(msg)
}

func TestWebSocketOwnership(t *testing.T) {
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "hybrid"})
	f.expectStart()
	alice, _ := f.signup("alice@example.com")
	bob, _ := f.signup("bob@example.com")
	aliceTask := f.createAs(bearer(alice.AccessToken)...)
	keyTask := f.createAs("X-API-Key", "key-1")
	srv := httptest.NewServer(f.srv.Handler())
	t.Cleanup(srv.Close)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	authMsg := func(field, v string) string {
		b, _ := json.Marshal(map[string]string{"type": "auth", field: v})
		return string(b)
	}
	cases := []struct {
		name   string
		task   string
		header http.Header
		query  url.Values
		first  string
		code   websocket.StatusCode
		reason string
	}{
		{"owner (header)", aliceTask, hdr("Authorization", "Bearer "+alice.AccessToken), nil, "", -1, ""},
		{"owner (first message)", aliceTask, nil, nil, authMsg("access_token", alice.AccessToken), -1, ""},
		{"another user (header)", aliceTask, hdr("Authorization", "Bearer "+bob.AccessToken), nil, "", 4404, "Task not found"},
		{"another user (query)", aliceTask, nil, url.Values{"access_token": {bob.AccessToken}}, "", 4404, "Task not found"},
		{"another user (first message)", aliceTask, nil, nil, authMsg("access_token", bob.AccessToken), 4404, "Task not found"},
		{"an API key on a user's task", aliceTask, hdr("X-API-Key", "key-1"), nil, "", 4404, "Task not found"},
		{"a user on an API key's task", keyTask, hdr("Authorization", "Bearer "+alice.AccessToken), nil, "", 4404, "Task not found"},
		{"another API key", keyTask, nil, url.Values{"api_key": {"key-2"}}, "", 4404, "Task not found"},
		{"the key owner", keyTask, nil, nil, authMsg("api_key", "key-1"), -1, ""},
		{"missing task", missingTask, hdr("X-API-Key", "key-1"), nil, "", 4404, "Task not found"},
		{"malformed id", "not-a-uuid", hdr("X-API-Key", "key-1"), nil, "", 4404, "Task not found"},
		{"bad token", aliceTask, hdr("Authorization", "Bearer nope"), nil, "", 4401, "Invalid access token"},
		{"no credentials", aliceTask, nil, nil, `{"type":"hello"}`, 4401, "API key required"},
	}
	for _, tc := range cases {
		code, msg := wsDial(t, srv, tc.task, tc.header, tc.query, tc.first)
		if code != tc.code || (tc.code != -1 && msg != tc.reason) {
			t.Errorf("%s: close %d %q, want %d %q", tc.name, code, msg, tc.code, tc.reason)
		}
		if tc.code == -1 && !strings.Contains(msg, `"id":"`+tc.task+`"`) {
			t.Errorf("%s: first message is not the task: %.200s", tc.name, msg)
		}
	}
	// In auth mode, no credentials means an access token is required.
	g := newAuthFixture(t, map[string]string{"AUTH_MODE": "auth"})
	gs := httptest.NewServer(g.srv.Handler())
	t.Cleanup(gs.Close)
	if code, msg := wsDial(t, gs, missingTask, nil, nil, `{"type":"auth"}`); code != 4401 || msg != "Access token required" {
		t.Errorf("auth mode without a token: %d %q", code, msg)
	}
}
