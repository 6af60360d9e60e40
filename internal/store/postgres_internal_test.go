package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

func TestClassify(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "m"}) }
	cases := []struct {
		name string
		err  error
		want error // nil: none of the store's sentinels
	}{
		{"no rows", fmt.Errorf("scan: %w", pgx.ErrNoRows), ErrNotFound},
		{"unique violation", pg("23505"), ErrConflict},
		{"foreign key violation", pg("23503"), ErrNotFound},
		{"admin shutdown", pg("57P01"), ErrUnavailable},
		{"cannot connect now", pg("57P03"), ErrUnavailable},
		{"too many connections", pg("53300"), ErrUnavailable},
		{"connection failure", pg("08006"), ErrUnavailable},
		{"read-only standby", pg("25006"), ErrUnavailable},
		{"syntax error", pg("42601"), nil},
		{"check violation", pg("23514"), nil},
		{"closed pool", fmt.Errorf("acquire: %w", puddle.ErrClosedPool), ErrUnavailable},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, ErrUnavailable},
		{"eof", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), ErrUnavailable},
		{"conn closed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), ErrUnavailable},
		{"deadline", fmt.Errorf("acquire: %w", context.DeadlineExceeded), ErrUnavailable},
		{"cancelled by the caller", fmt.Errorf("acquire: %w", context.Canceled), nil},
		{"already classified", fmt.Errorf("x: %w", ErrConflict), ErrConflict},
		{"other", errors.New("boom"), nil},
	}
	sentinels := []error{ErrNotFound, ErrConflict, ErrUnavailable}
	for _, c := range cases {
		got := classify(c.err)
		for _, s := range sentinels {
			if errors.Is(got, s) != (s == c.want) {
				t.Errorf("%s: classify = %v; errors.Is(%v) = %v", c.name, got, s, errors.Is(got, s))
			}
		}
		// The driver's error stays inspectable for logs and callers.
		if c.want != ErrNotFound && !errors.Is(got, c.err) && !errors.Is(c.err, got) {
			t.Errorf("%s: original error lost from %v", c.name, got)
		}
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
}

func TestRedactPasswords(t *testing.T) {
	cases := []struct{ conn, secret string }{
		{"postgres://u:hunter2@h/db", "hunter2"},
		{"postgresql://u:p%40ss%2Fword@h/db", "p@ss/word"},
		{"host=h password=hunter2 user=u", "hunter2"},
		{"host=h password='hunter 2' user=u", "hunter 2"},
		{"host=h sslpassword=keypass", "keypass"},
		{"postgres://u@h/db?password=hunter2&sslmode=x", "hunter2"},
	}
	for _, c := range cases {
		msg := fmt.Sprintf("cannot parse %s: decoded password %s", c.conn, c.secret)
		got := redactPasswords(msg, c.conn)
		if strings.Contains(got, c.secret) {
			t.Errorf("%s: %q still holds the password", c.conn, got)
		}
	}
	if got := redactPasswords("plain message", "postgres://u@h/db"); got != "plain message" {
		t.Errorf("message without a password changed: %q", got)
	}
}
