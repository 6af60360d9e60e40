package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"ai-platform/internal/auth"
)

// refreshAnswer is one /auth/refresh response as a tab sees it.
type refreshAnswer struct {
	code    int
	code401 string // detail.error of a 401
	access  string
	cookies []*http.Cookie
}

// postRefresh sends /auth/refresh with exactly the given cookies (what the
// browser's jar held when the request left).
func postRefresh(t *testing.T, base string, cookies []*http.Cookie) refreshAnswer {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/auth/refresh", nil)
	if err != nil {
		t.Error(err)
		return refreshAnswer{}
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return refreshAnswer{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := refreshAnswer{code: resp.StatusCode, cookies: resp.Cookies()}
	var body struct {
		AccessToken string          `json:"access_token"`
		Detail      json.RawMessage `json:"detail"`
	}
	_ = json.Unmarshal(raw, &body)
	a.access = body.AccessToken
	var d struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body.Detail, &d) == nil {
		a.code401 = d.Error
	}
	return a
}

// TestConcurrentRefreshesBothStaySignedIn: two tabs of one browser load at
// the same moment and both send /auth/refresh with the same cookie. One
// rotates it; the other is told refresh_token_rotated (its cookie is left
// alone, nothing is revoked), retries once with what the shared cookie jar
// then holds, and is signed in too. A replay after the grace window is
// still reuse.
func TestConcurrentRefreshesBothStaySignedIn(t *testing.T) {
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "auth"})
	srv := httptest.NewServer(f.srv.Handler())
	defer srv.Close()
	_, c0 := f.signup("tabs@example.com")
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	refreshURL, _ := url.Parse(srv.URL + "/auth/refresh")
	jar.SetCookies(refreshURL, []*http.Cookie{{Name: c0.Name, Value: c0.Value, Path: "/auth"}})

	sent := jar.Cookies(refreshURL) // both tabs send the same cookie
	var wg sync.WaitGroup
	start := make(chan struct{})
	answers := make([]refreshAnswer, 2)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = postRefresh(t, srv.URL, sent)
		}()
	}
	close(start)
	wg.Wait()

	winners, losers := 0, 0
	for _, a := range answers {
		switch {
		case a.code == 200 && a.access != "":
			winners++
			jar.SetCookies(refreshURL, a.cookies)
		case a.code == 401 && a.code401 == "refresh_token_rotated":
			losers++
			if len(a.cookies) != 0 {
				t.Errorf("the rotated answer touched the cookie: %+v", a.cookies)
			}
		default:
			t.Fatalf("unexpected answer %+v", a)
		}
	}
	if winners != 1 || losers != 1 {
		t.Fatalf("%d winners and %d losers, want one each", winners, losers)
	}
	if got := jar.Cookies(refreshURL); len(got) != 1 || got[0].Value == c0.Value {
		t.Fatalf("the jar does not hold the winner's cookie: %+v", got)
	}

	// The loser retries once with the jar's (new) cookie.
	for i, a := range answers {
		if a.code == 200 {
			continue
		}
		retry := postRefresh(t, srv.URL, jar.Cookies(refreshURL))
		if retry.code != 200 || retry.access == "" {
			t.Fatalf("the retry: %+v", retry)
		}
		jar.SetCookies(refreshURL, retry.cookies)
		answers[i] = retry
	}
	for i, a := range answers {
		me := f.do("GET", "/auth/me", "", nil, bearer(a.access)...)
		if me.Code != 200 || !strings.Contains(me.Body.String(), "tabs@example.com") {
			t.Errorf("tab %d is not signed in: %d %s", i, me.Code, me.Body)
		}
	}
	// The family is alive: the current cookie still refreshes.
	cur := jar.Cookies(refreshURL)
	if again := postRefresh(t, srv.URL, cur); again.code != 200 {
		t.Fatalf("refresh after the race: %+v", again)
	}

	// The first cookie, replayed after the grace window, is reuse: the
	// family is revoked and the cookie cleared.
	f.clock.add(auth.RefreshReuseGrace)
	replay := postRefresh(t, srv.URL, []*http.Cookie{c0})
	if replay.code != 401 || len(replay.cookies) != 1 || replay.cookies[0].MaxAge >= 0 {
		t.Fatalf("replay after the grace window: %+v", replay)
	}
	if code, d, _ := f.refresh(cur[0]); code != 401 || d != "Refresh token revoked" {
		t.Fatalf("the family after a late replay: %d %q", code, d)
	}
}
