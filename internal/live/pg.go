package live

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultChannel is the NOTIFY channel live messages travel on.
const DefaultChannel = "aiplatform_live"

// PGTransport carries live messages over PostgreSQL LISTEN/NOTIFY.
//
// Why PostgreSQL and not Redis pub/sub: whenever the API and the worker
// are separate processes they already share DATABASE_URL (the store is
// PostgreSQL in every multi-process deployment), while REDIS_URL is
// optional; so the live channel needs nothing new to configure or run.
// NOTIFY is fire-and-forget like Redis pub/sub: a listener that is not
// connected misses messages, which suits a best-effort channel. Its limit
// (payloads under 8000 bytes) is met by sending deltas, split by the
// Stream below MaxPayload. All tasks share one channel; each API process
// filters by task id, which at the few messages a second a running stage
// sends is cheaper than LISTEN/UNLISTEN per watched task.
//
// Publishing goes through a small pool; listening holds one dedicated
// connection, opened only in processes that have a subscriber (the API).
type PGTransport struct {
	url     string
	channel string
	pool    *pgxpool.Pool
}

// NewPGTransport prepares a transport on the database at url; channel ""
// is DefaultChannel. It connects lazily.
func NewPGTransport(url, channel string) (*PGTransport, error) {
	if channel == "" {
		channel = DefaultChannel
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("live: parsing DATABASE_URL: %w", err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("live: PostgreSQL pool: %w", err)
	}
	return &PGTransport{url: url, channel: channel, pool: pool}, nil
}

// Send runs NOTIFY through pg_notify (which takes the channel as a value).
func (t *PGTransport) Send(ctx context.Context, payload []byte) error {
	if _, err := t.pool.Exec(ctx, "SELECT pg_notify($1, $2)", t.channel, string(payload)); err != nil {
		return fmt.Errorf("live: NOTIFY: %w", err)
	}
	return nil
}

// Listen holds a connection that LISTENs on the channel and delivers each
// notification until ctx ends or the connection fails.
func (t *PGTransport) Listen(ctx context.Context, deliver func([]byte)) error {
	conn, err := pgx.Connect(ctx, t.url)
	if err != nil {
		return fmt.Errorf("live: connecting to listen: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{t.channel}.Sanitize()); err != nil {
		return fmt.Errorf("live: LISTEN: %w", err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("live: waiting for notifications: %w", err)
		}
		deliver([]byte(n.Payload))
	}
}

// Close releases the publishing pool.
func (t *PGTransport) Close() { t.pool.Close() }
