//go:build durability

package durability_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/store/pgtest"
	"ai-platform/internal/task"
)

// The kill tests SIGKILL the worker process at a chosen moment, start a new
// one and check that the task completes exactly as an undisturbed run of the
// same request (on another task queue, in this process, at the same time)
// does: same events and artifacts by type and count, same files and
// content, same tokens, and quota charges that match what happened. The
// killed activity is retried only after the heartbeat timeout (20 s). A
// killed review check is the one allowed difference: the retry runs the
// commands again under new run ids, so the interrupted attempt's runs stay
// on record (uncharged) beside them.

// killTrial runs description on a stack and on a reference platform, calls
// kill (which SIGKILLs the worker at its moment and names the activity type
// it interrupted), starts a new worker and checks the outcome.
func killTrial(t *testing.T, description, template string, kill func(s *stack, id string) string) {
	killTrialWith(t, nil, description, template, kill)
}

// killTrialWith is killTrial on a stack with extra configuration.
func killTrialWith(t *testing.T, extra map[string]string, description, template string, kill func(s *stack, id string) string) {
	s := newStack(t, extra)
	ref := apptest.Start(t, apptest.Options{Temporal: s.addr})
	start := time.Now()
	refID := ref.CreateTask(t, map[string]any{"description": description, "template_id": template})
	id := s.create(description, template)
	killed := kill(s, id)
	t.Logf("worker killed during %s after %s", killed, since(start))
	s.startWorker()
	s.api.WaitStatus(t, id, 5*time.Minute, "completed")
	t.Logf("task completed %s after the start", since(start))
	ref.WaitStatus(t, refID, 5*time.Minute, "completed")
	got, want := collect(t, s.api.App.Store, id), collect(t, ref.App.Store, refID)
	if killed == task.ActReviewChecks {
		// At most one attempt's three checks (lint, compile, tests).
		got.interrupted = got.commandRuns() - want.commandRuns()
		if got.interrupted < 1 || got.interrupted > 3 {
			t.Errorf("%d command runs, undisturbed run %d: want 1 to 3 more (the interrupted attempt's)",
				got.commandRuns(), want.commandRuns())
		}
	}
	checkExactlyOnce(t, want)
	checkExactlyOnce(t, got)
	checkSameAs(t, got, want)
	at := attempts(history(t, s.api.Client, task.WorkflowID(id), ""))
	if at[killed] < 2 {
		t.Errorf("the kill did not interrupt a running %s activity: attempts %v", killed, at)
	}
	t.Logf("activity attempts %v; %d events, %d files, %d command runs, %d+%d tokens", at, len(got.Events),
		len(got.Files), got.Usage.CommandRuns, got.Usage.TokensIn, got.Usage.TokensOut)
}

// commandRuns counts the runs the task started.
func (o outcome) commandRuns() int { return o.eventTypes()["command_started"] }

// TestKillDuringLLMCall kills the worker in the middle of the design LLM
// call ([mock:slow] makes every call take 3 s).
func TestKillDuringLLMCall(t *testing.T) {
	killTrial(t, "A command line tool that counts words and lines in text files [mock:slow=3]", "python_cli",
		func(s *stack, id string) string {
			ctx := ctxT(t)
			waitFor(t, 2*time.Minute, "the design activity to start", func() bool {
				_, ok := startedActivity(ctx, s.api.Client, task.WorkflowID(id), task.ActDesign)
				return ok
			})
			time.Sleep(time.Second)
			s.killWorker()
			return task.ActDesign
		})
}

// TestKillDuringCommand kills the worker while pytest runs a test that
// sleeps, and checks that no process of that run survives it.
func TestKillDuringCommand(t *testing.T) {
	killTrial(t, "A library that validates and stores user records [mock:sleepy-tests=8]", "python_lib",
		func(s *stack, id string) string {
			st := s.api.App.Store
			var pytest []int
			waitFor(t, 3*time.Minute, "the task's pytest run", func() bool {
				o := collect(t, st, id)
				if !slices.ContainsFunc(o.payloads("command_started"), func(p map[string]any) bool { return p["purpose"] == "tests" }) {
					return false
				}
				// The review's pytest, not the worker's start-up probe (--version).
				pytest = nil
				for _, p := range descendants(s.pid()) {
					if c := cmdline(p); strings.Contains(c, "pytest") && strings.Contains(c, "no:cacheprovider") {
						pytest = append(pytest, p)
					}
				}
				return len(pytest) > 0
			})
			time.Sleep(2 * time.Second)
			procs := descendants(s.pid())
			if !slices.ContainsFunc(procs, func(p int) bool { return slices.Contains(pytest, p) }) {
				t.Fatalf("pytest %v ended within 2 s; the sleeping test should keep it running", pytest)
			}
			s.killWorker()
			waitFor(t, 15*time.Second, "the command's processes to end with the worker", func() bool {
				for _, p := range procs {
					if alive(p) {
						return false
					}
				}
				return true
			})
			t.Logf("pytest pids %v and all %d processes below the worker ended with it", pytest, len(procs))
			return task.ActReviewChecks
		})
}

// TestKillDuringFilePersistence kills the worker while the code activity
// stores 2.5 MB of generated files: inside the PostgreSQL transaction (as
// soon as a poll of pg_stat_activity sees it; if the poll misses it, right
// after the commit), and right after the commit, while the workspace copy,
// the code_summary artifact and the snapshot are being written.
func TestKillDuringFilePersistence(t *testing.T) {
	for _, inTx := range []bool{true, false} {
		name := map[bool]string{true: "in_transaction", false: "after_commit"}[inTx]
		t.Run(name, func(t *testing.T) {
			killTrial(t, "A command line tool that counts words and lines in text files [mock:big=3]", "python_cli",
				func(s *stack, id string) string {
					killWhilePersisting(t, s, id, inTx)
					return task.ActCode
				})
		})
	}
}

func killWhilePersisting(t *testing.T, s *stack, id string, inTx bool) {
	ctx := ctxT(t)
	st := s.api.App.Store
	// The blob files are the component after the documentation.
	waitFor(t, 3*time.Minute, "the documentation iteration", func() bool {
		return storeHasFile(ctx, st, id, "README.md") && slices.ContainsFunc(collect(t, st, id).payloads("code_generated"),
			func(p map[string]any) bool { return listHas(p["files"], "README.md") })
	})
	conn, err := pgx.Connect(ctx, pgtest.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The platform's own database (conn is on the base one, where
	// pg_stat_activity sees every database).
	store, err := pgx.Connect(ctx, s.pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(context.Background())
	where := "after the commit"
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if inTx {
			var n int
			err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND (
				(state = 'active' AND query LIKE '%INSERT INTO task_files%') OR
				(state = 'idle in transaction' AND query LIKE '%task_files%'))`, s.appName).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				where = "inside the transaction"
				break
			}
		}
		// An existence query, not a read of the blob: the window between
		// the commit and the activity's end is a few milliseconds of
		// workspace writes, and a poll that fetches the file can miss it.
		var committed bool
		if err := store.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM task_files WHERE task_id = $1 AND path = 'data/blob_000.txt')`,
			id).Scan(&committed); err != nil {
			t.Fatal(err)
		}
		if committed {
			break
		}
	}
	s.killWorker()
	t.Logf("killed %s (blob files committed at the kill: %v)", where, storeHasFile(ctx, st, id, "data/blob_000.txt"))
}
