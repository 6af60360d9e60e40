package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// AppendEvent implements Store.
func (p *Postgres) AppendEvent(ctx context.Context, e Event) (bool, error) {
	return p.appendLog(ctx, e.entry(), func() (pgconn.CommandTag, error) {
		return p.pool.Exec(ctx, insertEvent, e.ID, e.TaskID, e.Type, string(e.Payload), dbTime(e.CreatedAt))
	})
}

const insertEvent = `INSERT INTO task_events (id, task_id, type, payload, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`

// AppendArtifact implements Store.
func (p *Postgres) AppendArtifact(ctx context.Context, a Artifact) (bool, error) {
	return p.appendLog(ctx, a.entry(), func() (pgconn.CommandTag, error) {
		// One statement, hence one transaction: the counter moves only when
		// the artifact row was really inserted.
		return p.pool.Exec(ctx, `WITH ins AS (
			INSERT INTO task_artifacts (id, task_id, type, produced_by, payload, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING
			RETURNING task_id)
		UPDATE tasks SET artifacts_count = artifacts_count + 1, version = version + 1, updated_at = $7
		WHERE id IN (SELECT task_id FROM ins)`,
			a.ID, a.TaskID, a.Type, a.ProducedBy, string(a.Payload), dbTime(a.CreatedAt), p.now())
	})
}

