package workflows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// grantLog records the slot-granted signals a slots workflow under test
// sends; a grant to refuse fails as if that workflow had closed.
type grantLog struct {
	mu     sync.Mutex
	ids    []string
	refuse string
}

func (g *grantLog) list() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.ids)
}

// slotsEnv is a test environment for SlotsWorkflow whose grants land in the
// returned log.
func slotsEnv(refuse string) (*testsuite.TestWorkflowEnvironment, *grantLog) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger)
	env := suite.NewTestWorkflowEnvironment()
	g := &grantLog{refuse: refuse}
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", task.SignalSlotGranted, mock.Anything).Return(
		func(_ string, id, _ string, _ string, _ any) error {
			g.mu.Lock()
			defer g.mu.Unlock()
			if id == g.refuse {
				return errGone
			}
			g.ids = append(g.ids, id)
			return nil
		})
	return env, g
}

// slotsState queries the state of the slots workflow under test.
func slotsState(t *testing.T, env *testsuite.TestWorkflowEnvironment) SlotsState {
	t.Helper()
	v, err := env.QueryWorkflow("state")
	if err != nil {
		t.Fatal(err)
	}
	var st SlotsState
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// noneClosed registers a holder check that finds every holder alive.
func noneClosed(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(func(context.Context, []string) ([]string, error) { return nil, nil },
		activityOpts{Name: task.ActCheckHolders})
}

func TestSlotsWorkflowGrantsFIFOWithinCapacity(t *testing.T) {
	env, grants := slotsEnv("gone")
	env.RegisterActivityWithOptions(func(_ context.Context, ids []string) ([]string, error) {
		// "b" has closed without releasing (terminated by an operator).
		if slices.Contains(ids, "b") {
			return []string{"b"}, nil
		}
		return nil, nil
	}, activityOpts{Name: task.ActCheckHolders})
	acquire := func(id string) task.SlotRequest {
		return task.SlotRequest{WorkflowID: id, Token: id + "-1", Capacity: 2}
	}
	var snapshot1, snapshot2 []string
	env.RegisterDelayedCallback(func() {
		for _, id := range []string{"a", "b", "gone", "c", "d"} {
			env.SignalWorkflow(task.SignalAcquire, acquire(id))
		}
		env.SignalWorkflow(task.SignalAcquire, acquire("a")) // duplicate acquire: no second slot
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		snapshot1 = grants.list()
		env.SignalWorkflow(task.SignalRelease, task.SlotRelease{WorkflowID: "a", Token: "a-1"})
	}, time.Minute/2)
	env.RegisterDelayedCallback(func() {
		snapshot2 = grants.list()
	}, 10*time.Minute)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 20*time.Minute)
	env.ExecuteWorkflow(SlotsWorkflow, SlotsState{Capacity: 2, CheckEvery: time.Minute})
	// "a" re-acquired while holding: it is re-granted, never counted twice
	// (the re-grant goes out with b's grant or after it).
	first := slices.Clone(snapshot1)
	slices.Sort(first)
	if !slices.Equal(first, []string{"a", "a", "b"}) || snapshot1[0] != "a" {
		t.Fatalf("first grants %v, want a, then a again and b", snapshot1)
	}
	// Release of a frees a slot for c ("gone" is skipped); the closed holder
	// b is reclaimed by the periodic check, which lets d in.
	if want := []string{"c", "d"}; len(snapshot2) != 5 || !slices.Equal(snapshot2[3:], want) {
		t.Fatalf("grants %v, want the first three then %v", snapshot2, want)
	}
}

type gone struct{}

func (gone) Error() string { return "workflow not found" }

var errGone = gone{}

