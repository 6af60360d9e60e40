// Package redistest gives tests a Redis URL and a private key prefix that is
// cleaned up afterwards. Without a reachable Redis the test is skipped, or
// failed when CI=true.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is used when TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/0"

// URL returns TEST_REDIS_URL or DefaultURL, skipping the test when Redis
// does not answer.
func URL(tb testing.TB) string {
	tb.Helper()
	u := DefaultURL
	if v := os.Getenv("TEST_REDIS_URL"); v != "" {
		u = v
	}
	if err := reachable(u); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("Redis unreachable at TEST_REDIS_URL (or %s) and CI=true: %v", DefaultURL, err)
		}
		tb.Skipf("Redis unreachable (set TEST_REDIS_URL; default %s): %v", DefaultURL, err)
	}
	return u
}

// Prefix returns a fresh key prefix and deletes its keys when the test ends.
func Prefix(tb testing.TB, url string) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "aip_test_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return
		}
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, err := c.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return prefix
}

var probes sync.Map // url -> func() error

func reachable(url string) error {
	probe, _ := probes.LoadOrStore(url, sync.OnceValue(func() error {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return err
		}
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		return c.Ping(ctx).Err()
	}))
	return probe.(func() error)()
}
