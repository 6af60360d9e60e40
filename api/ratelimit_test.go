package api

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"ai-platform/internal/ratelimit"
	"ai-platform/internal/ratelimit/redistest"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// limitedServers returns two API servers over one store, each with its own
// limiter: with Redis they share the counts, like two API processes.
func limitedServers(t *testing.T, backend string, limits map[string]int) (*fixture, []*Server) {
	t.Helper()
	f := newFixture(t, nil)
	f.expectStart()
	s := ratelimit.Settings{Limits: limits}
	if backend == "redis" {
		s.RedisURL = redistest.URL(t)
		s.Prefix = redistest.Prefix(t, s.RedisURL)
	}
	var servers []*Server
	for i := 0; i < 2; i++ {
		lim, err := ratelimit.New(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = lim.Close() })
		d := f.srv.Deps
		d.Limiter = lim
		servers = append(servers, New(d))
	}
	return f, servers
}

func serve(s *Server, f *fixture, method, path, key string, body any) *httptest.ResponseRecorder {
	f.t.Helper()
	keep := f.srv
	defer func() { f.srv = keep }()
	f.srv = s
	return f.do(method, path, key, body)
}

func TestRateLimitsAtNAndNPlusOne(t *testing.T) {
	const n = 3
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			f, servers := limitedServers(t, backend, map[string]int{ScopeCreate: n, ScopeDownload: n, ScopeRerunReview: 1})
			start := time.Now()
			pick := func(i int) *Server {
				if backend == "redis" {
					return servers[i%2] // alternate API processes
				}
				return servers[0]
			}
			for i := 1; i <= n+1; i++ {
				w := serve(pick(i), f, "POST", "/api/tasks", "alice", map[string]any{"description": "task"})
				h := w.Header()
				if h.Get("X-RateLimit-Limit") != strconv.Itoa(n) || h.Get("X-RateLimit-Remaining") != strconv.Itoa(max(0, n-i)) {
					t.Errorf("request %d: limit headers %v", i, h)
				}
				if i <= n {
					if w.Code != 200 {
						t.Fatalf("request %d of %d: %d %s", i, n, w.Code, w.Body)
					}
					continue
				}
				if w.Code != 429 {
					t.Fatalf("request %d: %d, want 429", i, w.Code)
				}
				d, _ := detail(t, w).(map[string]any)
				retry, _ := strconv.Atoi(h.Get("Retry-After"))
				// The window is one minute from the first request; the answer
				// is rounded up, never down.
				if d["error"] != "rate_limited" || d["retry_after"] != float64(retry) || retry < 59 || retry > 61 {
					t.Fatalf("429 body %s, Retry-After %q", w.Body, h.Get("Retry-After"))
				}
				t.Logf("request %d: 429 Retry-After %ds, X-RateLimit-Reset %s (%.1fs after the first request)", i, retry,
					h.Get("X-RateLimit-Reset"), time.Since(start).Seconds())
				reset, _ := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
				if end := start.Add(time.Minute); reset < end.Unix() || reset > end.Unix()+2 {
					t.Fatalf("X-RateLimit-Reset %d, window ends %d", reset, end.Unix())
				}
			}
			// Another key has its own budget.
			if w := serve(pick(0), f, "POST", "/api/tasks", "bob", map[string]any{"description": "task"}); w.Code != 200 {
				t.Fatalf("another key: %d %s", w.Code, w.Body)
			}
			// The three download routes share one budget.
			id := f.create("bob", "task")
			paths := []struct{ method, path string }{{"GET", "/download.zip"}, {"POST", "/download"}, {"GET", "/git-export.zip"}, {"GET", "/download.zip"}}
			for i, p := range paths {
				w := serve(pick(i), f, p.method, "/api/tasks/"+id+p.path, "bob", nil)
				if (i < n) != (w.Code != 429) {
					t.Errorf("download %d (%s): %d %s", i+1, p.path, w.Code, w.Body)
				}
			}
			// rerun-review: 1 per minute (the task is still queued: 409, then 429).
			for i, want := range []int{409, 429} {
				if w := serve(pick(i), f, "POST", "/api/tasks/"+id+"/rerun-review", "bob", nil); w.Code != want {
					t.Errorf("rerun-review %d: %d %s, want %d", i+1, w.Code, w.Body, want)
				}
			}
			// Reading is never limited.
			if w := serve(pick(0), f, "GET", "/api/tasks/"+id, "bob", nil); w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "" {
				t.Errorf("GET task: %d %v", w.Code, w.Header())
			}
		})
	}
}

// TestTaskControlRateLimit: cancel, pause and unpause share one allowance per
// caller; a refused answer (409) still counts, a request for somebody else's
// task (404) does not.
func TestTaskControlRateLimit(t *testing.T) {
	const n = 2
	f, servers := limitedServers(t, "memory", map[string]int{ScopeTaskControl: n})
	s := servers[0]
	id := f.create("alice", "task")
	if _, err := f.store.UpdateTask(t.Context(), id, func(row *store.Task) error {
		row.Status = task.StatusCompleted // answers 409 without asking Temporal
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if w := serve(s, f, "POST", "/api/tasks/"+id+"/pause", "mallory", nil); w.Code != 404 || w.Header().Get("X-RateLimit-Limit") != "" {
		t.Fatalf("another owner's task: %d %v", w.Code, w.Header())
	}
	for i, p := range []string{"/pause", "/unpause", "/cancel", "/pause"} {
		w := serve(s, f, "POST", "/api/tasks/"+id+p, "alice", nil)
		if i < n {
			if w.Code == 429 || w.Header().Get("X-RateLimit-Remaining") != strconv.Itoa(n-1-i) {
				t.Fatalf("request %d (%s): %d %v %s", i+1, p, w.Code, w.Header(), w.Body)
			}
			continue
		}
		if w.Code != 429 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("request %d (%s): %d, want 429 with Retry-After: %v", i+1, p, w.Code, w.Header())
		}
	}
	// mallory's 404 above used none of its allowance.
	other := f.create("mallory", "task")
	if w := serve(s, f, "POST", "/api/tasks/"+other+"/unpause", "mallory", nil); w.Header().Get("X-RateLimit-Remaining") != strconv.Itoa(n-1) {
		t.Fatalf("mallory's first control request: %d %v", w.Code, w.Header())
	}
}
