package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ai-platform/internal/auth"
	"ai-platform/internal/ratelimit"
	"ai-platform/internal/ratelimit/redistest"
	"ai-platform/internal/store"
)

// The trusted proxy of these tests, and client addresses.
const (
	proxyAddr = "10.0.0.1"
	addrA     = "198.51.100.10"
	addrB     = "198.51.100.20"
	addrC     = "198.51.100.30"
)

const failureWindow = 15 * time.Minute

// scopeCounter records the metrics' rate-limit refusals by scope.
type scopeCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (m *scopeCounter) ObserveRequest(string, string, int, time.Duration) {}
func (m *scopeCounter) TaskCreated()                                      {}
func (m *scopeCounter) RateLimited(scope string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == nil {
		m.n = map[string]int{}
	}
	m.n[scope]++
}
func (m *scopeCounter) count(scope string) int { m.mu.Lock(); defer m.mu.Unlock(); return m.n[scope] }

// throttled is an API with user accounts and the auth limits, wired as the
// app wires them. With Redis it has two servers sharing one count, like two
// API processes, and requests alternate between them.
type throttled struct {
	*authFixture
	servers []*Server
	metrics *scopeCounter
	calls   int
}

func newThrottled(t *testing.T, backend string, limits map[string]int) *throttled {
	t.Helper()
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "auth", "TRUSTED_PROXIES": proxyAddr})
	s := ratelimit.Settings{Limits: limits, Periods: map[string]time.Duration{ScopeLoginFailures: failureWindow}}
	if backend == "redis" {
		s.RedisURL = redistest.URL(t)
		s.Prefix = redistest.Prefix(t, s.RedisURL)
	}
	th := &throttled{authFixture: f, metrics: &scopeCounter{}}
	for range 2 {
		lim, err := ratelimit.New(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = lim.Close() })
		d := f.srv.Deps
		d.Limiter, d.Metrics = lim, th.metrics
		th.servers = append(th.servers, New(d))
	}
	if backend != "redis" {
		th.servers = th.servers[:1] // memory counts are per process
	}
	return th
}

