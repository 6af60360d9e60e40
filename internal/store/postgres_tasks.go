package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"ai-platform/internal/task"
)

// taskColumnList is every column of tasks in the order of taskArgs and
// scanTask; id comes first so UPDATE can set the rest from $2 on.
var taskColumnList = []string{
	"id", "user_id", "owner_user_id", "owner_key_hash", "client_ip", "request_id", "idempotency_key",
	"description", "status", "progress", "current_stage", "codex_version", "codex_hash", "template_id",
	"template_hash", "pending_questions", "provided_answers", "resume_from_stage", "result", "error",
	"failure_reason", "iterations", "max_iterations", "tokens_in", "tokens_out", "files_count",
	"files_bytes", "artifacts_count", "generation", "created_at", "updated_at", "completed_at", "version",
	"cost_usd", "budget_usd", "budget_tokens", "approve_plan",
}

var (
	taskColumns = strings.Join(taskColumnList, ", ")
	insertTask  = `INSERT INTO tasks (` + taskColumns + `) VALUES (` + placeholders(1, len(taskColumnList)) + `) RETURNING ` + taskColumns
	updateTask  = `UPDATE tasks SET (` + strings.Join(taskColumnList[1:], ", ") + `) = ROW(` +
		placeholders(2, len(taskColumnList)) + `) WHERE id = $1 RETURNING ` + taskColumns
)

// placeholders is "$from, ..., $to".
func placeholders(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		if i > from {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i))
	}
	return b.String()
}

func taskArgs(t Task) ([]any, error) {
	questions, err := json.Marshal(t.PendingQuestions)
	if err != nil {
		return nil, fmt.Errorf("encoding pending questions: %w", err)
	}
	answers, err := json.Marshal(t.ProvidedAnswers)
	if err != nil {
		return nil, fmt.Errorf("encoding provided answers: %w", err)
	}
	// Answers are any decoded JSON, so they are cleaned as the document
	// jsonb receives (see text.go); cleanTask did the rest.
	answers = cleanJSON(answers)
	return []any{
		t.ID, t.UserID, t.OwnerUserID, t.OwnerKeyHash, t.ClientIP, t.RequestID, t.IdempotencyKey,
		t.Description, string(t.Status), t.Progress, t.CurrentStage, t.CodexVersion, t.CodexHash, t.TemplateID,
		t.TemplateHash, string(questions), string(answers), t.ResumeFromStage, jsonArg(t.Result), t.Error,
		t.FailureReason, t.Iterations, t.MaxIterations, t.TokensIn, t.TokensOut, t.FilesCount,
		t.FilesBytes, t.ArtifactsCount, t.Generation, t.CreatedAt, t.UpdatedAt, dbTimePtr(t.CompletedAt), t.Version,
		t.CostUSD, t.BudgetUSD, t.BudgetTokens, t.ApprovePlan,
	}, nil
}

func scanTask(row pgx.Row) (Task, error) {
	var t Task
	var status string
	var questions, answers, result []byte
	err := row.Scan(
		&t.ID, &t.UserID, &t.OwnerUserID, &t.OwnerKeyHash, &t.ClientIP, &t.RequestID, &t.IdempotencyKey,
		&t.Description, &status, &t.Progress, &t.CurrentStage, &t.CodexVersion, &t.CodexHash, &t.TemplateID,
		&t.TemplateHash, &questions, &answers, &t.ResumeFromStage, &result, &t.Error,
		&t.FailureReason, &t.Iterations, &t.MaxIterations, &t.TokensIn, &t.TokensOut, &t.FilesCount,
		&t.FilesBytes, &t.ArtifactsCount, &t.Generation, &t.CreatedAt, &t.UpdatedAt, &t.CompletedAt, &t.Version,
		&t.CostUSD, &t.BudgetUSD, &t.BudgetTokens, &t.ApprovePlan,
	)
	if err != nil {
		return Task{}, err
	}
	t.Status = task.Status(status)
	if err := json.Unmarshal(questions, &t.PendingQuestions); err != nil {
		return Task{}, fmt.Errorf("task %s: decoding pending questions: %w", t.ID, err)
	}
	if err := json.Unmarshal(answers, &t.ProvidedAnswers); err != nil {
		return Task{}, fmt.Errorf("task %s: decoding provided answers: %w", t.ID, err)
	}
	if result != nil {
		t.Result = json.RawMessage(result)
	}
	t.CreatedAt, t.UpdatedAt, t.CompletedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC(), utcPtr(t.CompletedAt)
	return t, nil
}