// TestSlotsWorkflowQueuesByQueuedAt: requests that arrive out of order
// (their tasks prepared at different speeds) are granted in QueuedAt order;
// requests without a time keep their arrival place.
func TestSlotsWorkflowQueuesByQueuedAt(t *testing.T) {
	env, grants := slotsEnv("")
	noneClosed(env)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	req := func(id string, minute int) task.SlotRequest {
		r := task.SlotRequest{WorkflowID: id, Token: id, Capacity: 1}
		if minute >= 0 {
			r.QueuedAt = t0.Add(time.Duration(minute) * time.Minute)
		}
		return r
	}
	env.RegisterDelayedCallback(func() {
		// "holder" takes the only slot; the rest wait and arrive scrambled.
		for _, r := range []task.SlotRequest{req("holder", 0), req("t5", 5), req("legacy", -1), req("t2", 2),
			req("t4", 4), req("t1", 1), req("t3", 3), req("t2", 9)} {
			env.SignalWorkflow(task.SignalAcquire, r)
		}
	}, time.Second)
	for i := 1; i <= 6; i++ {
		env.RegisterDelayedCallback(func() {
			granted := grants.list()
			last := granted[len(granted)-1]
			env.SignalWorkflow(task.SignalRelease, task.SlotRelease{WorkflowID: last, Token: last})
		}, time.Duration(i)*time.Minute)
	}
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 10*time.Minute)
	env.ExecuteWorkflow(SlotsWorkflow, SlotsState{Capacity: 1, CheckEvery: time.Hour})
	// "legacy" (no time, as from an older worker) arrived right after t5 and
	// keeps that place; timed requests sort among themselves. A second
	// request from t2 keeps t2's place.
	want := []string{"holder", "t1", "t2", "t3", "t4", "t5", "legacy"}
	if granted := grants.list(); !slices.Equal(granted, want) {
		t.Fatalf("grants %v, want %v", granted, want)
	}
}

// TestSlotsWorkflowKeepsSignalsAcrossContinueAsNew sends a release and an
// acquire while the run that is about to continue as new still waits for a
// grant signal to be delivered: both reach the next run's state instead of
// being dropped with the old run (which left holders that never release and
// waiters that never hear back).
func TestSlotsWorkflowKeepsSignalsAcrossContinueAsNew(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", task.SignalSlotGranted, mock.Anything).Return(
		func(_ string, id, _ string, _ string, _ any) error {
			if id == "b" {
				// b finishes at once and c arrives, while b's grant is in flight.
				env.SignalWorkflow(task.SignalRelease, task.SlotRelease{WorkflowID: "b", Token: "b-1"})
				env.SignalWorkflow(task.SignalAcquire, task.SlotRequest{WorkflowID: "c", Token: "c-1", Capacity: 1})
			}
			return nil
		})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(task.SignalAcquire, task.SlotRequest{WorkflowID: "a", Token: "a-1", Capacity: 1})
		env.SignalWorkflow(task.SignalAcquire, task.SlotRequest{WorkflowID: "b", Token: "b-1", Capacity: 1})
		env.SignalWorkflow(task.SignalRelease, task.SlotRelease{WorkflowID: "a", Token: "a-1"})
	}, time.Second)
	env.ExecuteWorkflow(SlotsWorkflow, SlotsState{Capacity: 1, HandledLimit: 2, CheckEvery: time.Hour})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next SlotsState
	if err := decodeInput(can, &next); err != nil {
		t.Fatal(err)
	}
	// c is in the next run's state: waiting, or holding the slot b freed
	// when its grant went out before the run ended (grants go out in one
	// round with everything delivered taken in first).
	waiting := len(next.Holders) == 0 && len(next.Waiters) == 1 && next.Waiters[0].WorkflowID == "c"
	holding := len(next.Waiters) == 0 && len(next.Holders) == 1 && next.Holders[0].WorkflowID == "c"
	if !waiting && !holding {
		t.Fatalf("state handed to the next run: holders %+v waiters %+v; want b gone and c waiting or holding", next.Holders, next.Waiters)
	}
}

// TestSlotsWorkflowKeepsChainedSignalsAcrossContinueAsNew: signals that arrive
// while the last grants before continue-as-new are being delivered (the
// grant waits on a signal of its own, so the workflow yields) must reach
// the next run; a lost acquire left its task queued forever.
func TestSlotsWorkflowKeepsChainedSignalsAcrossContinueAsNew(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	req := func(id string) task.SlotRequest { return task.SlotRequest{WorkflowID: id, Token: id, Capacity: 3} }
	// Each grant lets one more request in while it is on its way.
	next := map[string]string{"a": "late", "late": "later"}
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", task.SignalSlotGranted, mock.Anything).Return(
		func(_ string, id, _ string, _ string, _ any) error {
			if n, ok := next[id]; ok {
				env.SignalWorkflow(task.SignalAcquire, req(n))
			}
			return nil
		})
	env.RegisterActivityWithOptions(func(context.Context, []string) ([]string, error) { return nil, nil },
		activityOpts{Name: task.ActCheckHolders})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(task.SignalAcquire, req("a")) }, time.Second)
	env.ExecuteWorkflow(SlotsWorkflow, SlotsState{Capacity: 3, CheckEvery: time.Hour, HandledLimit: 1})
	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("want continue-as-new, got %v", env.GetWorkflowError())
	}
	var next1 SlotsState
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next1); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range next1.Holders {
		ids = append(ids, h.WorkflowID)
	}
	for _, w := range next1.Waiters {
		ids = append(ids, w.WorkflowID)
	}
	slices.Sort(ids)
	if want := []string{"a", "late", "later"}; !slices.Equal(ids, want) {
		t.Fatalf("the next run knows %v (holders %v, waiters %v), want %v", ids, next1.Holders, next1.Waiters, want)
	}
}

