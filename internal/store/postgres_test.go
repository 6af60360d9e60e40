package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ai-platform/internal/store"
	"ai-platform/internal/store/pgtest"
	"ai-platform/internal/store/storetest"
	"ai-platform/internal/task"
	"ai-platform/migrations"
)

// openPG opens a store on url and closes it when the test ends.
func openPG(tb testing.TB, url string, opts ...store.PostgresOption) *store.Postgres {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := store.OpenPostgres(ctx, url, opts...)
	if err != nil {
		tb.Fatalf("OpenPostgres: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// small keeps the connection count of parallel tests well under
// max_connections, and skips the WAL flush at commit: the contract tests
// commit thousands of times and do not test crash durability.
func small(tb testing.TB, url string) string {
	return pgtest.WithParam(tb, pgtest.WithParam(tb, url, "pool_max_conns", "4"), "synchronous_commit", "off")
}

func TestPostgresContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openPG(t, small(t, pgtest.Schema(t))) })
}

func TestPostgresDurability(t *testing.T) {
	url := small(t, pgtest.Schema(t))
	storetest.Durability(t, openPG(t, url), func() store.Store { return openPG(t, url) })
}

func TestPostgresMigrationsIdempotent(t *testing.T) {
	url := pgtest.Schema(t)
	first := openPG(t, url)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	// A second start migrates again: nothing left to apply, data intact.
	s := openPG(t, url)
	tk, err := s.CreateTask(t.Context(), store.Task{ID: uuid.NewString(), Description: "d", Status: task.StatusQueued})
	if err != nil {
		t.Fatal(err)
	}
	openPG(t, url)
	if _, err := s.GetTask(t.Context(), tk.ID); err != nil {
		t.Fatalf("task lost after re-running migrations: %v", err)
	}
}

func TestPostgresConcurrentOpen(t *testing.T) {
	url := pgtest.Schema(t)
	const n = 3
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p, err := store.OpenPostgres(t.Context(), url)
			if err == nil {
				_, err = p.CountTasksByStatus(t.Context())
				_ = p.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("opener %d on an empty schema: %v", i, err)
		}
	}
	s := openPG(t, url, store.WithoutMigrations())
	if applied, err := migrations.Apply(t.Context(), poolOf(t, url)); err != nil || len(applied) != 0 {
		t.Errorf("after concurrent opens Apply still applied %v (%v)", applied, err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresBadURL(t *testing.T) {
	const pw = "s3cr3t-Pa55"
	for _, url := range []string{
		"postgres://app:" + pw + "@db.internal:notaport/app",
		"postgres://app:" + pw + "@db.internal:99999/app",
		"postgres://app:" + pw + "@[::1/app",
		"postgres://app:" + pw + "@db.internal/app?sslmode=sometimes",
		"postgres://app:" + pw + "@db.internal/app?connect_timeout=soon",
		"postgres://app:s3cr3t%2DPa55@db.internal:port/app",
		"host=db.internal user=app password=" + pw + " port=abc",
		"host=db.internal user=app password='" + pw + "' sslmode=sometimes",
		"postgres://app:" + pw + "/word@db.internal/app?x=y@z",
	} {
		_, err := store.OpenPostgres(t.Context(), url, store.WithConnectTimeout(time.Second))
		if err == nil {
			t.Errorf("%s: no error", url)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, pw) || strings.Contains(msg, "s3cr3t") {
			t.Errorf("error leaks the password: %s", msg)
		}
		if !strings.Contains(msg, "invalid database URL") {
			t.Errorf("error does not say what is wrong: %s", msg)
		}
	}
}

func TestPostgresUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	url := "postgres://app:s3cr3t@" + addr + "/app?sslmode=disable"
	start := time.Now()
	_, err = store.OpenPostgres(t.Context(), url, store.WithConnectTimeout(2*time.Second))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("OpenPostgres on a closed port: %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error leaks the password: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("OpenPostgres took %v to give up", time.Since(start))
	}
}

// checkUnavailable calls one operation of each kind and wants every one to
// report ErrUnavailable, which the API turns into a 503.
func checkUnavailable(t *testing.T, s store.Store, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	id := uuid.NewString()
	ops := map[string]func() error{
		"Ping":    func() error { return s.Ping(ctx) },
		"GetTask": func() error { _, err := s.GetTask(ctx, id); return err },
		"CreateTask": func() error {
			_, err := s.CreateTask(ctx, store.Task{ID: id, Description: "d", Status: task.StatusQueued})
			return err
		},
		"UpdateTask": func() error { _, err := s.UpdateTask(ctx, id, func(*store.Task) error { return nil }); return err },
		"ListTasks":  func() error { _, err := s.ListTasks(ctx, store.TaskFilter{}); return err },
		"AppendEvent": func() error {
			_, err := s.AppendEvent(ctx, store.Event{ID: uuid.NewString(), TaskID: id, Type: "x"})
			return err
		},
		"ListEvents": func() error { _, err := s.ListEvents(ctx, id, store.ListOptions{}); return err },
		"PutFiles":   func() error { return s.PutFiles(ctx, id, nil, nil, store.FileLimits{}) },
		"AddUsage": func() error {
			_, err := s.AddUsage(ctx, store.UsageCharge{ID: "x", OwnerKey: "k", Day: time.Now()})
			return err
		},
		"GetUserByEmail": func() error { _, err := s.GetUserByEmail(ctx, "a@b.c"); return err },
		"Purge":          func() error { _, err := s.Purge(ctx, time.Now(), 10); return err },
	}
	for name, op := range ops {
		err := op()
		t.Logf("%s: %s: %v", what, name, err)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: %s = %v, want ErrUnavailable", what, name, err)
		}
	}
}

