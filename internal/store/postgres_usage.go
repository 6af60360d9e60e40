package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"ai-platform/internal/pricing"
	"ai-platform/internal/task"
)

// AddUsage implements Store. The charge row and the increment commit
// together, so a charge is counted exactly once however often it is retried.
func (p *Postgres) AddUsage(ctx context.Context, c UsageCharge) (bool, error) {
	day := dbDay(c.Day)
	now := p.now()
	var inserted bool
	err := p.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO usage_charges (id, key_hash, usage_date, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO NOTHING`, c.ID, c.OwnerKey, day, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		inserted = true
		_, err = tx.Exec(ctx, `INSERT INTO api_usage_daily (key_hash, usage_date, tokens_in, tokens_out, command_runs, updated_at, cost_usd)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (key_hash, usage_date) DO UPDATE SET
				tokens_in = api_usage_daily.tokens_in + EXCLUDED.tokens_in,
				tokens_out = api_usage_daily.tokens_out + EXCLUDED.tokens_out,
				command_runs = api_usage_daily.command_runs + EXCLUDED.command_runs,
				cost_usd = api_usage_daily.cost_usd + EXCLUDED.cost_usd,
				updated_at = EXCLUDED.updated_at`,
			c.OwnerKey, day, c.TokensIn, c.TokensOut, c.CommandRuns, now, pricing.Round(c.CostUSD))
		return err
	})
	if err != nil {
		return false, fail("add usage "+c.ID, err)
	}
	return inserted, nil
}

// GetUsage implements Store.
func (p *Postgres) GetUsage(ctx context.Context, ownerKey string, day time.Time) (Usage, error) {
	u := Usage{OwnerKey: ownerKey, Day: dbDay(day)}
	err := p.pool.QueryRow(ctx, `SELECT tokens_in, tokens_out, command_runs, cost_usd FROM api_usage_daily
		WHERE key_hash = $1 AND usage_date = $2`, ownerKey, u.Day).Scan(&u.TokensIn, &u.TokensOut, &u.CommandRuns, &u.CostUSD)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Usage{}, fail("get usage", err)
	}
	return u, nil
}

// UsageSince implements Store.
func (p *Postgres) UsageSince(ctx context.Context, day time.Time, limit int) ([]Usage, error) {
	var lim any // NULL: no limit
	if limit > 0 {
		lim = limit
	}
	rows, err := p.pool.Query(ctx, `SELECT key_hash, sum(tokens_in)::bigint, sum(tokens_out)::bigint, sum(command_runs)::bigint,
			sum(cost_usd)
		FROM api_usage_daily WHERE usage_date >= $1
		GROUP BY key_hash ORDER BY sum(tokens_in) + sum(tokens_out) DESC, key_hash LIMIT $2`, dbDay(day), lim)
	if err != nil {
		return nil, fail("usage since", err)
	}
	var out []Usage
	var u Usage
	if _, err := pgx.ForEachRow(rows, []any{&u.OwnerKey, &u.TokensIn, &u.TokensOut, &u.CommandRuns, &u.CostUSD}, func() error {
		out = append(out, u)
		return nil
	}); err != nil {
		return nil, fail("usage since", err)
	}
	return out, nil
}

// UsageDays implements Store.
func (p *Postgres) UsageDays(ctx context.Context, ownerKey string, from, to time.Time) ([]Usage, error) {
	rows, err := p.pool.Query(ctx, `SELECT usage_date, tokens_in, tokens_out, command_runs, cost_usd
		FROM api_usage_daily WHERE key_hash = $1 AND usage_date BETWEEN $2 AND $3
		ORDER BY usage_date DESC`, ownerKey, dbDay(from), dbDay(to))
	if err != nil {
		return nil, fail("usage days", err)
	}
	var out []Usage
	u := Usage{OwnerKey: ownerKey}
	if _, err := pgx.ForEachRow(rows, []any{&u.Day, &u.TokensIn, &u.TokensOut, &u.CommandRuns, &u.CostUSD}, func() error {
		u.Day = dbDay(u.Day)
		out = append(out, u)
		return nil
	}); err != nil {
		return nil, fail("usage days", err)
	}
	return out, nil
}

// Purge implements Store. One call is one short transaction over at most
// batch tasks; usage rows, usage charges and sessions then go in batches of
// the same size, each its own statement, until none is left.
//
// A task is purged only in a terminal status (completed, failed, cancelled)
// and when it finished (completed_at; updated_at for a terminal row without
// one) before cutoff: a task that ran for weeks is kept a full TTL after it
// ended. created_at < cutoff follows from that (a task ends after it is
// created) and lets the scan use tasks_created_idx. FOR UPDATE re-checks the
// condition on a row changed meanwhile (a retried task is no longer
// terminal), so a task is never deleted under a running workflow.
func (p *Postgres) Purge(ctx context.Context, cutoff time.Time, batch int) (PurgeResult, error) {
	cutoff = purgeCutoff(cutoff)
	var r PurgeResult
	var lim any // NULL: no limit
	if batch > 0 {
		lim = batch
	}
	err := p.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM tasks
			WHERE created_at < $1 AND COALESCE(completed_at, updated_at) < $1 AND status = ANY($3::text[])
			ORDER BY created_at, id LIMIT $2 FOR UPDATE`, cutoff, lim, terminalStatuses)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		// The cascade would delete the children too, but explicit deletes
		// tell how many rows went.
		b := &pgx.Batch{}
		count := func(sql string, n *int64) {
			b.Queue(sql, ids).Exec(func(tag pgconn.CommandTag) error { *n = tag.RowsAffected(); return nil })
		}
		var ignored int64
		count(`DELETE FROM task_events WHERE task_id = ANY($1::uuid[])`, &r.Events)
		count(`DELETE FROM task_artifacts WHERE task_id = ANY($1::uuid[])`, &r.Artifacts)
		count(`DELETE FROM task_files WHERE task_id = ANY($1::uuid[])`, &r.Files)
		count(`DELETE FROM task_state WHERE task_id = ANY($1::uuid[])`, &ignored)
		count(`DELETE FROM task_container_snapshots WHERE task_id = ANY($1::uuid[])`, &ignored)
		count(`DELETE FROM tasks WHERE id = ANY($1::uuid[])`, &r.Tasks)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return PurgeResult{}, fail("purge tasks", err)
	}
	cutDay := dbDay(cutoff)
	if r.Usage, err = p.deleteBatched(ctx, `DELETE FROM api_usage_daily WHERE (key_hash, usage_date) IN (
			SELECT key_hash, usage_date FROM api_usage_daily WHERE usage_date < $1 LIMIT $2)`, cutDay, batch); err != nil {
		return r, fail("purge usage", err)
	}
	if _, err = p.deleteBatched(ctx, `DELETE FROM usage_charges WHERE id IN (
			SELECT id FROM usage_charges WHERE usage_date < $1 LIMIT $2)`, cutDay, batch); err != nil {
		return r, fail("purge usage charges", err)
	}
	if r.Sessions, err = p.deleteBatched(ctx, `DELETE FROM auth_refresh_sessions WHERE id IN (
			SELECT id FROM auth_refresh_sessions WHERE expires_at < $1 LIMIT $2)`, cutoff, batch); err != nil {
		return r, fail("purge refresh sessions", err)
	}
	return r, nil
}

// terminalStatuses are the statuses a task can be purged in.
var terminalStatuses = []string{string(task.StatusCompleted), string(task.StatusFailed), string(task.StatusCancelled)}

// deleteBatched runs sql (a DELETE taking $1 = arg and $2 = a LIMIT) until a
// statement deletes fewer than batch rows, so no single statement holds
// locks on more than batch rows; batch <= 0 deletes everything in one.
// It returns how many rows went.
func (p *Postgres) deleteBatched(ctx context.Context, sql string, arg any, batch int) (int64, error) {
	var lim any // NULL: no limit
	if batch > 0 {
		lim = batch
	}
	var total int64
	for {
		tag, err := p.pool.Exec(ctx, sql, arg, lim)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if batch <= 0 || tag.RowsAffected() < int64(batch) {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