// CreateTask implements Store.
func (p *Postgres) CreateTask(ctx context.Context, t Task) (Task, error) {
	if err := checkNewID("task", t.ID); err != nil {
		return Task{}, fmt.Errorf("postgres: create task: %w", err)
	}
	if t.Result != nil {
		if err := checkJSON("task result", t.Result); err != nil {
			return Task{}, fmt.Errorf("postgres: create task %s: %w", t.ID, err)
		}
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = p.now()
	}
	t.CreatedAt = dbTime(t.CreatedAt)
	t.UpdatedAt = t.CreatedAt
	t.Version = 1
	t.FilesCount, t.FilesBytes, t.ArtifactsCount = 0, 0, 0
	cleanTask(&t)
	args, err := taskArgs(t)
	if err != nil {
		return Task{}, fmt.Errorf("postgres: create task %s: %w", t.ID, err)
	}
	created, err := scanTask(p.pool.QueryRow(ctx, insertTask, args...))
	if err == nil {
		return created, nil
	}
	err = classify(err)
	// Whichever unique index fired, a retried create with a known key gets
	// the task it created the first time, as in the memory store.
	if errors.Is(err, ErrConflict) && t.IdempotencyKey != "" {
		// The repeated <> '' lets a generic plan use the partial index.
		existing, gerr := scanTask(p.pool.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks
			WHERE owner_key_hash = $1 AND owner_user_id = $2 AND idempotency_key = $3 AND idempotency_key <> ''`,
			t.OwnerKeyHash, t.OwnerUserID, t.IdempotencyKey))
		if gerr == nil {
			return existing, fmt.Errorf("postgres: create task %s: idempotency key used by task %s: %w", t.ID, existing.ID, ErrConflict)
		}
		if !errors.Is(gerr, pgx.ErrNoRows) {
			return Task{}, fail("create task "+t.ID+": reading task of idempotency key", gerr)
		}
	}
	return Task{}, fmt.Errorf("postgres: create task %s: %w", t.ID, err)
}

// GetTask implements Store.
func (p *Postgres) GetTask(ctx context.Context, id string) (Task, error) {
	if !validID(id) {
		return Task{}, fmt.Errorf("postgres: get task %q: %w", id, ErrNotFound)
	}
	t, err := scanTask(p.pool.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = $1`, id))
	if err != nil {
		return Task{}, fail("get task "+id, err)
	}
	return t, nil
}

// UpdateTask implements Store. The id, creation time and the counters kept
// by PutFiles and AppendArtifact cannot be changed by fn.
func (p *Postgres) UpdateTask(ctx context.Context, id string, fn func(*Task) error) (Task, error) {
	return p.UpdateTaskProjected(ctx, id, fn, nil)
}

