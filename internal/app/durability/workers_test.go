//go:build durability

package durability_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/store"
	"ai-platform/internal/store/pgtest"
	"ai-platform/internal/task"
)

// The tests here run several `aiplatform worker` processes on one stack:
// the stack's own worker (s.worker) and more started by spawnWorker, each
// with its own log file and an ephemeral METRICS_PORT.

// spawnWorker starts one more worker process with the stack's
// configuration; the test's cleanup kills it if it still runs.
func (s *stack) spawnWorker(name string) *workerProc {
	s.t.Helper()
	env := s.config()
	env["TEMPORAL_ADDRESS"] = s.addr
	env["DATABASE_URL"] = pgtest.WithParam(s.t, s.pgURL, "application_name", s.appName)
	env["DATA_DIR"] = filepath.Join(s.dir, name+"-data")
	env["LOG_LEVEL"] = "info"
	env["METRICS_PORT"] = "0"
	logPath := filepath.Join(s.dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	_, _ = logf.WriteString("=== " + name + " start " + time.Now().Format(time.RFC3339Nano) + "\n")
	cmd := exec.Command(workerBin, "worker")
	cmd.Dir = s.t.TempDir()
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting %s: %v", name, err)
	}
	w := &workerProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(w.done)
	}()
	t := s.t
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-w.done
		if t.Failed() {
			if raw, err := os.ReadFile(logPath); err == nil {
				lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
				t.Logf("%s log (last %d lines):\n%s", name, min(60, len(lines)), strings.Join(lines[max(0, len(lines)-60):], "\n"))
			}
		}
	})
	return w
}

// sigterm stops a worker process with SIGTERM and returns its exit code
// and how long it took to exit.
func sigterm(t *testing.T, w *workerProc) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.done:
	case <-time.After(time.Minute):
		t.Fatal("a worker did not exit within a minute of SIGTERM")
	}
	return w.cmd.ProcessState.ExitCode(), time.Since(start)
}

// runningOn reports the pid of the worker running an activity of type typ
// of wfID (from its default identity, pid@host@), with its pending info.
func runningOn(s *stack, wfID, typ string) (pid int, info *workflowpb.PendingActivityInfo) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc, err := s.api.Client.DescribeWorkflow(ctx, wfID, "")
	if err != nil {
		return 0, nil
	}
	for _, a := range desc.RawResponse.GetPendingActivities() {
		if a.GetActivityType().GetName() == typ && a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
			pid, _ := strconv.Atoi(strings.SplitN(a.GetLastWorkerIdentity(), "@", 2)[0])
			return pid, a
		}
	}
	return 0, nil
}

// lastStartedBy is the identity of the worker that started the last
// attempt of the activity of type typ in a history (Temporal records the
// start of the final attempt only).
func lastStartedBy(events []*historypb.HistoryEvent, typ string) string {
	types := map[int64]string{}
	out := ""
	for _, e := range events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[e.EventId] = a.GetActivityType().GetName()
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil && types[a.GetScheduledEventId()] == typ {
			out = a.GetIdentity()
		}
	}
	return out
}

