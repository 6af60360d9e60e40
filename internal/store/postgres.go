package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"ai-platform/migrations"
)

// Postgres is the Store on PostgreSQL, through a pgx connection pool. Its
// tables are created by the migrations package in the first schema of the
// connection's search_path.
type Postgres struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// PostgresOption adjusts OpenPostgres.
type PostgresOption func(*pgOptions)

type pgOptions struct {
	migrate        bool
	connectTimeout time.Duration
	maxConns       int32
}

// WithoutMigrations makes OpenPostgres leave the schema alone, for processes
// that run against a schema `aiplatform migrate` maintains.
func WithoutMigrations() PostgresOption { return func(o *pgOptions) { o.migrate = false } }

// WithConnectTimeout bounds how long OpenPostgres waits for the database (default 10s).
func WithConnectTimeout(d time.Duration) PostgresOption {
	return func(o *pgOptions) { o.connectTimeout = d }
}

// WithMaxConns sets the pool size; by default pool_max_conns in the URL or pgxpool's default.
func WithMaxConns(n int32) PostgresOption { return func(o *pgOptions) { o.maxConns = n } }

// OpenPostgres connects to the database at url, checks it answers and, unless
// WithoutMigrations is given, brings its schema up to date. An unreachable
// database gives an error wrapping ErrUnavailable.
func OpenPostgres(ctx context.Context, url string, opts ...PostgresOption) (*Postgres, error) {
	o := pgOptions{migrate: true, connectTimeout: 10 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parser's message may quote the URL; never let a password
		// reach a log line.
		return nil, fmt.Errorf("postgres: invalid database URL: %s", redactPasswords(err.Error(), url))
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 || cfg.ConnConfig.ConnectTimeout > o.connectTimeout {
		cfg.ConnConfig.ConnectTimeout = o.connectTimeout
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: opening pool for %s: %s", where, redactPasswords(err.Error(), url))
	}
	p := &Postgres{pool: pool, now: func() time.Time { return dbTime(time.Now()) }}
	pingCtx, cancel := context.WithTimeout(ctx, o.connectTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connecting to %s: %w", where, classify(err))
	}
	if o.migrate {
		if _, err := migrations.Apply(ctx, pool); err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: %w", classify(err))
		}
	}
	return p, nil
}

var (
	kvPassword  = regexp.MustCompile(`(?i)\b(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)`)
	urlUserinfo = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@]*:([^@]*)@`)
)

// redactPasswords removes from msg every password written in conn, in the
// spellings (raw, percent-decoded) a parser's message might echo.
func redactPasswords(msg, conn string) string {
	var secrets []string
	if m := urlUserinfo.FindStringSubmatch(conn); m != nil {
		secrets = append(secrets, m[1])
	}
	for _, m := range kvPassword.FindAllStringSubmatch(conn, -1) {
		secrets = append(secrets, m[1], strings.Trim(m[1], "'"))
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, s, "xxxxx")
		if d, err := url.PathUnescape(s); err == nil && d != "" {
			msg = strings.ReplaceAll(msg, d, "xxxxx")
		}
	}
	return msg
}

// classify maps driver errors to the store's: no rows and foreign-key
// violations (the parent row is missing) to ErrNotFound, unique violations to
// ErrConflict, and everything that says the database cannot be reached right
// now to ErrUnavailable. The driver error stays in the chain for the log.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case pgErr.Code == "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case strings.HasPrefix(pgErr.Code, "08"), // connection_exception
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutdown, cannot connect now
			pgErr.Code == "53300", // too_many_connections
			pgErr.Code == "25006": // read_only_sql_transaction: a standby after failover
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	// The caller gave up; that is not the database's fault.
	if errors.Is(err, context.Canceled) {
		return err
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, puddle.ErrClosedPool) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// fail wraps err with the operation that hit it, classified.
func fail(op string, err error) error {
	return fmt.Errorf("postgres: %s: %w", op, classify(err))
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (p *Postgres) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, p.pool, fn)
}

// taskExists tells a missing task from an empty child list.
func taskExists(ctx context.Context, q querier, id string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1)`, id).Scan(&ok)
	return ok, err
}

// querier is what pool and transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// jsonArg passes a JSON document to a jsonb parameter; nil is SQL NULL.
func jsonArg(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Ping implements Store.
func (p *Postgres) Ping(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return fail("ping", err)
	}
	return nil
}

// Close implements Store; later calls fail with ErrUnavailable.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

var _ Store = (*Postgres)(nil)
