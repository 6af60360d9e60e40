package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ai-platform/internal/ratelimit/redistest"
)

// backends builds two limiters with the same settings: for Redis they share
// one count (like two API processes); for memory each has its own.
type backend struct {
	name   string
	shared bool
	build  func(t *testing.T, s Settings) (*Limiter, *Limiter)
}

func backends() []backend {
	build := func(t *testing.T, s Settings) (*Limiter, *Limiter) {
		t.Helper()
		a, err := New(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
		return a, b
	}
	return []backend{
		{"memory", false, build},
		{"redis", true, func(t *testing.T, s Settings) (*Limiter, *Limiter) {
			url := redistest.URL(t)
			s.RedisURL, s.Prefix = url, redistest.Prefix(t, url)
			return build(t, s)
		}},
	}
}

func TestExactlyNAllowedThenRetryAfter(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			a, b := be.build(t, Settings{Limits: map[string]int{"create_task": 3, "download": 0}})
			if want := be.name; a.Backend() != want {
				t.Fatalf("backend %s, want %s", a.Backend(), want)
			}
			start := time.Now()
			ctx := t.Context()
			for i := 1; i <= 4; i++ {
				l := a
				if be.shared && i%2 == 0 {
					l = b // alternate processes: still one count
				}
				d, err := l.Allow(ctx, "create_task", "owner-1")
				if err != nil {
					t.Fatal(err)
				}
				wantAllowed := i <= 3
				if !d.Enabled || d.Allowed != wantAllowed || d.Limit != 3 || d.Remaining != max(0, int64(3-i)) {
					t.Fatalf("request %d: %+v", i, d)
				}
				// The window is one minute from the first request; Reset is
				// rounded up to the second, so it lies within (60s, 61s].
				if w := d.Reset.Sub(start); w <= 59*time.Second || w > 61*time.Second+time.Since(start) {
					t.Fatalf("request %d: window ends %v after the first request", i, w)
				}
			}
			// Other owners and other scopes are counted apart; a 0 limit is off.
			if d, _ := a.Allow(ctx, "create_task", "owner-2"); !d.Allowed || d.Remaining != 2 {
				t.Errorf("another owner: %+v", d)
			}
			if d, _ := a.Allow(ctx, "rerun_review", "owner-1"); d.Enabled {
				t.Errorf("unconfigured scope: %+v", d)
			}
			if d, _ := a.Allow(ctx, "download", "owner-1"); d.Enabled {
				t.Errorf("scope with limit 0: %+v", d)
			}
			if !be.shared {
				if d, _ := b.Allow(ctx, "create_task", "owner-1"); !d.Allowed {
					t.Errorf("memory limiters are per process, got %+v", d)
				}
			}
		})
	}
}

func TestConcurrentRequestsNeverExceedTheLimit(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			a, b := be.build(t, Settings{Limits: map[string]int{"download": 20}})
			var allowed atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < 60; i++ {
				l := a
				if be.shared && i%2 == 1 {
					l = b
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := l.Allow(context.Background(), "download", "owner")
					if err != nil {
						t.Error(err)
					}
					if d.Allowed {
						allowed.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := allowed.Load(); n != 20 {
				t.Fatalf("%d of 60 concurrent requests allowed, want exactly 20", n)
			}
		})
	}
}

// TestRetryAfterIsHonest: waiting until Reset is enough to be let in again.
func TestRetryAfterIsHonest(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			a, _ := be.build(t, Settings{Limits: map[string]int{"download": 2}, Period: time.Second})
			ctx := t.Context()
			var last Decision
			for i := 0; i < 3; i++ {
				last, _ = a.Allow(ctx, "download", "k")
			}
			if last.Allowed {
				t.Fatal("third request in a 2/s window allowed")
			}
			wait := time.Until(last.Reset)
			if wait <= 0 || wait > 2*time.Second {
				t.Fatalf("reset in %v, want within the 1s window plus rounding", wait)
			}
			time.Sleep(wait)
			if d, _ := a.Allow(ctx, "download", "k"); !d.Allowed {
				t.Fatalf("still refused at Reset: %+v", d)
			}
		})
	}
}

func TestNewRefusesABadRedis(t *testing.T) {
	for _, url := range []string{"not a url", "redis://127.0.0.1:1/0"} {
		if _, err := New(t.Context(), Settings{Limits: map[string]int{"x": 1}, RedisURL: url}); err == nil {
			t.Errorf("New with REDIS_URL %q succeeded", url)
		}
	}
	// With every limit off nothing is contacted.
	l, err := New(t.Context(), Settings{Limits: map[string]int{"x": 0}, RedisURL: "redis://127.0.0.1:1/0"})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Allow(t.Context(), "x", "k"); d.Enabled {
		t.Fatal("limit 0 enabled")
	}
}

// TestResetAndPerScopePeriods: a scope may count over its own window, and
// Reset clears one key (in every process sharing the store) without
// touching another.
func TestResetAndPerScopePeriods(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			a, b := be.build(t, Settings{Limits: map[string]int{"login_failures": 2, "login": 5},
				Periods: map[string]time.Duration{"login_failures": 15 * time.Minute}})
			ctx := t.Context()
			start := time.Now()
			for i := 0; i < 3; i++ {
				if _, err := a.Allow(ctx, "login_failures", "pair-1"); err != nil {
					t.Fatal(err)
				}
			}
			d, _ := a.Allow(ctx, "login_failures", "pair-2")
			if !d.Allowed || d.Remaining != 1 {
				t.Fatalf("another key: %+v", d)
			}
			if w := d.Reset.Sub(start); w < 15*time.Minute || w > 15*time.Minute+2*time.Second {
				t.Fatalf("login_failures window ends %v after the first request, want 15m", w)
			}
			if d, _ := a.Allow(ctx, "login", "k"); d.Reset.Sub(start) > 62*time.Second {
				t.Fatalf("login window ends %v after the first request, want the default 1m", d.Reset.Sub(start))
			}
			other := a
			if be.shared {
				other = b // a reset in one process is seen by the other
			}
			if err := other.Reset(ctx, "login_failures", "pair-1"); err != nil {
				t.Fatal(err)
			}
			if d, _ := a.Allow(ctx, "login_failures", "pair-1"); !d.Allowed || d.Remaining != 1 {
				t.Fatalf("after Reset: %+v", d)
			}
			if d, _ := a.Allow(ctx, "login_failures", "pair-2"); !d.Allowed || d.Remaining != 0 {
				t.Fatalf("Reset touched another key: %+v", d)
			}
			if err := a.Reset(ctx, "unconfigured", "k"); err != nil {
				t.Fatalf("Reset of a scope without a limit: %v", err)
			}
		})
	}
}