// TestSlotsWorkflowGrantsABurstInParallelWithinTheCap: 12 tasks ask at once
// for 3 slots and each releases a minute after its grant. The grants of a
// round go out together, a grant that cannot be delivered frees its slot for
// the next waiter at once, and at no moment do more than 3 tasks hold a slot
// (counted from the grants delivered and the releases sent).
func TestSlotsWorkflowGrantsABurstInParallelWithinTheCap(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger)
	env := suite.NewTestWorkflowEnvironment()
	noneClosed(env)
	// The test environment delivers a round's grants on concurrent
	// goroutines (they are in flight together), hence the mutex.
	var (
		mu      sync.Mutex
		order   []string
		holding int
		peak    int
	)
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", task.SignalSlotGranted, mock.Anything).Return(
		func(_ string, id, _ string, _ string, arg any) error {
			if id == "w03" {
				return errGone // closed before its grant arrived
			}
			mu.Lock()
			order = append(order, id)
			holding++
			peak = max(peak, holding)
			mu.Unlock()
			env.RegisterDelayedCallback(func() {
				mu.Lock()
				holding--
				mu.Unlock()
				env.SignalWorkflow(task.SignalRelease, task.SlotRelease{WorkflowID: id, Token: id})
			}, time.Minute)
			return nil
		})
	var want []string
	env.RegisterDelayedCallback(func() {
		for i := range 12 {
			id := fmt.Sprintf("w%02d", i)
			if id != "w03" {
				want = append(want, id)
			}
			env.SignalWorkflow(task.SignalAcquire, task.SlotRequest{WorkflowID: id, Token: id})
		}
	}, time.Second)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
	env.ExecuteWorkflow(SlotsWorkflow, SlotsState{Capacity: 3, CheckEvery: time.Hour})
	// Within a round the grants race each other, so the order is checked
	// round by round: each round of 3 holds the next 3 waiters.
	if len(order) != len(want) {
		t.Fatalf("grants %v, want every live waiter once: %v", order, want)
	}
	for i := 0; i < len(want); i += 3 {
		got, exp := slices.Clone(order[i:min(i+3, len(order))]), want[i:min(i+3, len(want))]
		slices.Sort(got)
		if !slices.Equal(got, exp) {
			t.Fatalf("grants %v: round from %d has %v, want %v (FIFO by rounds)", order, i, got, exp)
		}
	}
	if peak != 3 {
		t.Fatalf("peak holders %d, want exactly the cap 3", peak)
	}
}

