package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// Suite 7: the store on its own. Appends (16 callers, as the append rate in
// docs/PERFORMANCE.md was first measured, and one caller for latency), task
// reads, and on PostgreSQL the purge of expired tasks. Baselines are the raw operation one layer down: the same
// SQL through pgx, or for the memory store the durable write of one small
// file (write, fsync, rename) that its JSON persistence rests on.
const appendCallers = 16

// eventPayload is a typical event body.
var eventPayload = []byte(`{"stage": "implementation", "step": 3, "message": "ran pytest: 12 passed"}`)

func (b *bench) suiteStore(ctx context.Context, kind string) ([]Figure, error) {
	st, raw, closeAll, err := b.openStore(ctx, kind)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	const suite = "7 store"
	o := b.opts
	rows := o.appendRows
	if kind == storeMemory {
		// Every memory append rewrites and fsyncs its task's JSON file:
		// 10,000 rows would take minutes, and the rate does not depend on it.
		rows = min(rows, 2000)
	}
	tasks := make([]string, 100)
	for i := range tasks {
		t, err := st.CreateTask(ctx, store.Task{ID: uuid.NewString(), Description: "bench", Status: task.StatusProcessing})
		if err != nil {
			return nil, fmt.Errorf("creating tasks: %w", err)
		}
		tasks[i] = t.ID
	}
	// Each task gets a run of consecutive events, as a task's life does.
	appendEvent := func(ctx context.Context, i int) error {
		ok, err := st.AppendEvent(ctx, store.Event{ID: uuid.NewString(), TaskID: tasks[i*len(tasks)/rows],
			Type: "command_finished", Payload: eventPayload})
		if err == nil && !ok {
			err = fmt.Errorf("event not inserted")
		}
		return err
	}
	var figs []Figure
	// Platform and baseline alternate (run by run, call by call) so that
	// both see the same load on a shared machine.
	rates := func(name string, n, conc, runs int, fn, base func(context.Context, int) error) (Summary, Summary, error) {
		var v, bv []float64
		for range runs {
			for _, side := range []struct {
				fn  func(context.Context, int) error
				out *[]float64
			}{{fn, &v}, {base, &bv}} {
				start := time.Now()
				if err := forEach(ctx, n, conc, side.fn); err != nil {
					return Summary{}, Summary{}, fmt.Errorf("%s: %w", name, err)
				}
				*side.out = append(*side.out, float64(n)/time.Since(start).Seconds())
			}
		}
		return summarize(v), summarize(bv), nil
	}
	lats := func(n int, fn, base func(context.Context, int) error) (Summary, Summary, error) {
		var v, bv []time.Duration
		for i := range n {
			t0 := time.Now()
			if err := fn(ctx, i); err != nil {
				return Summary{}, Summary{}, err
			}
			t1 := time.Now()
			if err := base(ctx, i); err != nil {
				return Summary{}, Summary{}, err
			}
			v, bv = append(v, t1.Sub(t0)), append(bv, time.Since(t1))
		}
		return summarize(micros(v)), summarize(micros(bv)), nil
	}
	v, bv, err := rates("append", rows, appendCallers, o.appendRuns, appendEvent, raw.appendOne)
	if err != nil {
		return nil, err
	}
	figs = append(figs, Figure{Suite: suite, Name: fmt.Sprintf("event append, %d callers, runs of %d", appendCallers, rows),
		Store: kind, Unit: "rows/s", Value: v}.withBase(raw.appendWhat, bv))
	v, bv, err = lats(min(rows, 1000), appendEvent, raw.appendOne)
	if err != nil {
		return nil, err
	}
	figs = append(figs, Figure{Suite: suite, Name: "event append latency, 1 caller", Store: kind, Unit: "µs", Value: v}.
		withBase(raw.appendWhat, bv))

	readOne := func(ctx context.Context, i int) error {
		_, err := st.GetTask(ctx, tasks[i%len(tasks)])
		return err
	}
	rawRead := func(ctx context.Context, i int) error { return raw.readOne(ctx, tasks[i%len(tasks)]) }
	const reads = 2000
	v, bv, err = lats(reads, readOne, rawRead)
	if err != nil {
		return nil, err
	}
	figs = append(figs, Figure{Suite: suite, Name: "task read (GetTask) latency, 1 caller", Store: kind, Unit: "µs", Value: v}.
		withBase(raw.readWhat, bv))
	v, bv, err = rates("reads", reads*4, appendCallers, 3, readOne, rawRead)
	if err != nil {
		return nil, err
	}
	figs = append(figs, Figure{Suite: suite, Name: fmt.Sprintf("task reads, %d callers", appendCallers), Store: kind,
		Unit: "reads/s", Value: v}.withBase(raw.readWhat, bv))
	if kind == storePostgres {
		pf, err := b.purgeFigures(ctx, st.(*store.Postgres), raw.pool)
		if err != nil {
			return figs, err
		}
		figs = append(figs, pf...)
	}
	return figs, nil
}