// TestSIGTERMWorkerDuringLongActivity: two worker processes; the one
// running a task's design LLM call (15 s, longer than the worker's 10 s
// stop timeout) gets SIGTERM. It exits 0 within its bound, the call is
// retried on the other worker, and the task completes exactly as an
// undisturbed run of the same request does: no event, file, token or quota
// charge twice.
func TestSIGTERMWorkerDuringLongActivity(t *testing.T) {
	const description = "A command line tool that counts words and lines in text files [mock:slow=15]"
	s := newStack(t, map[string]string{"METRICS_PORT": "0"})
	other := s.spawnWorker("worker-b")
	ref := apptest.Start(t, apptest.Options{Temporal: s.addr})
	start := time.Now()
	refID := ref.CreateTask(t, map[string]any{"description": description, "template_id": "python_cli"})
	id := s.create(description, "python_cli")
	wfID := task.WorkflowID(id)

	var pid int
	waitFor(t, 3*time.Minute, "the design activity to start", func() bool {
		pid, _ = runningOn(s, wfID, task.ActDesign)
		return pid > 0
	})
	workers := map[int]*workerProc{s.pid(): s.worker, other.cmd.Process.Pid: other}
	victim, ok := workers[pid]
	if !ok {
		t.Fatalf("the design activity runs on pid %d, not on one of the workers %v", pid, []int{s.pid(), other.cmd.Process.Pid})
	}
	delete(workers, pid)
	var survivor int
	for p := range workers {
		survivor = p
	}
	time.Sleep(time.Second)
	sent := time.Now()
	code, took := sigterm(t, victim)
	if victim == s.worker {
		s.worker = nil
	}
	t.Logf("worker %d got SIGTERM during the design call, %s after the start; exited %d after %s", pid, since(start), code,
		took.Round(100*time.Millisecond))
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if took > 40*time.Second {
		t.Errorf("the worker took %s to stop; its bound is the 10 s stop timeout (+ shutdown)", took)
	}
	var retry *workflowpb.PendingActivityInfo
	waitFor(t, 2*time.Minute, "the design activity to be retried on the other worker", func() bool {
		var p int
		p, retry = runningOn(s, wfID, task.ActDesign)
		return p == survivor && retry.GetAttempt() >= 2
	})
	t.Logf("design retried on worker %d %s after the SIGTERM, %s after the exit; last failure: %s", survivor,
		since(sent), since(sent.Add(took)), retry.GetLastFailure().GetMessage())
	// The stopped worker reported the cancelled attempt, so Temporal retried
	// it at once rather than after the heartbeat timeout.
	if retry.GetLastFailure().GetTimeoutFailureInfo() != nil {
		t.Errorf("the cut-short attempt was retried only after a timeout (%s): its cancellation was not reported",
			retry.GetLastFailure().GetMessage())
	}

	s.api.WaitStatus(t, id, 10*time.Minute, "completed")
	t.Logf("task completed %s after the start", since(start))
	ref.WaitStatus(t, refID, 10*time.Minute, "completed")
	got, want := collect(t, s.api.App.Store, id), collect(t, ref.App.Store, refID)
	checkExactlyOnce(t, want)
	checkExactlyOnce(t, got)
	checkSameAs(t, got, want)
	hist := history(t, s.api.Client, wfID, "")
	at := attempts(hist)
	if by := lastStartedBy(hist, task.ActDesign); !strings.HasPrefix(by, strconv.Itoa(survivor)+"@") || at[task.ActDesign] < 2 {
		t.Errorf("design: last attempt started by %q (want worker %d), attempts %v", by, survivor, at)
	}
	t.Logf("activity attempts %v; %d events, %d files, %d+%d tokens", at, len(got.Events), len(got.Files),
		got.Usage.TokensIn, got.Usage.TokensOut)
}

