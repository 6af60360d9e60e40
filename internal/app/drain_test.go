package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServing runs ServeHTTP on a free port and returns its address and
// the channel its result arrives on.
func startServing(t *testing.T, ctx context.Context, h http.Handler) (string, chan error) {
	t.Helper()
	a := &App{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- a.ServeHTTP(ctx, h, "127.0.0.1:0", ready) }()
	select {
	case addr := <-ready:
		return addr, errc
	case err := <-errc:
		t.Fatalf("ServeHTTP: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("ServeHTTP did not start")
	}
	return "", nil
}

// TestShutdownDrainsInFlightRequests: when ServeHTTP's context ends (SIGTERM),
// new connections are refused at once, a request already being handled
// still gets its full response, and ServeHTTP returns nil only after it.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished after the shutdown signal")
	})
	mux.HandleFunc("/fast", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	ctx, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	addr, errc := startServing(t, ctx, mux)
	base := "http://" + addr

	type result struct {
		code int
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{resp.StatusCode, string(b), err}
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request never reached its handler")
	}

	shutdown() // what SIGTERM does through signal.NotifyContext
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break // refused: the listener is closed
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections are still accepted 10 s after the shutdown signal")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A fresh client (no kept-alive connection) cannot get in either.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	if resp, err := fresh.Get(base + "/fast"); err == nil {
		resp.Body.Close()
		t.Fatalf("a new request was served during the drain: %s", resp.Status)
	}
	select {
	case err := <-errc:
		t.Fatalf("ServeHTTP returned (%v) while a request was in flight", err)
	case r := <-slow:
		t.Fatalf("the slow request ended before its handler did: %+v", r)
	default:
	}

	close(release)
	select {
	case r := <-slow:
		if r.err != nil || r.code != http.StatusOK || !strings.Contains(r.body, "finished after the shutdown signal") {
			t.Fatalf("in-flight request: %d %q %v; want its full 200 response", r.code, r.body, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request got no response after its handler finished")
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("ServeHTTP after the drain: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeHTTP did not return after the last request finished")
	}
}

// TestShutdownDrainIsBounded: a request that never finishes does not hold
// the process: ServeHTTP gives up after drainTimeout and says so.
func TestShutdownDrainIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the drain timeout (" + drainTimeout.String() + ")")
	}
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	mux := http.NewServeMux()
	mux.HandleFunc("/stuck", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	ctx, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	addr, errc := startServing(t, ctx, mux)
	go func() {
		if resp, err := http.Get("http://" + addr + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	start := time.Now()
	shutdown()
	select {
	case err := <-errc:
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "shutdown") {
			t.Fatalf("ServeHTTP = %v after %s; want the drain's timeout error", err, took)
		}
		if took < drainTimeout-time.Second {
			t.Fatalf("gave up after %s, before the %s drain timeout", took, drainTimeout)
		}
		t.Logf("gave up on the stuck request %s after the shutdown signal: %v", took.Round(100*time.Millisecond), err)
	case <-time.After(drainTimeout + 30*time.Second):
		t.Fatal("ServeHTTP still waits for a stuck request long after the drain timeout")
	}
}
