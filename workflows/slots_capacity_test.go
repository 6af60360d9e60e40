package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// TestSlotsCapacityComesFromTheNewestWorker: MAX_CONCURRENT_TASKS goes from
// 3 to 1 in a deploy. The new worker announces 1; old tasks that acquire
// again afterwards (still carrying 3, as runs of earlier releases send it)
// and a late announcement of an old worker started before the new one do
// not bring 3 back; a worker started later still wins.
func TestSlotsCapacityComesFromTheNewestWorker(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	env, grants := slotsEnv("")
	noneClosed(env)
	holders := func() int {
		return len(slotsState(t, env).Holders)
	}
	old := func(id string) task.SlotRequest { return task.SlotRequest{WorkflowID: id, Token: id, Capacity: 3} }
	counts := map[string]int{}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(task.SignalCapacity, task.CapacityAnnouncement{Capacity: 1, StartedAt: t0.Add(time.Hour)})
		for _, id := range []string{"a", "b", "c"} {
			env.SignalWorkflow(task.SignalAcquire, old(id))
		}
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		counts["after the deploy"] = holders()
		// A worker of the old configuration, started before the new one,
		// announces late (a restart of a long-running pod, say).
		env.SignalWorkflow(task.SignalCapacity, task.CapacityAnnouncement{Capacity: 3, StartedAt: t0})
		env.SignalWorkflow(task.SignalAcquire, old("d"))
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		counts["after an older worker"] = holders()
		env.SignalWorkflow(task.SignalCapacity, task.CapacityAnnouncement{Capacity: 2, StartedAt: t0.Add(2 * time.Hour)})
	}, 2*time.Minute)
	env.RegisterDelayedCallback(func() {
		counts["after a newer worker"] = holders()
		env.CancelWorkflow()
	}, 3*time.Minute)
	env.ExecuteWorkflow(SlotsWorkflow, SlotsState{Capacity: 3, CheckEvery: time.Hour})
	want := map[string]int{"after the deploy": 1, "after an older worker": 1, "after a newer worker": 2}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d holders, want %d (grants %v)", k, counts[k], n, grants.list())
		}
	}
}

// TestSlotsRunOfTheOldRuleMovesOn: a slots run started before capacity came
// from the workers still lets acquire requests set it (so it replays), and
// the first worker announcement makes it continue as new with the
// announced capacity, under the new rule.
func TestSlotsRunOfTheOldRuleMovesOn(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger)
	env := suite.NewTestWorkflowEnvironment()
	env.OnGetVersion(changeSlotsCapacityFromWorkers, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", task.SignalSlotGranted, mock.Anything).Return(nil)
	started := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var before SlotsState
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(task.SignalAcquire, task.SlotRequest{WorkflowID: "a", Token: "a", Capacity: 5})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		before = slotsState(t, env)
		env.SignalWorkflow(task.SignalCapacity, task.CapacityAnnouncement{Capacity: 2, StartedAt: started})
	}, time.Minute)
	env.ExecuteWorkflow(SlotsWorkflow, SlotsState{Capacity: 3, CheckEvery: time.Hour})
	if before.Capacity != 5 {
		t.Fatalf("old rule: capacity %d after an acquire asking 5", before.Capacity)
	}
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new after the announcement, got %v", err)
	}
	var next SlotsState
	if err := decodeInput(can, &next); err != nil {
		t.Fatal(err)
	}
	if next.Capacity != 2 || !next.CapacityStartedAt.Equal(started) || len(next.Holders) != 1 {
		t.Fatalf("next run's state %+v", next)
	}
}