// UpdateTaskProjected implements Store: the row, the events and the state
// document in one transaction.
func (p *Postgres) UpdateTaskProjected(ctx context.Context, id string, fn func(*Task) error, project ProjectFunc) (Task, error) {
	if !validID(id) {
		return Task{}, fmt.Errorf("postgres: update task %q: %w", id, ErrNotFound)
	}
	var out Task
	var callerErr error // from fn or validating its result: returned as is
	err := p.inTx(ctx, func(tx pgx.Tx) error {
		// NO KEY UPDATE, the lock UPDATE itself takes, still lets other
		// transactions insert events that reference the row meanwhile.
		cur, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = $1 FOR NO KEY UPDATE`, id))
		if err != nil {
			return err
		}
		next := cur
		if callerErr = fn(&next); callerErr != nil {
			return callerErr
		}
		if next.Result != nil {
			if callerErr = checkJSON("task result", next.Result); callerErr != nil {
				return callerErr
			}
		}
		next.ID, next.CreatedAt = cur.ID, cur.CreatedAt
		next.FilesCount, next.FilesBytes, next.ArtifactsCount = cur.FilesCount, cur.FilesBytes, cur.ArtifactsCount
		next.Version = cur.Version + 1
		next.UpdatedAt = p.now()
		cleanTask(&next)
		args, err := taskArgs(next)
		if err != nil {
			callerErr = err
			return err
		}
		if out, err = scanTask(tx.QueryRow(ctx, updateTask, args...)); err != nil || project == nil {
			return err
		}
		proj, err := project(cur, out)
		if err != nil {
			callerErr = err
			return err
		}
		if callerErr = p.writeProjection(ctx, tx, id, proj); callerErr != nil {
			return callerErr
		}
		return nil
	})
	if callerErr != nil {
		return Task{}, callerErr
	}
	if err != nil {
		return Task{}, fail("update task "+id, err)
	}
	return out, nil
}

// writeProjection appends proj's events and stores its state document in
// tx; its errors are complete (UpdateTaskProjected returns them as is).
func (p *Postgres) writeProjection(ctx context.Context, tx pgx.Tx, taskID string, proj Projection) error {
	for _, e := range proj.Events {
		l := e.entry()
		if e.TaskID != taskID {
			return fmt.Errorf("postgres: event %s belongs to task %q, not %s", e.ID, e.TaskID, taskID)
		}
		if err := checkNewID(l.what, l.id); err != nil {
			return fmt.Errorf("postgres: append %s: %w", l.what, err)
		}
		if err := l.clean(); err != nil {
			return fmt.Errorf("postgres: append %s %s: %w", l.what, l.id, err)
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = p.now()
		}
		if _, err := tx.Exec(ctx, insertEvent, e.ID, e.TaskID, e.Type, string(e.Payload), dbTime(e.CreatedAt)); err != nil {
			return fail("append event "+e.ID+" to task "+taskID, err)
		}
	}
	if proj.State == nil {
		return nil
	}
	if err := checkJSON("task state", proj.State); err != nil {
		return fmt.Errorf("postgres: put state of task %s: %w", taskID, err)
	}
	if _, err := tx.Exec(ctx, upsertState, taskID, string(cleanJSON(proj.State)), p.now()); err != nil {
		return fail("put state of task "+taskID, err)
	}
	return nil
}

// ListTasks implements Store.
func (p *Postgres) ListTasks(ctx context.Context, f TaskFilter) (Page[Task], error) {
	f = cleanFilter(f)
	var conds []string
	var args []any
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		conds = append(conds, cond)
	}
	if f.OwnerKeyHash != "" {
		add("owner_key_hash = ?", f.OwnerKeyHash)
	}
	if f.OwnerUserID != "" {
		add("owner_user_id = ?", f.OwnerUserID)
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	where := func() string {
		if len(conds) == 0 {
			return ""
		}
		return " WHERE " + strings.Join(conds, " AND ")
	}
	countSQL, countArgs := `SELECT count(*) FROM tasks`+where(), args

	if f.Before != "" {
		at, id, err := ParseTaskCursor(f.Before)
		if err != nil {
			return Page[Task]{}, fmt.Errorf("postgres: list tasks: %w", err)
		}
		add("(created_at, id) < (?::timestamptz, ?::uuid)", at, id)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	args = append(args, limit+1)
	listSQL := `SELECT ` + taskColumns + ` FROM tasks` + where() +
		` ORDER BY created_at DESC, id DESC LIMIT $` + strconv.Itoa(len(args))

	var page Page[Task]
	b := &pgx.Batch{}
	b.Queue(countSQL, countArgs...).QueryRow(func(r pgx.Row) error { return r.Scan(&page.Total) })
	b.Queue(listSQL, args...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			t, err := scanTask(rows)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, t)
		}
		return rows.Err()
	})
	if err := p.pool.SendBatch(ctx, b).Close(); err != nil {
		return Page[Task]{}, fail("list tasks", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.Next = TaskCursor(page.Items[limit-1])
	}
	return page, nil
}

// CountTasksByStatus implements Store.
func (p *Postgres) CountTasksByStatus(ctx context.Context) (map[task.Status]int, error) {
	rows, err := p.pool.Query(ctx, `SELECT status, count(*) FROM tasks GROUP BY status`)
	if err != nil {
		return nil, fail("count tasks", err)
	}
	out := map[task.Status]int{}
	var status string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out[task.Status(status)] = n
		return nil
	})
	if err != nil {
		return nil, fail("count tasks", err)
	}
	return out, nil
}