// appendLog appends an event or artifact: it checks and cleans the entry,
// stamps a missing time, and runs insert, which affects one row when the
// entry is new and none when its id exists (or its task does not, which
// requireTask then tells apart).
func (p *Postgres) appendLog(ctx context.Context, l logEntry, insert func() (pgconn.CommandTag, error)) (bool, error) {
	if err := checkNewID(l.what, l.id); err != nil {
		return false, fmt.Errorf("postgres: append %s: %w", l.what, err)
	}
	if err := l.clean(); err != nil {
		return false, fmt.Errorf("postgres: append %s %s: %w", l.what, l.id, err)
	}
	op := "append " + l.what + " " + l.id + " to task " + l.taskID
	if !validID(l.taskID) {
		return false, fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	if l.createdAt.IsZero() {
		*l.createdAt = p.now()
	}
	tag, err := insert()
	if err != nil {
		return false, fail(op, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	return false, p.requireTask(ctx, op, l.taskID)
}

// requireTask returns ErrNotFound unless the task exists. An empty
// result does not tell, nor does an append that inserted nothing: a conflict
// on the id skips the foreign-key check.
func (p *Postgres) requireTask(ctx context.Context, op, taskID string) error {
	ok, err := taskExists(ctx, p.pool, taskID)
	if err != nil {
		return fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	return nil
}

// logSQL is the page query and the total query of one task's events or
// artifacts. The total query also says whether the task exists, since an
// empty page does not.
type logSQL struct {
	list, count         string
	listArgs, countArgs []any
	limit               int
}

// logQuery builds the queries of a list; cols must start with seq.
func logQuery(table, cols, taskID string, o ListOptions) (logSQL, error) {
	var q logSQL
	args := []any{taskID}
	filter := ` WHERE task_id = $1`
	if o.Type != "" {
		args = append(args, CleanText(o.Type)) // as stored
		filter += ` AND type = $2`
	}
	q.count = `SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1), (SELECT count(*) FROM ` + table + filter + `)`
	q.countArgs = args

	desc := o.Order != "asc"
	if o.After != "" {
		after, err := ParseSeqCursor(o.After)
		if err != nil {
			return logSQL{}, err
		}
		args = append(args, after)
		if desc {
			filter += ` AND seq < $` + strconv.Itoa(len(args))
		} else {
			filter += ` AND seq > $` + strconv.Itoa(len(args))
		}
	}
	q.limit = o.Limit
	if q.limit <= 0 {
		q.limit = 200
	}
	args = append(args, q.limit+1)
	order := ` ORDER BY seq ASC`
	if desc {
		order = ` ORDER BY seq DESC`
	}
	q.list = `SELECT ` + cols + ` FROM ` + table + filter + order + ` LIMIT $` + strconv.Itoa(len(args))
	q.listArgs = args
	return q, nil
}

// listLog pages one task's events or artifacts, scanning rows with scan.
func listLog[T any](ctx context.Context, p *Postgres, what, table, cols, taskID string, o ListOptions,
	scan func(pgx.Row) (T, error), seqOf func(T) int64) (Page[T], error) {
	op := "list " + what + " of task " + taskID
	q, err := logQuery(table, cols, taskID, o)
	if err != nil {
		return Page[T]{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if !validID(taskID) {
		return Page[T]{}, fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	var page Page[T]
	var exists bool
	b := &pgx.Batch{}
	b.Queue(q.count, q.countArgs...).QueryRow(func(r pgx.Row) error { return r.Scan(&exists, &page.Total) })
	b.Queue(q.list, q.listArgs...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			it, err := scan(rows)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, it)
		}
		return rows.Err()
	})
	if err := p.pool.SendBatch(ctx, b).Close(); err != nil {
		return Page[T]{}, fail(op, err)
	}
	if !exists {
		return Page[T]{}, fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	if len(page.Items) > q.limit {
		page.Items = page.Items[:q.limit]
		page.Next = SeqCursor(seqOf(page.Items[q.limit-1]))
	}
	return page, nil
}

const (
	eventColumns    = `seq, id, task_id, type, payload, created_at`
	artifactColumns = `seq, id, task_id, type, produced_by, payload, created_at`
)

func scanEvent(row pgx.Row) (Event, error) {
	var e Event
	var payload []byte
	if err := row.Scan(&e.Seq, &e.ID, &e.TaskID, &e.Type, &payload, &e.CreatedAt); err != nil {
		return Event{}, err
	}
	e.Payload, e.CreatedAt = payload, e.CreatedAt.UTC()
	return e, nil
}

func scanArtifact(row pgx.Row) (Artifact, error) {
	var a Artifact
	var payload []byte
	if err := row.Scan(&a.Seq, &a.ID, &a.TaskID, &a.Type, &a.ProducedBy, &payload, &a.CreatedAt); err != nil {
		return Artifact{}, err
	}
	a.Payload, a.CreatedAt = payload, a.CreatedAt.UTC()
	return a, nil
}

// ListEvents implements Store.
func (p *Postgres) ListEvents(ctx context.Context, taskID string, o ListOptions) (Page[Event], error) {
	return listLog(ctx, p, "events", "task_events", eventColumns, taskID, o, scanEvent,
		func(e Event) int64 { return e.Seq })
}

// ListArtifacts implements Store.
func (p *Postgres) ListArtifacts(ctx context.Context, taskID string, o ListOptions) (Page[Artifact], error) {
	return listLog(ctx, p, "artifacts", "task_artifacts", artifactColumns, taskID, o, scanArtifact,
		func(a Artifact) int64 { return a.Seq })
}

// GetArtifact implements Store.
func (p *Postgres) GetArtifact(ctx context.Context, taskID, id string) (Artifact, error) {
	op := "get artifact " + id + " of task " + taskID
	if !validID(taskID) || !validID(id) {
		return Artifact{}, fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	a, err := scanArtifact(p.pool.QueryRow(ctx, `SELECT `+artifactColumns+` FROM task_artifacts
		WHERE task_id = $1 AND id = $2`, taskID, id))
	if err != nil {
		return Artifact{}, fail(op, err)
	}
	return a, nil
}

// LatestArtifact implements Store.
func (p *Postgres) LatestArtifact(ctx context.Context, taskID, typ string) (Artifact, error) {
	typ = CleanText(typ)
	op := "latest " + typ + " artifact of task " + taskID
	if !validID(taskID) {
		return Artifact{}, fmt.Errorf("postgres: %s: %w", op, ErrNotFound)
	}
	a, err := scanArtifact(p.pool.QueryRow(ctx, `SELECT `+artifactColumns+` FROM task_artifacts
		WHERE task_id = $1 AND type = $2 ORDER BY seq DESC LIMIT 1`, taskID, typ))
	if err != nil {
		return Artifact{}, fail(op, err)
	}
	return a, nil
}
