// Package migrations holds the numbered SQL migrations of the PostgreSQL store
// and the runner that applies them, used by `aiplatform migrate` and at start.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
)

//go:embed *.sql
var files embed.FS

// lockClass is the first key of the advisory lock taken while migrating; the
// second is derived from the schema, so runs in different schemas (as the
// tests do) do not wait for each other.
const lockClass = 0x61697066 // "aipf"

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Beginner is what Apply needs: *pgxpool.Pool and *pgx.Conn both satisfy it.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

var fileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// All returns every embedded migration in version order. It fails if a file
// name is malformed or two files share a version.
func All() ([]Migration, error) {
	return parse(files)
}

func parse(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: listing: %w", err)
	}
	var out []Migration
	for _, name := range names {
		m := fileName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migrations: %s: name must look like 0001_some_name.sql", name)
		}
		v, _ := strconv.Atoi(m[1])
		if v == 0 {
			return nil, fmt.Errorf("migrations: %s: versions start at 0001", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migrations: reading %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(body)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations: version %04d used twice", out[i].Version)
		}
	}
	return out, nil
}

// Apply brings the schema of db's search_path up to date and returns the
// versions it applied (none when already current). Each migration runs in its
// own transaction holding a transaction-level advisory lock, so concurrent
// callers serialise and every migration is applied exactly once.
func Apply(ctx context.Context, db Beginner) ([]int, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	return apply(ctx, db, all)
}

func apply(ctx context.Context, db Beginner, all []Migration) ([]int, error) {
	var applied []int
	for _, m := range all {
		done, err := applyOne(ctx, db, m)
		if err != nil {
			return applied, fmt.Errorf("migrations: %04d_%s: %w", m.Version, m.Name, err)
		}
		if done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

// applyOne applies m unless schema_migrations already lists it.
func applyOne(ctx context.Context, db Beginner, m Migration) (bool, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(ctx) }()

	// The lock comes before CREATE TABLE IF NOT EXISTS: that statement is not
	// safe against itself when two sessions run it at the same moment.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, lockClass); err != nil {
		return false, fmt.Errorf("taking migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return false, fmt.Errorf("creating schema_migrations: %w", err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&exists); err != nil {
		return false, fmt.Errorf("reading schema_migrations: %w", err)
	}
	if exists {
		return false, nil
	}
	// Exec without arguments uses the simple protocol, which accepts a file
	// of several statements.
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
		return false, fmt.Errorf("recording: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("committing: %w", err)
	}
	return true, nil
}
