package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/mocks"

	"ai-platform/internal/auth"
	"ai-platform/internal/config"
	"ai-platform/internal/store"
)

// floodServer is an API with user accounts at the production bcrypt cost,
// slots password operations at once (0: the default), and no rate limits,
// so that only the bcrypt bound stands between a flood and the CPUs.
func floodServer(tb testing.TB, slots int) *Server {
	tb.Helper()
	env := map[string]string{"AUTH_MODE": "auth", "AUTH_JWT_SECRET": jwtSecret}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.NewMemory(nil)
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	acc, err := auth.New(auth.Settings{Store: st, Tokens: auth.TokenSettings{Secret: cfg.JWTSecret, TTL: time.Minute},
		RefreshSecret: cfg.RefreshTokenSecret, RefreshTTL: time.Hour, Registration: true, BcryptConcurrency: slots, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := acc.Register(context.Background(), "flood@example.com", "password-123", auth.Client{}); err != nil {
		tb.Fatal(err)
	}
	return New(Deps{Config: cfg, Store: st, Temporal: &mocks.Client{}, Accounts: acc, Logger: log})
}

// BenchmarkHealthDuringLoginFlood measures GET /health over HTTP, alone and
// while 16 clients send wrong passwords as fast as they can (the finding:
// an unrelated request went from ~2 ms to 100-220 ms), with the bcrypt
// bound effectively off (1024 slots), at one slot per CPU and at its
// default (half the CPUs). It reports the
// latency percentiles of /health and how the logins were answered.
//
//	go test -run '^$' -bench HealthDuringLoginFlood -benchtime 8s ./api/
func BenchmarkHealthDuringLoginFlood(b *testing.B) {
	cases := []struct {
		name  string
		flood bool
		slots int
	}{
		{"idle", false, 0},
		{"flood/unbounded", true, 1024},
		{"flood/all-cpus", true, runtime.GOMAXPROCS(0)},
		{"flood/default", true, 0},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			ts := httptest.NewServer(floodServer(b, bc.slots).Handler())
			defer ts.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			// The flood stops between requests, so that every login it sent
			// is answered before the server closes.
			var stop atomic.Bool
			var wg sync.WaitGroup
			var answered sync.Map // status -> *atomic.Int64
			if bc.flood {
				for range 16 {
					wg.Go(func() {
						for !stop.Load() {
							resp, err := client.Post(ts.URL+"/auth/login", "application/json",
								strings.NewReader(`{"email":"flood@example.com","password":"wrong-password"}`))
							if err != nil {
								continue
							}
							_, _ = io.Copy(io.Discard, resp.Body)
							_ = resp.Body.Close()
							n, _ := answered.LoadOrStore(resp.StatusCode, new(atomic.Int64))
							n.(*atomic.Int64).Add(1)
						}
					})
				}
				time.Sleep(500 * time.Millisecond) // every flood client is inside bcrypt or waiting for it
			}
			var lat []time.Duration
			start := time.Now()
			for b.Loop() {
				t0 := time.Now()
				resp, err := client.Get(ts.URL + "/health")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				lat = append(lat, time.Since(t0))
			}
			elapsed := time.Since(start)
			stop.Store(true)
			wg.Wait()
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.5), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(pct(1), "max-ms")
			answered.Range(func(k, v any) bool {
				b.ReportMetric(float64(v.(*atomic.Int64).Load())/elapsed.Seconds(), "login-"+strconv.Itoa(k.(int))+"/s")
				return true
			})
		})
	}
}