// TestSlotsSurviveRestartOfEverything: MAX_CONCURRENT_TASKS=1, two worker
// processes, three tasks. While the first holds the slot and the other two
// wait for it, the API, both workers and the dev server (on its database
// file) are stopped and started again. All three complete, never more than
// one is processing (sampled from PostgreSQL throughout, the restart
// included), and they start in creation order.
func TestSlotsSurviveRestartOfEverything(t *testing.T) {
	s := newStack(t, map[string]string{"MAX_CONCURRENT_TASKS": "1", "METRICS_PORT": "0"})
	other := s.spawnWorker("worker-b")

	// The sampler reads PostgreSQL directly: it outlives the API.
	pg, err := store.OpenPostgres(context.Background(), s.pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	sampler := apptest.SampleProcessing(pg, 20*time.Millisecond)
	defer sampler.Stop()

	ids := []string{s.create("A command line tool that counts words and lines in text files [mock:slow=4]", "python_cli")}
	s.api.WaitStatus(t, ids[0], 2*time.Minute, "processing")
	for _, d := range []string{"A tool that prints the longest line of a file [mock:slow=1]", "A tool that counts the vowels of a text [mock:slow=1]"} {
		ids = append(ids, s.create(d, "python_cli"))
	}
	want := []string{task.WorkflowID(ids[1]), task.WorkflowID(ids[2])}
	waitFor(t, 2*time.Minute, "the last two tasks to wait for the slot", func() bool {
		holders, waiters := slotState(s)
		return slices.Equal(holders, []string{task.WorkflowID(ids[0])}) && slices.Equal(waiters, want)
	})
	for _, id := range ids[1:] {
		if st := s.api.GetTask(t, id).Status; st != "queued" {
			t.Fatalf("task %s is %s before the restart, want queued", id, st)
		}
	}

	began := time.Now()
	s.stopAPI()
	if code, took := sigterm(t, s.worker); code != 0 {
		t.Errorf("worker a: exit %d after %s", code, took)
	}
	s.worker = nil
	if code, took := sigterm(t, other); code != 0 {
		t.Errorf("worker b: exit %d after %s", code, took)
	}
	s.stopDevServer()
	s.startDevServer()
	s.startWorker()
	s.spawnWorker("worker-b2")
	s.startAPI()
	t.Logf("everything stopped and started again in %s", since(began))

	holders, waiters := slotState(s)
	t.Logf("after the restart: holders %v, waiters %v", holders, waiters)
	for _, id := range ids {
		s.api.WaitStatus(t, id, 10*time.Minute, "completed")
	}
	peak, samples := sampler.Stop()
	t.Logf("%d samples of the task statuses; peak processing %d", samples, peak)
	if peak > 1 {
		t.Errorf("%d tasks were processing at once; MAX_CONCURRENT_TASKS=1", peak)
	}
	if peak < 1 || samples < 100 {
		t.Errorf("peak %d over %d samples: the statuses were not sampled", peak, samples)
	}

	// Each task started once (its StageStarted(initializing), written when
	// the slot was granted), in creation order, and ended once.
	started := map[string]time.Time{}
	for _, id := range ids {
		o := collect(t, s.api.App.Store, id)
		n := 0
		for _, e := range o.Events {
			var p map[string]any
			_ = json.Unmarshal(e.Payload, &p)
			if e.Type == "StageStarted" && p["stage"] == task.StageInitializing {
				if n == 0 {
					started[id] = e.CreatedAt
				}
				n++
			}
		}
		types := o.eventTypes()
		if n != 1 || types["TaskCreated"] != 1 || types["TaskCompleted"] != 1 {
			t.Errorf("task %s: %d starts, events %v", id, n, types)
		}
	}
	order := slices.Clone(ids)
	slices.SortStableFunc(order, func(a, b string) int { return started[a].Compare(started[b]) })
	if !slices.Equal(order, ids) {
		for i, id := range ids {
			t.Logf("created #%d %s started %s", i+1, id[:8], started[id].Format(time.RFC3339Nano))
		}
		t.Error("the tasks did not start in creation order")
	}
}

// slotState is the holders and waiters (workflow ids, queue order) of the
// stack's slots workflow; nil, nil while it does not answer.
func slotState(s *stack) (holders, waiters []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var st struct {
		Holders []struct {
			WorkflowID string `json:"workflow_id"`
		} `json:"holders"`
		Waiters []task.SlotRequest `json:"waiters"`
	}
	v, err := s.api.Client.QueryWorkflow(ctx, task.SlotsWorkflowID(s.queue), "", "state")
	if err != nil || v.Get(&st) != nil {
		return nil, nil
	}
	for _, h := range st.Holders {
		holders = append(holders, h.WorkflowID)
	}
	for _, w := range st.Waiters {
		waiters = append(waiters, w.WorkflowID)
	}
	return holders, waiters
}
