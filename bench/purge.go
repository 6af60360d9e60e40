package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"ai-platform/internal/store"
)

// Per expired task the seed writes what a small finished task leaves
// behind: events, artifacts, files (1 KiB each), its state and snapshot.
const (
	seedEvents    = 10
	seedArtifacts = 2
	seedFiles     = 4
	purgeBatch    = 500 // what the daily cleanup workflow uses
)

// seedExpired inserts n tasks created 60 days ago with their children, in
// a few set-based statements, then refreshes the planner's statistics as
// autovacuum would have on a live database.
func seedExpired(ctx context.Context, pool *pgxpool.Pool, n int) error {
	stmts := []string{
		`INSERT INTO tasks (id, description, status, owner_key_hash, created_at, updated_at, completed_at)
		 SELECT gen_random_uuid(), 'expired ' || g, 'completed', 'bench', now() - interval '60 days' + g * interval '1 ms',
		        now() - interval '60 days', now() - interval '60 days'
		 FROM generate_series(1, $1) g`,
		fmt.Sprintf(`INSERT INTO task_events (id, task_id, type, payload, created_at)
		 SELECT gen_random_uuid(), t.id, 'StageStarted', '{"stage": "design", "progress": 0.4}', t.created_at
		 FROM tasks t, generate_series(1, %d) WHERE t.owner_key_hash = 'bench'`, seedEvents),
		fmt.Sprintf(`INSERT INTO task_artifacts (id, task_id, type, produced_by, payload, created_at)
		 SELECT gen_random_uuid(), t.id, 'review_report', 'reviewer', '{"passed": true, "issues": []}', t.created_at
		 FROM tasks t, generate_series(1, %d) WHERE t.owner_key_hash = 'bench'`, seedArtifacts),
		fmt.Sprintf(`INSERT INTO task_files (task_id, path, content, mime_type, sha256, size_bytes, updated_at)
		 SELECT t.id, 'src/file' || g || '.py', convert_to(repeat('x', 1024), 'UTF8'), 'text/x-python', md5(t.id::text || g), 1024, t.created_at
		 FROM tasks t, generate_series(1, %d) g WHERE t.owner_key_hash = 'bench'`, seedFiles),
		`INSERT INTO task_state (task_id, state, updated_at)
		 SELECT t.id, '{"status": "completed"}', t.created_at FROM tasks t WHERE t.owner_key_hash = 'bench'`,
		`INSERT INTO task_container_snapshots (task_id, snapshot, updated_at)
		 SELECT t.id, '{"state": "completed", "files": []}', t.created_at FROM tasks t WHERE t.owner_key_hash = 'bench'`,
		`ANALYZE tasks, task_events, task_artifacts, task_files, task_state, task_container_snapshots`,
	}
	for i, s := range stmts {
		var err error
		if i == 0 {
			_, err = pool.Exec(ctx, s, n)
		} else {
			_, err = pool.Exec(ctx, s)
		}
		if err != nil {
			return fmt.Errorf("seeding expired tasks (statement %d): %w", i+1, err)
		}
	}
	return nil
}

// purgeFigures times Store.Purge in batches (what the cleanup workflow
// does) against one raw cascading DELETE, each on a fresh seed.
func (b *bench) purgeFigures(ctx context.Context, st *store.Postgres, pool *pgxpool.Pool) ([]Figure, error) {
	n := b.opts.purgeTasks
	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	var times, rawTimes, rates []float64
	var last store.PurgeResult
	for range b.opts.purgeRuns {
		if err := seedExpired(ctx, pool, n); err != nil {
			return nil, err
		}
		start := time.Now()
		var total store.PurgeResult
		for {
			r, err := st.Purge(ctx, cutoff, purgeBatch)
			if err != nil {
				return nil, fmt.Errorf("purge: %w", err)
			}
			total.Tasks += r.Tasks
			total.Events += r.Events
			total.Artifacts += r.Artifacts
			total.Files += r.Files
			if r.Tasks == 0 {
				break
			}
		}
		d := time.Since(start)
		if total.Tasks != int64(n) {
			return nil, fmt.Errorf("purge removed %d tasks, want %d", total.Tasks, n)
		}
		last = total
		times = append(times, d.Seconds())
		rates = append(rates, float64(rowsOf(total))/d.Seconds())

		if err := seedExpired(ctx, pool, n); err != nil {
			return nil, err
		}
		start = time.Now()
		tag, err := pool.Exec(ctx, `DELETE FROM tasks WHERE created_at < $1`, cutoff)
		if err != nil {
			return nil, fmt.Errorf("raw delete: %w", err)
		}
		if tag.RowsAffected() != int64(n) {
			return nil, fmt.Errorf("raw delete removed %d tasks, want %d", tag.RowsAffected(), n)
		}
		rawTimes = append(rawTimes, time.Since(start).Seconds())
	}
	rows := rowsOf(last)
	note := fmt.Sprintf("%d rows per purge: %d tasks, %d events, %d artifacts, %d files, plus %d state and %d snapshot rows",
		rows, last.Tasks, last.Events, last.Artifacts, last.Files, last.Tasks, last.Tasks)
	base := summarize(rawTimes)
	rawRates := make([]float64, len(rawTimes))
	for i, t := range rawTimes {
		rawRates[i] = float64(rows) / t
	}
	return []Figure{
		Figure{Suite: "7 store", Name: fmt.Sprintf("purge of %d expired tasks, batches of %d", n, purgeBatch), Store: storePostgres,
			Unit: "s", Value: summarize(times), Note: note}.withBase("one raw cascading DELETE", base),
		Figure{Suite: "7 store", Name: "purge throughput", Store: storePostgres, Unit: "rows/s", Value: summarize(rates)}.
			withBase("one raw cascading DELETE", summarize(rawRates)),
	}, nil
}

// rowsOf counts every row a purge removed; state and snapshot rows are one
// per task.
func rowsOf(r store.PurgeResult) int64 {
	return r.Tasks*3 + r.Events + r.Artifacts + r.Files
}