// rawStore is the baseline for one store kind.
type rawStore struct {
	appendWhat, readWhat string
	appendOne            func(ctx context.Context, i int) error
	readOne              func(ctx context.Context, id string) error
	pool                 *pgxpool.Pool
}

// openStore opens the store under test and its raw baseline.
func (b *bench) openStore(ctx context.Context, kind string) (store.Store, *rawStore, func(), error) {
	if kind == storeMemory {
		dir, err := os.MkdirTemp(b.work, "memstore-")
		if err != nil {
			return nil, nil, nil, err
		}
		p, err := store.NewPersister(dir)
		if err != nil {
			return nil, nil, nil, err
		}
		m, err := store.NewMemory(p)
		if err != nil {
			return nil, nil, nil, err
		}
		rawDir := filepath.Join(dir, "raw")
		if err := os.MkdirAll(rawDir, 0o700); err != nil {
			return nil, nil, nil, err
		}
		var mu sync.RWMutex
		rows := map[string]store.Task{}
		raw := &rawStore{
			appendWhat: "write+fsync+rename of one event-sized file",
			readWhat:   "map read under a RWMutex, no copy",
			appendOne: func(_ context.Context, i int) error {
				return store.WriteFileAtomic(filepath.Join(rawDir, fmt.Sprintf("e%d.json", i%appendCallers)), eventPayload, 0o600)
			},
			readOne: func(_ context.Context, id string) error {
				mu.RLock()
				defer mu.RUnlock()
				if _, ok := rows[id]; !ok {
					rows[id] = store.Task{ID: id} // first read fills it; later reads are pure lookups
				}
				return nil
			},
		}
		return m, raw, func() { _ = m.Close() }, nil
	}
	url, drop, err := newSchema(ctx, b.pgURL)
	if err != nil {
		return nil, nil, nil, err
	}
	pg, err := store.OpenPostgres(ctx, url)
	if err != nil {
		drop()
		return nil, nil, nil, err
	}
	pool, err := pgxpool.New(ctx, url) // the same default pool size as the store's
	if err != nil {
		_ = pg.Close()
		drop()
		return nil, nil, nil, err
	}
	var taskIDs []string
	raw := &rawStore{
		appendWhat: "raw pgx INSERT into task_events",
		readWhat:   "raw pgx SELECT * FROM tasks by id",
		pool:       pool,
		appendOne: func(ctx context.Context, i int) error {
			if taskIDs == nil {
				return fmt.Errorf("no task for raw appends")
			}
			_, err := pool.Exec(ctx, `INSERT INTO task_events (id, task_id, type, payload, created_at) VALUES ($1, $2, $3, $4, $5)`,
				uuid.NewString(), taskIDs[0], "command_finished", string(eventPayload), time.Now())
			return err
		},
		readOne: func(ctx context.Context, id string) error {
			rows, err := pool.Query(ctx, `SELECT * FROM tasks WHERE id = $1`, id)
			if err != nil {
				return err
			}
			defer rows.Close()
			if !rows.Next() {
				return fmt.Errorf("task %s not found", id)
			}
			_, err = rows.Values()
			return err
		},
	}
	// The raw appends need a task to reference.
	id := uuid.NewString()
	if _, err := pg.CreateTask(ctx, store.Task{ID: id, Description: "raw", Status: task.StatusProcessing}); err != nil {
		pool.Close()
		_ = pg.Close()
		drop()
		return nil, nil, nil, err
	}
	taskIDs = []string{id}
	return pg, raw, func() { pool.Close(); _ = pg.Close(); drop() }, nil
}
