// Package ratelimit counts requests per scope and owner with
// github.com/ulule/limiter: fixed windows (one minute by default) in process
// memory, or in Redis when REDIS_URL is set so that every API process
// shares one count.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	sredis "github.com/ulule/limiter/v3/drivers/store/redis"
)

// DefaultPrefix namespaces the counters in the store.
const DefaultPrefix = "aiplatform:ratelimit"

// Decision is the answer for one request.
type Decision struct {
	// Enabled is false when the scope has no limit (0 = off).
	Enabled bool
	Allowed bool
	Limit   int64
	// Remaining is how many more requests the window allows.
	Remaining int64
	// Reset is when the current window ends, rounded up to the second, so
	// a client that waits until then is never refused for the same window.
	Reset time.Time
}

// Settings configure a Limiter.
type Settings struct {
	// Limits maps a scope to its requests per Period; <= 0 turns it off.
	Limits map[string]int
	// RedisURL selects limiter's Redis store; empty keeps counts in memory.
	RedisURL string
	// Prefix namespaces keys (default DefaultPrefix); tests use their own.
	Prefix string
	// Period is the window length (default one minute).
	Period time.Duration
	// Periods overrides Period for some scopes: the failed-login lockout
	// counts over minutes (AUTH_FAILED_LOGIN_WINDOW_MINUTES), not one.
	Periods map[string]time.Duration
}

// Limiter implements api.RateLimiter.
type Limiter struct {
	scopes  map[string]*limiter.Limiter
	backend string
	close   func() error
}

// New builds the limiter. With a Redis URL it checks the server answers,
// so a wrong URL fails at start instead of silently disabling limits.
func New(ctx context.Context, s Settings) (*Limiter, error) {
	if s.Prefix == "" {
		s.Prefix = DefaultPrefix
	}
	if s.Period <= 0 {
		s.Period = time.Minute
	}
	l := &Limiter{scopes: map[string]*limiter.Limiter{}, backend: "memory", close: func() error { return nil }}
	enabled := false
	for _, n := range s.Limits {
		enabled = enabled || n > 0
	}
	if !enabled {
		return l, nil
	}
	opts := limiter.StoreOptions{Prefix: s.Prefix, CleanUpInterval: limiter.DefaultCleanUpInterval}
	var st limiter.Store
	if s.RedisURL == "" {
		st = memory.NewStoreWithOptions(opts)
	} else {
		ropts, err := redis.ParseURL(s.RedisURL)
		if err != nil {
			return nil, errors.New("ratelimit: REDIS_URL is not a valid redis:// URL")
		}
		client := redis.NewClient(ropts)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = client.Ping(pctx).Err()
		cancel()
		if err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("ratelimit: Redis at REDIS_URL does not answer: %w", err)
		}
		if st, err = sredis.NewStoreWithOptions(client, opts); err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("ratelimit: preparing the Redis store: %w", err)
		}
		l.backend, l.close = "redis", client.Close
	}
	for scope, n := range s.Limits {
		if n > 0 {
			period := s.Period
			if p := s.Periods[scope]; p > 0 {
				period = p
			}
			l.scopes[scope] = limiter.New(st, limiter.Rate{Period: period, Limit: int64(n)})
		}
	}
	return l, nil
}

// Backend is "memory" or "redis".
func (l *Limiter) Backend() string { return l.backend }

// Allow counts one request of key in scope.
func (l *Limiter) Allow(ctx context.Context, scope, key string) (Decision, error) {
	lim, ok := l.scopes[scope]
	if !ok {
		return Decision{}, nil
	}
	c, err := lim.Get(ctx, scope+":"+key)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit %s: %w", scope, err)
	}
	// limiter reports the window end truncated to the second; the real end
	// lies within the following second.
	return Decision{Enabled: true, Allowed: !c.Reached, Limit: c.Limit, Remaining: c.Remaining,
		Reset: time.Unix(c.Reset+1, 0)}, nil
}

// Reset forgets key's count in scope, so its next request starts a fresh
// window (a successful login clears that pair's failures). A scope without
// a limit has nothing to reset.
func (l *Limiter) Reset(ctx context.Context, scope, key string) error {
	lim, ok := l.scopes[scope]
	if !ok {
		return nil
	}
	if _, err := lim.Reset(ctx, scope+":"+key); err != nil {
		return fmt.Errorf("ratelimit %s: reset: %w", scope, err)
	}
	return nil
}

// Close releases the Redis connection, if any.
func (l *Limiter) Close() error { return l.close() }
