package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"ai-platform/internal/task"
)

// TestCodexStageTimeoutsBoundTheStageActivities: the codex's per-stage
// timeouts (carried in the plan) become the start-to-close timeout of each
// stage's activity; a stage the codex leaves out keeps the default.
func TestCodexStageTimeoutsBoundTheStageActivities(t *testing.T) {
	cases := []struct {
		name     string
		timeouts map[string]int
		want     map[string]time.Duration
	}{
		{"codex timeouts", map[string]int{"research": 7, "design": 11, "implementation": 13, "review": 17},
			map[string]time.Duration{task.ActResearch: 7 * time.Second, task.ActDesign: 11 * time.Second,
				task.ActCode: 13 * time.Second, task.ActReviewChecks: 17 * time.Second, task.ActReviewCritique: 17 * time.Second}},
		{"defaults", nil, map[string]time.Duration{task.ActResearch: defaultStageTimeout, task.ActDesign: defaultStageTimeout,
			task.ActCode: defaultStageTimeout, task.ActReviewChecks: defaultReviewTimeout, task.ActReviewCritique: defaultStageTimeout}},
		{"one stage set, zero ignored", map[string]int{"design": 5, "review": 0},
			map[string]time.Duration{task.ActResearch: defaultStageTimeout, task.ActDesign: 5 * time.Second,
				task.ActCode: defaultStageTimeout, task.ActReviewChecks: defaultReviewTimeout, task.ActReviewCritique: defaultStageTimeout}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.plan.Timeouts = tc.timeouts
			var mu sync.Mutex
			got := map[string]time.Duration{}
			h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				mu.Lock()
				defer mu.Unlock()
				if _, seen := got[info.ActivityType.Name]; !seen {
					got[info.ActivityType.Name] = info.Deadline.Sub(info.StartedTime)
				}
			})
			h.run(task.Input{MaxConcurrent: 2})
			if err := h.env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for act, want := range tc.want {
				// The test clock may tick between the two readings.
				if d := got[act]; d < want || d > want+time.Second {
					t.Errorf("%s: start-to-close %v, want %v", act, d, want)
				}
			}
		})
	}
}