// TestSlotsWorkflowAnswersAcquireUpdates covers UpdateAcquire beside the
// signals: a free slot is granted in the reply, a busy one queues the
// request behind the signalled waiters and is granted by signal when a slot
// frees, a holder asking again keeps its one slot, and a request without a
// token is rejected. At no point do more than the cap hold a slot.
func TestSlotsWorkflowAnswersAcquireUpdates(t *testing.T) {
	env, grants := slotsEnv("")
	noneClosed(env)
	const capacity = 2
	replies := map[string]string{}
	var peak int
	holders := func() []SlotHolder {
		st := slotsState(t, env)
		peak = max(peak, len(st.Holders))
		return st.Holders
	}
	update := func(id, token string) {
		env.UpdateWorkflow(task.UpdateAcquire, id+"/"+token, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { replies[id+"/"+token] = "rejected" },
			OnComplete: func(v any, err error) {
				if err != nil {
					replies[id+"/"+token] = "error: " + err.Error()
					return
				}
				if v.(task.SlotReply).Granted {
					replies[id+"/"+token] = "granted"
				} else {
					replies[id+"/"+token] = "queued"
				}
			},
		}, task.SlotRequest{WorkflowID: id, Token: token})
		holders()
	}
	env.RegisterDelayedCallback(func() {
		update("a", "1")
		update("b", "1")
		update("c", "1")                                                                      // both slots taken: queued
		env.SignalWorkflow(task.SignalAcquire, task.SlotRequest{WorkflowID: "d", Token: "1"}) // queued after c
		update("b", "2")                                                                      // a holder again: still one slot
		update("e", "")                                                                       // no token: rejected
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		holders()
		env.SignalWorkflow(task.SignalRelease, task.SlotRelease{WorkflowID: "a", Token: "1"})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		holders()
		update("f", "1") // c holds a's slot now and d waits: f queues behind d
		env.SignalWorkflow(task.SignalRelease, task.SlotRelease{WorkflowID: "b", Token: "2"})
	}, 2*time.Minute)
	var final []SlotHolder
	env.RegisterDelayedCallback(func() {
		final = holders()
		env.CancelWorkflow()
	}, time.Hour)
	env.ExecuteWorkflow(SlotsWorkflow, SlotsState{Capacity: capacity, CheckEvery: time.Hour})

	want := map[string]string{"a/1": "granted", "b/1": "granted", "c/1": "queued", "b/2": "granted",
		"e/": "rejected", "f/1": "queued"}
	for k, v := range want {
		if replies[k] != v {
			t.Errorf("reply to %s: %q, want %q (all: %v)", k, replies[k], v, replies)
		}
	}
	if got := grants.list(); !slices.Equal(got, []string{"c", "d"}) {
		t.Errorf("grant signals %v, want c then d (the update's waiter keeps its place)", got)
	}
	var ids []string
	for _, h := range final {
		ids = append(ids, h.WorkflowID)
	}
	if !slices.Equal(ids, []string{"c", "d"}) {
		t.Errorf("holders at the end %v, want c and d (f still waits)", ids)
	}
	if peak > capacity {
		t.Errorf("%d holders at once, cap %d", peak, capacity)
	}
}

// TestSlotsWorkflowMovesToItsOwnQueue: a semaphore an earlier release started
// on the task workflows' queue continues as new on its own queue in its first
// workflow task, with its holders and waiters; one already there stays, and
// so does a run recorded before the change.
func TestSlotsWorkflowMovesToItsOwnQueue(t *testing.T) {
	state := SlotsState{Capacity: 1, CheckEvery: time.Hour,
		Holders: []SlotHolder{{WorkflowID: "a", Token: "a-1"}}, Waiters: []SlotRequest{{WorkflowID: "b", Token: "b-1"}}}
	cases := []struct {
		name   string
		queue  string
		before bool // the run was recorded before changeSlotsOwnQueue
		moves  bool
	}{
		{"on the task queue", "tasks", false, true},
		{"on its own queue", task.SlotsTaskQueue("tasks"), false, false},
		{"recorded before the change", "tasks", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, _ := slotsEnv("")
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: task.SlotsWorkflowID("tasks"), TaskQueue: tc.queue})
			if tc.before {
				env.OnGetVersion(changeSlotsOwnQueue, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			var held SlotsState
			env.RegisterDelayedCallback(func() { held = slotsState(t, env) }, time.Minute)
			env.ExecuteWorkflow(SlotsWorkflow, state)
			var can *workflow.ContinueAsNewError
			moved := errors.As(env.GetWorkflowError(), &can)
			if moved != tc.moves {
				t.Fatalf("continued as new: %v (%v), want %v", moved, env.GetWorkflowError(), tc.moves)
			}
			if !moved {
				if len(held.Holders) != 1 || len(held.Waiters) != 1 {
					t.Fatalf("state while running: %+v, want a holding and b waiting", held)
				}
				return
			}
			if can.TaskQueueName != task.SlotsTaskQueue("tasks") {
				t.Errorf("continued on queue %q, want %q", can.TaskQueueName, task.SlotsTaskQueue("tasks"))
			}
			var next SlotsState
			if err := decodeInput(can, &next); err != nil {
				t.Fatal(err)
			}
			if len(next.Holders) != 1 || next.Holders[0].WorkflowID != "a" || len(next.Waiters) != 1 || next.Waiters[0].WorkflowID != "b" {
				t.Errorf("state handed on: holders %+v waiters %+v, want a holding and b waiting", next.Holders, next.Waiters)
			}
		})
	}
}