// post sends body from the client address (host only) with extra headers.
func (th *throttled) post(path, addr string, body any, headers ...string) *httptest.ResponseRecorder {
	th.t.Helper()
	raw, _ := json.Marshal(body)
	req := httptest.NewRequest("POST", path, bytes.NewReader(raw))
	if strings.Contains(addr, ":") {
		req.RemoteAddr = "[" + addr + "]:40000"
	} else {
		req.RemoteAddr = addr + ":40000"
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	th.servers[th.calls%len(th.servers)].Handler().ServeHTTP(w, req)
	th.calls++
	return w
}

func credentialsOf(email, password string) map[string]any {
	return map[string]any{"email": email, "password": password}
}

// expect429 checks a refusal: 429, Retry-After about wantRetry (a little
// less when the window began some seconds ago, never more than one second
// over) and equal to detail.retry_after, and a message containing what.
func expect429(t *testing.T, w *httptest.ResponseRecorder, wantRetry time.Duration, what string) {
	t.Helper()
	if w.Code != 429 {
		t.Fatalf("%d %s, want 429", w.Code, w.Body)
	}
	retry, err := strconv.Atoi(w.Header().Get("Retry-After"))
	want := int(wantRetry.Seconds())
	if err != nil || retry < want-5 || retry > want+1 {
		t.Fatalf("Retry-After %q, want about %d", w.Header().Get("Retry-After"), want)
	}
	d, _ := detail(t, w).(map[string]any)
	if d["error"] != "rate_limited" || d["retry_after"] != float64(retry) || !strings.Contains(d["message"].(string), what) {
		t.Fatalf("429 body %s, want rate_limited with %q", w.Body, what)
	}
}

// TestAuthAddressLimitsAtNAndNPlusOne: N logins (or registrations) from one
// address pass, the next is 429 with Retry-After; another address has its
// own allowance; X-Forwarded-For counts only from TRUSTED_PROXIES.
func TestAuthAddressLimitsAtNAndNPlusOne(t *testing.T) {
	const n = 3
	routes := []struct {
		scope, path, what string
		body              func(i int) any
		passed            int // status of the requests within the limit
	}{
		{ScopeLogin, "/auth/login", "login attempts from your address",
			func(i int) any { return credentialsOf("user"+strconv.Itoa(i)+"@example.com", "password-123") }, 401},
		{ScopeRegister, "/auth/register", "registrations from your address",
			func(i int) any { return credentialsOf("user"+strconv.Itoa(i)+"@example.com", "password-123") }, 200},
	}
	for _, backend := range []string{"memory", "redis"} {
		for _, rt := range routes {
			t.Run(backend+"/"+rt.scope, func(t *testing.T) {
				th := newThrottled(t, backend, map[string]int{rt.scope: n})
				for i := 1; i <= n; i++ {
					w := th.post(rt.path, addrA, rt.body(i))
					if w.Code != rt.passed || w.Header().Get("X-RateLimit-Remaining") != strconv.Itoa(n-i) {
						t.Fatalf("request %d of %d: %d %v %s", i, n, w.Code, w.Header(), w.Body)
					}
				}
				w := th.post(rt.path, addrA, rt.body(n+1))
				expect429(t, w, time.Minute, rt.what)
				// Refused before the handler: no account was made, no password checked.
				if _, err := th.store.GetUserByEmail(t.Context(), "user4@example.com"); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("the refused request reached the handler: %v", err)
				}
				if th.metrics.count(rt.scope) != 1 {
					t.Fatalf("refusals counted for %s: %d, want 1", rt.scope, th.metrics.count(rt.scope))
				}
				checks := []struct {
					name    string
					addr    string
					headers []string
					limited bool
				}{
					{"another address", addrB, nil, false},
					{"a forged X-Forwarded-For from an untrusted peer", addrA, []string{"X-Forwarded-For", "203.0.113.5"}, true},
					{"a new client behind the trusted proxy", proxyAddr, []string{"X-Forwarded-For", "203.0.113.6"}, false},
					{"the limited client behind the trusted proxy", proxyAddr, []string{"X-Forwarded-For", addrA}, true},
				}
				for i, c := range checks {
					w := th.post(rt.path, c.addr, rt.body(100+i), c.headers...)
					if (w.Code == 429) != c.limited {
						t.Errorf("%s: %d %s, limited want %v", c.name, w.Code, w.Body, c.limited)
					}
				}
			})
		}
	}
}

// TestFailedLoginLockoutPerAccountAndAddress: after N failed logins for one
// (account, address) pair, that pair is refused with 429 even with the
// right password, while the same account from another address and other
// accounts from that address go on; a success resets the pair; an unknown
// email is counted exactly like a known one; an IPv6 client counts by /64.
func TestFailedLoginLockoutPerAccountAndAddress(t *testing.T) {
	const (
		right = "password-123"
		wrong = "password-999"
		alice = "alice@example.com"
		bob   = "bob@example.com"
		nobdy = "nobody@example.com"
	)
	type step struct {
		name, addr, email, password string
		want                        int
	}
	fail3 := func(addr, email string) []step {
		var out []step
		for i := 1; i <= 3; i++ {
			out = append(out, step{"failure " + strconv.Itoa(i) + " for " + email + " from " + addr, addr, email, wrong, 401})
		}
		return out
	}
	var steps []step
	steps = append(steps, fail3(addrA, " ALICE@Example.com")...) // normalized: the same pair as alice
	steps = append(steps,
		step{"right password from the locked pair", addrA, alice, right, 429},
		step{"same account from another address", addrB, alice, right, 200},
		step{"another account from the locked address", addrA, bob, right, 200},
		step{"still locked after the others succeeded", addrA, alice, right, 429})
	steps = append(steps, fail3(addrA, nobdy)...)
	steps = append(steps, step{"unknown email, locked like a known one", addrA, nobdy, right, 429})
	// A success resets: 2 failures, a success, then 3 more failures are
	// all checked; only the 4th after the success is refused.
	steps = append(steps, fail3(addrC, bob)[:2]...)
	steps = append(steps, step{"success after two failures", addrC, bob, right, 200})
	steps = append(steps, fail3(addrC, bob)...)
	steps = append(steps, step{"fourth after the reset", addrC, bob, right, 429})
	steps = append(steps, fail3("2001:db8:1:2::a", alice)...)
	steps = append(steps,
		step{"another address in the same IPv6 /64", "2001:db8:1:2::b", alice, right, 429},
		step{"the same IPv4 as an IPv4-mapped IPv6 peer", "::ffff:" + addrA, alice, right, 429},
		step{"another IPv6 /64", "2001:db8:1:3::a", alice, right, 200})

	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			th := newThrottled(t, backend, map[string]int{ScopeLoginFailures: 3})
			th.signup(alice)
			th.signup(bob)
			var messages []string
			for _, s := range steps {
				w := th.post("/auth/login", s.addr, credentialsOf(s.email, s.password))
				if s.want == 429 {
					expect429(t, w, failureWindow, "failed logins for this account from your address")
					d, _ := detail(t, w).(map[string]any)
					messages = append(messages, d["message"].(string)[:strings.Index(d["message"].(string), ";")])
					continue
				}
				if w.Code != s.want {
					t.Fatalf("%s: %d %s, want %d", s.name, w.Code, w.Body, s.want)
				}
			}
			// Known and unknown emails get the same refusal.
			for _, m := range messages[1:] {
				if m != messages[0] {
					t.Errorf("refusals differ: %q and %q", m, messages[0])
				}
			}
			if got := th.metrics.count(ScopeLoginFailures); got != 6 {
				t.Errorf("%d lockout refusals counted, want 6", got)
			}
		})
	}
}

