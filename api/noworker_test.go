package api

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// TestNoWorkerNeedsFailedPreconditionAndNoPoller: a state query (unpause
// asks the workflow whether it is paused) that Temporal
// refuses is "no worker" (503) only when the refusal is FailedPrecondition and
// the task queue lists no worker that polled recently; any other combination
// is an internal error (500).
func TestNoWorkerNeedsFailedPreconditionAndNoPoller(t *testing.T) {
	noPollerErr := serviceerror.NewFailedPrecondition("no poller seen for task queue recently, worker may be down")
	poller := func(seen time.Duration) []*taskqueuepb.PollerInfo {
		return []*taskqueuepb.PollerInfo{{Identity: "worker@host", LastAccessTime: timestamppb.New(time.Now().Add(-seen))}}
	}
	cases := []struct {
		name       string
		queryErr   error
		pollers    []*taskqueuepb.PollerInfo
		describe   error // DescribeTaskQueue's error
		noDescribe bool  // DescribeTaskQueue must not be called
		status     int
	}{
		{name: "failed precondition, no poller", queryErr: noPollerErr, status: 503},
		{name: "failed precondition, a worker polls", queryErr: noPollerErr, pollers: poller(time.Second), status: 500},
		{name: "failed precondition, last poll three minutes ago", queryErr: noPollerErr, pollers: poller(3 * time.Minute), status: 503},
		{name: "failed precondition, wrapped", queryErr: errors.Join(errors.New("query"), noPollerErr), status: 503},
		{name: "failed precondition, describe fails", queryErr: noPollerErr, describe: serviceerror.NewInternal("boom"), status: 500},
		{name: "same text, another code", queryErr: serviceerror.NewInternal("no poller seen for task queue recently"),
			noDescribe: true, status: 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.expectStart()
			id := f.create("k", "a task")
			_, _ = f.store.UpdateTask(t.Context(), id, func(row *store.Task) error { row.Status = task.StatusProcessing; return nil })
			f.client.On("QueryWorkflow", mock.Anything, task.WorkflowID(id), "", task.QueryState).Return(nil, tc.queryErr)
			f.client.On("DescribeTaskQueue", mock.Anything, f.cfg.TemporalTaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW).
				Return(&workflowservice.DescribeTaskQueueResponse{Pollers: tc.pollers}, tc.describe)
			w := f.do("POST", "/api/tasks/"+id+"/unpause", "k", nil)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			d, _ := detail(t, w).(string)
			if noWorker := strings.Contains(d, "No worker is running"); noWorker != (tc.status == 503) {
				t.Fatalf("detail %q", d)
			}
			if tc.status == 503 && w.Header().Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			if tc.noDescribe {
				f.client.AssertNotCalled(t, "DescribeTaskQueue", mock.Anything, mock.Anything, mock.Anything)
			} else {
				f.client.AssertCalled(t, "DescribeTaskQueue", mock.Anything, f.cfg.TemporalTaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
			}
		})
	}
}
