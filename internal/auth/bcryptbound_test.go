package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ai-platform/internal/store"
)

// gauge stands in for bcrypt: each call takes d (or until gate closes, if
// set) and records how many calls ran at the same time.
type gauge struct {
	d       time.Duration
	gate    chan struct{}
	running atomic.Int64
	peak    atomic.Int64
	calls   atomic.Int64
	entered chan struct{}
}

func newGauge(d time.Duration) *gauge { return &gauge{d: d, entered: make(chan struct{}, 1000)} }

func (g *gauge) work() {
	n := g.running.Add(1)
	defer g.running.Add(-1)
	g.calls.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	g.entered <- struct{}{}
	if g.gate != nil {
		<-g.gate
		return
	}
	time.Sleep(g.d)
}

// install replaces p's bcrypt with the gauge; hashes it makes are accepted
// by its compare only for the password they were made from.
func (g *gauge) install(p *passwords) {
	p.generate = func(pw []byte, _ int) ([]byte, error) { g.work(); return append([]byte("h:"), pw...), nil }
	p.compare = func(hash, pw []byte) error {
		g.work()
		if string(hash) != "h:"+string(pw) {
			return bcrypt.ErrMismatchedHashAndPassword
		}
		return nil
	}
}

// TestBcryptConcurrencyIsBounded: however many hashes and comparisons are
// asked for at once, at most the configured number run; the rest wait their
// turn and succeed.
func TestBcryptConcurrencyIsBounded(t *testing.T) {
	for _, slots := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d slots", slots), func(t *testing.T) {
			p := newPasswords(bcrypt.MinCost, slots, 10*time.Second)
			g := newGauge(20 * time.Millisecond)
			g.install(p)
			var wg sync.WaitGroup
			for i := range 12 {
				wg.Go(func() {
					var err error
					switch i % 3 {
					case 0:
						_, err = p.hash(t.Context(), "password-123")
					case 1:
						_, err = p.verify(t.Context(), "h:password-123", "password-123")
					default:
						_, err = p.verify(t.Context(), "", "password-123") // unknown user: dummy hash
					}
					if err != nil {
						t.Errorf("call %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			// 12 calls plus the one dummy hash made on first use.
			if peak, calls := g.peak.Load(), g.calls.Load(); peak != int64(slots) || calls != 13 {
				t.Fatalf("peak %d concurrent bcrypt calls over %d calls, want exactly %d", peak, calls, slots)
			}
		})
	}
}

// TestBcryptWaitIsBounded: with every slot taken, a caller gives up after
// the wait with ErrBusy, or as soon as its request ends; once the slot is
// free again the next caller gets it at once.
func TestBcryptWaitIsBounded(t *testing.T) {
	const wait = 80 * time.Millisecond
	p := newPasswords(bcrypt.MinCost, 1, wait)
	g := newGauge(0)
	g.gate = make(chan struct{})
	g.install(p)
	held := make(chan error, 1)
	go func() {
		_, err := p.verify(context.Background(), "h:password-123", "password-123")
		held <- err
	}()
	<-g.entered

	start := time.Now()
	_, err := p.hash(t.Context(), "password-123")
	if waited := time.Since(start); !errors.Is(err, ErrBusy) || waited < wait || waited > wait+time.Second {
		t.Fatalf("with the only slot taken: %v after %v, want ErrBusy after %v", err, waited, wait)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.verify(ctx, "h:x", "x"); !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
		t.Fatalf("ended request: %v, want context.Canceled", err)
	}
	// Input errors are found before any slot is taken.
	var input *InputError
	if _, err := p.hash(t.Context(), "short"); !errors.As(err, &input) {
		t.Fatalf("short password with the slot taken: %v, want InputError", err)
	}

	close(g.gate)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if ok, err := p.verify(t.Context(), "h:password-123", "password-123"); !ok || err != nil {
		t.Fatalf("after release: %v, %v", ok, err)
	}
	if n := g.running.Load(); n != 0 {
		t.Fatalf("%d calls still running", n)
	}
}

// TestEveryPasswordOperationTakesASlot: register, login (known and unknown
// email) and the bootstrap admin all go through the bound, so none of them
// can bypass it in a flood.
func TestEveryPasswordOperationTakesASlot(t *testing.T) {
	m, err := store.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Settings{Store: m, Tokens: TokenSettings{Secret: testSecret, TTL: time.Minute},
		RefreshSecret: "r", RefreshTTL: time.Hour, Registration: true, PasswordCost: bcrypt.MinCost,
		BcryptConcurrency: 1, BcryptWait: 30 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	g := newGauge(0)
	g.install(svc.passwords)
	if _, err := svc.Register(t.Context(), "known@example.com", "password-123", Client{}); err != nil {
		t.Fatal(err)
	}
	<-g.entered
	g.gate = make(chan struct{}) // from now on a call holds its slot until the gate opens
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = svc.Login(context.Background(), "known@example.com", "password-123", Client{})
	}()
	<-g.entered
	ops := []struct {
		name string
		run  func(context.Context) error
	}{
		{"register", func(ctx context.Context) error {
			_, err := svc.Register(ctx, "new@example.com", "password-123", Client{})
			return err
		}},
		{"login", func(ctx context.Context) error {
			_, err := svc.Login(ctx, "known@example.com", "password-123", Client{})
			return err
		}},
		{"login, unknown email", func(ctx context.Context) error {
			_, err := svc.Login(ctx, "nobody@example.com", "password-123", Client{})
			return err
		}},
		{"bootstrap admin", func(ctx context.Context) error {
			return svc.BootstrapAdmin(ctx, "admin@example.com", "password-123")
		}},
	}
	for _, op := range ops {
		if err := op.run(t.Context()); !errors.Is(err, ErrBusy) {
			t.Errorf("%s with every slot taken: %v, want ErrBusy", op.name, err)
		}
	}
	close(g.gate)
	<-done
	if _, err := svc.Login(t.Context(), "known@example.com", "password-123", Client{}); err != nil {
		t.Fatalf("login once the slot is free: %v", err)
	}
}

func TestBcryptSettings(t *testing.T) {
	m, err := store.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	base := Settings{Store: m, Tokens: TokenSettings{Secret: testSecret, TTL: time.Minute}, RefreshSecret: "r",
		RefreshTTL: time.Hour, PasswordCost: bcrypt.MinCost}
	cases := []struct {
		name        string
		concurrency int
		wait        time.Duration
		wantSlots   int
		wantWait    time.Duration
		wantErr     bool
	}{
		{"defaults", 0, 0, DefaultBcryptConcurrency(), DefaultBcryptWait, false},
		{"explicit", 5, time.Second, 5, time.Second, false},
		{"negative concurrency", -1, 0, 0, 0, true},
		{"negative wait", 1, -time.Second, 0, 0, true},
	}
	for _, tc := range cases {
		s := base
		s.BcryptConcurrency, s.BcryptWait = tc.concurrency, tc.wait
		svc, err := New(s)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: New succeeded", tc.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := cap(svc.passwords.slots); got != tc.wantSlots || svc.passwords.wait != tc.wantWait {
			t.Errorf("%s: %d slots, wait %v; want %d, %v", tc.name, got, svc.passwords.wait, tc.wantSlots, tc.wantWait)
		}
	}
	if DefaultBcryptConcurrency() < 1 {
		t.Fatalf("DefaultBcryptConcurrency() = %d", DefaultBcryptConcurrency())
	}
}