// TestBcryptBusyIs503: with the only bcrypt slot taken for longer than the
// wait, a login is refused with 503, Retry-After: 1 and auth_busy; once the
// slot is free the same login succeeds.
func TestBcryptBusyIs503(t *testing.T) {
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "auth"})
	f.signup("carol@example.com")
	// Cost 11 keeps the registration's hash busy for a tenth of a second or
	// more (far more under the race detector), longer than the 50 ms wait;
	// the probing logins compare at cost 4, well within it, so they never
	// make the registration itself give up.
	acc, err := auth.New(auth.Settings{Store: f.store, Tokens: auth.TokenSettings{Secret: f.cfg.JWTSecret, TTL: time.Minute},
		RefreshSecret: f.cfg.RefreshTokenSecret, RefreshTTL: time.Hour, Registration: true, PasswordCost: bcrypt.MinCost + 7,
		BcryptConcurrency: 1, BcryptWait: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	d := f.srv.Deps
	d.Accounts, d.Auth = acc, nil
	f.srv = New(d)

	// A registration takes the slot while logins probe until one is turned
	// away. On a loaded machine a probe may hold the slot when the
	// registration arrives, and the registration is the one refused: that
	// is the same answer, and it counts too. A round where no request was
	// refused (the machine was too slow to overlap them) is tried again.
	var busy *httptest.ResponseRecorder
	for round := 0; busy == nil && round < 5; round++ {
		done := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			raw, _ := json.Marshal(credentialsOf("dave"+strconv.Itoa(round)+"@example.com", "password-123"))
			w := httptest.NewRecorder()
			f.srv.Handler().ServeHTTP(w, httptest.NewRequest("POST", "/auth/register", bytes.NewReader(raw)))
			done <- w
		}()
		var reg *httptest.ResponseRecorder
		for busy == nil && reg == nil {
			w := f.do("POST", "/auth/login", "", credentialsOf("carol@example.com", "password-123"))
			if w.Code == 503 {
				busy = w
			}
			select {
			case reg = <-done:
			default:
				time.Sleep(2 * time.Millisecond)
			}
		}
		if reg == nil {
			reg = <-done
		}
		if busy == nil && reg.Code == 503 {
			busy = reg
		}
	}
	if busy == nil {
		t.Fatal("no request was refused in 5 rounds with the only slot taken")
	}
	d2, _ := detail(t, busy).(map[string]any)
	if busy.Header().Get("Retry-After") != "1" || d2["error"] != "auth_busy" || d2["retry_after"] != float64(1) {
		t.Fatalf("busy answer: %v %s", busy.Header(), busy.Body)
	}
	// carol's hash is cost 4 from the first service; the slot is free now.
	if w := f.do("POST", "/auth/login", "", credentialsOf("carol@example.com", "password-123")); w.Code != 200 {
		t.Fatalf("login once the slot is free: %d %s", w.Code, w.Body)
	}
}
