// Package pgtest gives tests a private PostgreSQL schema: each call creates
// aip_test_<random>, returns a connection string whose search_path points at
// it, and drops it when the test ends, so concurrent runs never collide.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is used when TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// BaseURL is TEST_DATABASE_URL or DefaultURL.
func BaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Schema creates a fresh schema and returns a connection string for it. When
// PostgreSQL cannot be reached the test is skipped, or failed when CI=true,
// because CI must never pass by silently skipping the database tests.
func Schema(tb testing.TB) string {
	tb.Helper()
	base := BaseURL()
	if err := reachable(base); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL unreachable at TEST_DATABASE_URL (or %s) and CI=true: %v", DefaultURL, err)
		}
		tb.Skipf("PostgreSQL unreachable (set TEST_DATABASE_URL; default %s): %v", DefaultURL, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "aip_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		tb.Fatalf("creating schema %s: %v", name, err)
	}
	tb.Cleanup(func() { drop(tb, base, name) })
	return WithParam(tb, base, "search_path", name)
}

// probes remembers, per URL, whether the database answered, so that a
// missing database costs one connect timeout per test binary, not one per test.
var probes sync.Map // url -> func() error

func reachable(url string) error {
	probe, _ := probes.LoadOrStore(url, sync.OnceValue(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		return conn.Close(context.Background())
	}))
	return probe.(func() error)()
}

func drop(tb testing.TB, base, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Errorf("dropping schema %s: %v", name, err)
		return
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
		tb.Errorf("dropping schema %s: %v", name, err)
	}
}

// WithParam returns conn with one parameter set, in URL or key=value form.
func WithParam(tb testing.TB, conn, key, value string) string {
	tb.Helper()
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			tb.Fatalf("TEST_DATABASE_URL is not a valid URL: %v", err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return conn + " " + key + "=" + value
}
