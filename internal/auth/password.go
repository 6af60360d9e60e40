// Package auth holds user accounts for AUTH_MODE auth/hybrid: bcrypt password
// hashes, HS256 access tokens, and rotating refresh tokens stored only as
// HMAC hashes, with reuse detection that revokes a whole session family.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password rules. bcrypt reads at most 72 bytes; longer passwords are
// refused instead of being silently truncated.
const (
	DefaultCost      = 12
	MinPasswordChars = 8
	MaxPasswordBytes = 72
	maxEmailBytes    = 254
)

// InputError is a request the caller must fix; Message is safe to show.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return e.Message }

// ValidatePassword checks a new password against the rules above.
func ValidatePassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordChars {
		return &InputError{Field: "password", Message: fmt.Sprintf("Password must be at least %d characters", MinPasswordChars)}
	}
	if len(pw) > MaxPasswordBytes {
		return &InputError{Field: "password", Message: fmt.Sprintf(
			"Password is %d bytes; the limit is %d bytes (bcrypt ignores anything longer), so choose a shorter one",
			len(pw), MaxPasswordBytes)}
	}
	return nil
}

// NormalizeEmail trims and lower-cases an address and checks it looks like
// one: a bare local@domain.tld, no display name, no spaces.
func NormalizeEmail(raw string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(raw))
	bad := &InputError{Field: "email", Message: "A valid email address is required"}
	if e == "" || len(e) > maxEmailBytes || strings.ContainsAny(e, " \t\r\n<>\"(),;:\\[]") {
		return "", bad
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" {
		return "", bad
	}
	at := strings.LastIndexByte(e, '@')
	local, domain := e[:at], e[at+1:]
	if local == "" || strings.Count(e, "@") != 1 || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", bad
	}
	return e, nil
}

// DefaultBcryptWait bounds how long a password operation waits for a free
// bcrypt slot before it gives up with ErrBusy. A cost-12 hash takes about a
// quarter of a second of one core, so two seconds lets a short burst queue
// behind a full set of slots, while a flood is turned away within a bounded
// time instead of piling up goroutines that each hold a request open.
const DefaultBcryptWait = 2 * time.Second

// ErrBusy means every bcrypt slot stayed taken for the whole wait: the
// server is saturated with password checks (a login flood, most likely).
// The HTTP layer answers 503 with a short Retry-After.
var ErrBusy = errors.New("too many password checks in progress")

// DefaultBcryptConcurrency is how many bcrypt operations run at once when
// AUTH_BCRYPT_CONCURRENCY is 0: half the CPUs the process may use, at least
// one. bcrypt is pure CPU. With a slot per core a flood still keeps every
// core busy and other requests wait for the scheduler to preempt a hash
// (BenchmarkHealthDuringLoginFlood on 2 CPUs: /health p99 92 ms); with
// half the cores the rest of the API finds an idle one (p99 10 ms, against
// 880 ms unbounded).
func DefaultBcryptConcurrency() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// passwords hashes and verifies passwords at one cost, at most len(slots)
// at a time.
type passwords struct {
	cost  int
	slots chan struct{}
	wait  time.Duration
	// generate and compare are bcrypt's; tests swap in slow stubs to watch
	// the bound.
	generate func(pw []byte, cost int) ([]byte, error)
	compare  func(hash, pw []byte) error
	dummy    func() []byte
}

// newPasswords builds the hasher; 0 picks DefaultCost,
// DefaultBcryptConcurrency() and DefaultBcryptWait.
func newPasswords(cost, concurrency int, wait time.Duration) *passwords {
	if cost == 0 {
		cost = DefaultCost
	}
	if concurrency <= 0 {
		concurrency = DefaultBcryptConcurrency()
	}
	if wait <= 0 {
		wait = DefaultBcryptWait
	}
	p := &passwords{cost: cost, slots: make(chan struct{}, concurrency), wait: wait,
		generate: bcrypt.GenerateFromPassword, compare: bcrypt.CompareHashAndPassword}
	// The dummy hash makes a login for an unknown email cost one bcrypt
	// comparison, like a known one, so timing does not reveal existence.
	// It is made on first use, inside a slot like any other hash.
	p.dummy = sync.OnceValue(func() []byte {
		h, err := p.generate([]byte("dummy password for unknown users"), cost)
		if err != nil {
			panic(fmt.Sprintf("auth: bcrypt dummy hash: %v", err)) // only on an invalid cost, a programming error
		}
		return h
	})
	return p
}

// acquire takes a bcrypt slot, waiting at most p.wait; the caller must call
// release. Waiting is bounded so that a flood is refused quickly (ErrBusy)
// rather than queued without end, and ends early when the request does.
func (p *passwords) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return fmt.Errorf("waiting for a password check slot: %w", ctx.Err())
	}
}

func (p *passwords) release() { <-p.slots }

func (p *passwords) hash(ctx context.Context, pw string) (string, error) {
	if err := ValidatePassword(pw); err != nil {
		return "", err
	}
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	h, err := p.generate([]byte(pw), p.cost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	return string(h), nil
}

// verify compares pw with hash; an empty hash (unknown user) is compared
// against the dummy hash and never matches. The error is ErrBusy or the
// request's end while waiting for a slot.
func (p *passwords) verify(ctx context.Context, hash, pw string) (bool, error) {
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer p.release()
	if hash == "" || len(pw) > MaxPasswordBytes {
		_ = p.compare(p.dummy(), []byte(pw[:min(len(pw), MaxPasswordBytes)]))
		return false, nil
	}
	return p.compare([]byte(hash), []byte(pw)) == nil, nil
}
