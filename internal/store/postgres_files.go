package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PutState implements Store.
func (p *Postgres) PutState(ctx context.Context, taskID string, state json.RawMessage) error {
	return p.putDoc(ctx, "state", upsertState, taskID, state)
}

const upsertState = `INSERT INTO task_state (task_id, state, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (task_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`

// GetState implements Store.
func (p *Postgres) GetState(ctx context.Context, taskID string) (json.RawMessage, time.Time, error) {
	op := "get state of task " + taskID
	if !validID(taskID) {
		return nil, time.Time{}, fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	var state []byte
	var at time.Time
	err := p.pool.QueryRow(ctx, `SELECT state, updated_at FROM task_state WHERE task_id = $1`, taskID).Scan(&state, &at)
	if err != nil {
		return nil, time.Time{}, fail(op, err)
	}
	return state, at.UTC(), nil
}

// PutSnapshot implements Store.
func (p *Postgres) PutSnapshot(ctx context.Context, taskID string, snap json.RawMessage) error {
	return p.putDoc(ctx, "snapshot", `INSERT INTO task_container_snapshots (task_id, snapshot, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (task_id) DO UPDATE SET snapshot = EXCLUDED.snapshot, updated_at = EXCLUDED.updated_at`, taskID, snap)
}

// GetSnapshot implements Store.
func (p *Postgres) GetSnapshot(ctx context.Context, taskID string) (json.RawMessage, error) {
	op := "get snapshot of task " + taskID
	if !validID(taskID) {
		return nil, fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	var snap []byte
	if err := p.pool.QueryRow(ctx, `SELECT snapshot FROM task_container_snapshots WHERE task_id = $1`, taskID).Scan(&snap); err != nil {
		return nil, fail(op, err)
	}
	return snap, nil
}

// putDoc upserts the one JSON document a task keeps of a kind; a missing
// task shows up as a foreign-key violation, i.e. ErrNotFound.
func (p *Postgres) putDoc(ctx context.Context, what, sql, taskID string, doc json.RawMessage) error {
	op := "put " + what + " of task " + taskID
	if err := checkJSON("task "+what, doc); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if !validID(taskID) {
		return fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	if _, err := p.pool.Exec(ctx, sql, taskID, string(cleanJSON(doc)), p.now()); err != nil {
		return fail(op, err)
	}
	return nil
}

// PutFiles implements Store. The task row is locked first, so concurrent
// calls on one task run one after the other and each checks the limits
// against totals no one else is changing.
func (p *Postgres) PutFiles(ctx context.Context, taskID string, files []File, remove []string, lim FileLimits) error {
	op := "put files of task " + taskID
	if !validID(taskID) {
		return fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	files, remove = cleanFiles(files, remove)
	// The last file of a path wins, as if the files were put one by one;
	// one INSERT cannot touch the same row twice anyway.
	var put []File
	at := map[string]int{}
	for _, f := range files {
		f.Size = int64(len(f.Content))
		if f.SHA256 == "" {
			f.SHA256 = SHA256Hex(f.Content)
		}
		if f.Content == nil {
			f.Content = []byte{}
		}
		if i, ok := at[f.Path]; ok {
			put[i] = f
			continue
		}
		at[f.Path] = len(put)
		put = append(put, f)
	}
	touched := append([]string{}, remove...)
	for _, f := range put {
		touched = append(touched, f.Path)
	}

	var limitErr error
	err := p.inTx(ctx, func(tx pgx.Tx) error {
		var count int
		var total int64
		err := tx.QueryRow(ctx, `SELECT files_count, files_bytes FROM tasks WHERE id = $1 FOR NO KEY UPDATE`, taskID).Scan(&count, &total)
		if err != nil {
			return err
		}
		sizes := map[string]int64{}
		rows, err := tx.Query(ctx, `SELECT path, size_bytes FROM task_files WHERE task_id = $1 AND path = ANY($2)`, taskID, touched)
		if err != nil {
			return err
		}
		var path string
		var size int64
		if _, err := pgx.ForEachRow(rows, []any{&path, &size}, func() error { sizes[path] = size; return nil }); err != nil {
			return err
		}
		for _, r := range remove {
			if s, ok := sizes[r]; ok {
				count--
				total -= s
				delete(sizes, r)
			}
		}
		for _, f := range put {
			if s, ok := sizes[f.Path]; ok {
				total -= s
			} else {
				count++
			}
			total += f.Size
			sizes[f.Path] = f.Size
		}
		if limitErr = checkLimits(count, total, lim); limitErr != nil {
			return limitErr
		}
		return writeFiles(ctx, tx, taskID, put, remove, count, total, p.now())
	})
	if limitErr != nil {
		return limitErr
	}
	if err != nil {
		return fail(op, err)
	}
	return nil
}

// writeFiles applies a checked PutFiles inside its transaction.
func writeFiles(ctx context.Context, tx pgx.Tx, taskID string, put []File, remove []string, count int, total int64, now time.Time) error {
	if len(remove) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM task_files WHERE task_id = $1 AND path = ANY($2)`, taskID, remove); err != nil {
			return err
		}
	}
	if len(put) > 0 {
		n := len(put)
		paths, contents, mimes, sums, sizes := make([]string, n), make([][]byte, n), make([]string, n), make([]string, n), make([]int64, n)
		for i, f := range put {
			paths[i], contents[i], mimes[i], sums[i], sizes[i] = f.Path, f.Content, f.MimeType, f.SHA256, f.Size
		}
		_, err := tx.Exec(ctx, `INSERT INTO task_files (task_id, path, content, mime_type, sha256, size_bytes, updated_at)
			SELECT $1, f.path, f.content, f.mime_type, f.sha256, f.size_bytes, $7
			FROM unnest($2::text[], $3::bytea[], $4::text[], $5::text[], $6::bigint[]) AS f(path, content, mime_type, sha256, size_bytes)
			ON CONFLICT (task_id, path) DO UPDATE SET content = EXCLUDED.content, mime_type = EXCLUDED.mime_type,
				sha256 = EXCLUDED.sha256, size_bytes = EXCLUDED.size_bytes, updated_at = EXCLUDED.updated_at`,
			taskID, paths, contents, mimes, sums, sizes, now)
		if err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `UPDATE tasks SET files_count = $2, files_bytes = $3, version = version + 1, updated_at = $4
		WHERE id = $1`, taskID, count, total, now)
	return err
}

const fileMetaColumns = `path, mime_type, sha256, size_bytes, updated_at`

// ListFiles implements Store.
func (p *Postgres) ListFiles(ctx context.Context, taskID string) ([]File, error) {
	return p.files(ctx, "list files of task "+taskID, taskID, false)
}

// GetFiles implements Store.
func (p *Postgres) GetFiles(ctx context.Context, taskID string) ([]File, error) {
	return p.files(ctx, "get files of task "+taskID, taskID, true)
}

func (p *Postgres) files(ctx context.Context, op, taskID string, content bool) ([]File, error) {
	if !validID(taskID) {
		return nil, fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	cols := fileMetaColumns
	if content {
		cols += `, content`
	}
	rows, err := p.pool.Query(ctx, `SELECT `+cols+` FROM task_files WHERE task_id = $1 ORDER BY path`, taskID)
	if err != nil {
		return nil, fail(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (File, error) {
		var f File
		dst := []any{&f.Path, &f.MimeType, &f.SHA256, &f.Size, &f.UpdatedAt}
		if content {
			dst = append(dst, &f.Content)
		}
		err := r.Scan(dst...)
		f.UpdatedAt = f.UpdatedAt.UTC()
		return f, err
	})
	if err != nil {
		return nil, fail(op, err)
	}
	if len(out) == 0 {
		if err := p.requireTask(ctx, op, taskID); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = []File{}
	}
	return out, nil
}

// GetFile implements Store.
func (p *Postgres) GetFile(ctx context.Context, taskID, path string) (File, error) {
	op := fmt.Sprintf("get file %q of task %s", path, taskID)
	if !validID(taskID) {
		return File{}, fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	path = CleanText(path) // as stored
	var f File
	err := p.pool.QueryRow(ctx, `SELECT `+fileMetaColumns+`, content FROM task_files WHERE task_id = $1 AND path = $2`,
		taskID, path).Scan(&f.Path, &f.MimeType, &f.SHA256, &f.Size, &f.UpdatedAt, &f.Content)
	if errors.Is(err, pgx.ErrNoRows) {
		return File{}, fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	if err != nil {
		return File{}, fail(op, err)
	}
	f.UpdatedAt = f.UpdatedAt.UTC()
	return f, nil
}
