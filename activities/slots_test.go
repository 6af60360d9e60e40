package activities

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"ai-platform/internal/task"
)

// TestAcquireSlotAsksForTheReply: a request with Reply is the slots
// workflow's UpdateAcquire and returns its answer; when the update cannot
// answer (no slots workflow yet, a worker without the handler) the request
// goes by signal and the task waits for the grant. A request without Reply
// (a run of an earlier release) always goes by signal.
func TestAcquireSlotAsksForTheReply(t *testing.T) {
	in := task.AcquireIn{WorkflowID: "task-1", TaskID: "1", Token: "g0/a1", TaskQueue: "q"}
	for _, tc := range []struct {
		name       string
		reply      bool
		updateErr  error
		granted    bool
		wantGrant  bool
		wantSignal bool
	}{
		{name: "free slot", reply: true, granted: true, wantGrant: true},
		{name: "slots taken", reply: true, granted: false},
		{name: "update refused", reply: true, updateErr: errors.New("unknown update acquire-now"), wantSignal: true},
		{name: "earlier release", reply: false, wantSignal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &mocks.Client{}
			h := &mocks.WorkflowUpdateHandle{}
			h.On("Get", mock.Anything, mock.Anything).Return(func(_ context.Context, v any) error {
				*(v.(*task.SlotReply)) = task.SlotReply{Granted: tc.granted}
				return nil
			})
			var opts client.UpdateWorkflowOptions
			c.On("UpdateWorkflow", mock.Anything, mock.Anything).Return(h, tc.updateErr).Run(func(args mock.Arguments) {
				opts = args.Get(1).(client.UpdateWorkflowOptions)
			})
			signalled := false
			c.On("SignalWithStartWorkflow", mock.Anything, "slots-q", task.SignalAcquire, mock.Anything, mock.Anything,
				task.SlotsWorkflowName, mock.Anything).Return(&mocks.WorkflowRun{}, nil).Run(func(mock.Arguments) { signalled = true })
			a := &Activities{Deps: Deps{Temporal: c, TaskQueue: "q", MaxConcurrentTasks: 2, Logger: slog.New(slog.DiscardHandler)}}
			req := in
			req.Reply = tc.reply
			got, err := a.AcquireSlot(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Granted != tc.wantGrant || signalled != tc.wantSignal {
				t.Fatalf("granted %v, signalled %v; want %v, %v", got.Granted, signalled, tc.wantGrant, tc.wantSignal)
			}
			if tc.reply && (opts.WorkflowID != "slots-q" || opts.UpdateName != task.UpdateAcquire ||
				opts.UpdateID != "acquire/task-1/g0/a1" || opts.WaitForStage != client.WorkflowUpdateStageCompleted) {
				t.Fatalf("update options %+v", opts)
			}
			if !tc.reply {
				c.AssertNotCalled(t, "UpdateWorkflow", mock.Anything, mock.Anything)
			}
		})
	}
}
