package workflows

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// TestBaselineAsksOnce: a run that records changeBaseline asks GetVersion
// for nothing else, and takes every change's new branch (the slot reply, the
// split review); a run recorded before it (no baseline marker: the version
// is DefaultVersion) asks for each change as it did before.
func TestBaselineAsksOnce(t *testing.T) {
	changes := []string{changeSearchAttributes, changeSignalPath, changeSlotReply, changeReviewSplit,
		changeBudgetGate, changePlanApproval, changeRetryResumePoint}
	cases := []struct {
		name     string
		baseline workflow.Version
		want     []string // the changes asked, in order, each once
	}{
		{"a run that has the baseline", 1, nil},
		{"a run recorded before the baseline", workflow.DefaultVersion,
			[]string{changeSearchAttributes, changeSignalPath, changeSlotReply, changeReviewSplit}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var asked []string
			baselines := 0
			h.env.OnGetVersion(changeBaseline, workflow.DefaultVersion, 1).
				Run(func(mock.Arguments) { baselines++ }).Return(tc.baseline)
			for _, c := range changes {
				h.env.OnGetVersion(c, workflow.DefaultVersion, 1).Run(func(mock.Arguments) {
					if !slices.Contains(asked, c) {
						asked = append(asked, c)
					}
				}).Return(workflow.Version(1))
			}
			h.run(task.Input{TemplateID: testTemplate, OwnerKey: testOwner, TaskTTLDays: 7})
			if err := h.env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow error: %v", err)
			}
			if baselines != 1 {
				t.Errorf("baseline asked %d times, want once", baselines)
			}
			if !slices.Equal(asked, tc.want) {
				t.Errorf("changes asked %q, want %q", asked, tc.want)
			}
			if n := h.count(task.ActFinish); n != 1 {
				t.Errorf("Finish ran %d times, want once (the task runs to its end)", n)
			}
			// Every change's new branch: the slot in the reply, the review
			// split into critique and checks.
			if len(h.acquires) == 0 || !h.acquires[0].Reply {
				t.Errorf("slot requests %+v, want the first to ask for the reply", h.acquires)
			}
			checks, single := h.countPrefix(task.ActReviewChecks+":"), h.countPrefix(task.ActReview+":")
			if checks == 0 || single != 0 {
				t.Errorf("ReviewChecks ran %d times, Review %d, want the split review", checks, single)
			}
		})
	}
}

// countPrefix counts the recorded calls whose name starts with prefix (a
// review is recorded with its kind, "ReviewChecks:iteration").
func (h *harness) countPrefix(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}
