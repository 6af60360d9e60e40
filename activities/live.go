package activities

import (
	"context"
	"fmt"

	"ai-platform/internal/live"
	"ai-platform/internal/llm"
	"ai-platform/internal/task"
)

// liveOutput makes *ctx carry a sink that publishes what the model writes
// during this stage attempt to the task's live channel, and returns the
// func that closes the stream (flushing what is held and saying the
// attempt's model calls are over). A stage calls it as
//
//	defer a.liveOutput(&ctx, in.Step, task.StageResearch)()
//
// right before its conversation. The partial text goes only to the live
// channel, never to events, artifacts or the workflow's history. Without
// Deps.Live it does nothing.
func (a *Activities) liveOutput(ctx *context.Context, step task.Step, stage string) func() {
	if a.Live == nil {
		return func() {}
	}
	n := attempt(*ctx)
	s := live.NewStream(a.Live, live.StreamConfig{
		TaskID: step.TaskID, ID: fmt.Sprintf("%s/%s/a%d", stage, step.Key, n), Stage: stage,
		Role: roleOf(stage), Attempt: n, Files: stage == task.StageImplement, Now: a.Now,
		// What a model writes could hold a configured secret: it is
		// redacted here as everywhere else.
		Secrets: a.Secrets,
	})
	*ctx = llm.WithSink(*ctx, s.Sink())
	return s.Close
}