func TestPostgresClosed(t *testing.T) {
	s := openPG(t, pgtest.Schema(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkUnavailable(t, s, "closed store")
}

func TestPostgresConnectionLost(t *testing.T) {
	url := pgtest.Schema(t)
	proxy := startProxy(t, url)
	s := openPG(t, proxy.url(t, url), store.WithConnectTimeout(2*time.Second))
	if _, err := s.ListTasks(t.Context(), store.TaskFilter{}); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	proxy.stop()
	checkUnavailable(t, s, "database gone")
}

func TestPostgresAcquireTimeout(t *testing.T) {
	s := openPG(t, pgtest.Schema(t), store.WithMaxConns(1))
	tk, err := s.CreateTask(t.Context(), store.Task{ID: uuid.NewString(), Description: "d", Status: task.StatusQueued})
	if err != nil {
		t.Fatal(err)
	}
	// Hold the only connection inside an UpdateTask.
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := s.UpdateTask(context.Background(), tk.ID, func(*store.Task) error {
			close(held)
			<-release
			return nil
		})
		done <- err
	}()
	<-held
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	_, err = s.GetTask(ctx, tk.ID)
	cancel()
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetTask while the pool is exhausted: %v, want ErrUnavailable", err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err = s.GetTask(ctx, tk.ID); errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("GetTask with a cancelled context: %v, want context.Canceled, not ErrUnavailable", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// proxy forwards TCP to PostgreSQL so a test can cut the database off.
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, url string) *proxy {
	t.Helper()
	target := pgAddr(t, url)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) url(t *testing.T, url string) string {
	host, port, _ := net.SplitHostPort(p.l.Addr().String())
	return pgtest.WithParam(t, pgtest.WithParam(t, url, "host", host), "port", port)
}

func (p *proxy) stop() {
	_ = p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// pgAddr is the host:port of the database a connection string names.
func pgAddr(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
}

func poolOf(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// BenchmarkPostgresAppendEvent measures appends with the default, durable
// commit: one caller at a time, and 8 callers per CPU sharing the pool.
func BenchmarkPostgresAppendEvent(b *testing.B) {
	s := openPG(b, pgtest.Schema(b))
	tk, err := s.CreateTask(b.Context(), store.Task{ID: uuid.NewString(), Description: "bench", Status: task.StatusProcessing})
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"stage": "implementation", "step": 3, "message": "ran pytest: 12 passed"}`)
	appendOne := func() {
		ok, err := s.AppendEvent(b.Context(), store.Event{ID: uuid.NewString(), TaskID: tk.ID, Type: "command_finished", Payload: payload})
		if err != nil || !ok {
			b.Errorf("AppendEvent: %v %v", ok, err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			appendOne()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				appendOne()
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
