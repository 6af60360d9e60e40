package activities

import (
	"context"
	"path/filepath"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"ai-platform/internal/runner"
	"ai-platform/internal/tracing"
)

// Span attributes of a review command. Names, outcomes and timings only:
// never the command's output.
const (
	attrCommand  = "ai_platform.command.name"
	attrPurpose  = "ai_platform.command.purpose"
	attrReused   = "ai_platform.command.reused"
	attrRunID    = "ai_platform.command.run_id"
	attrExitCode = "process.exit.code"
	attrOutcome  = "ai_platform.command.outcome"
	attrDuration = "ai_platform.command.duration_ms"
	attrTimedOut = "ai_platform.command.timed_out"
	attrSandbox  = "ai_platform.command.sandbox"
)

// startCommandSpan opens the span of one review check's command under the
// activity's span; the sandbox service's span (another process) and the
// runner's become its children.
func startCommandSpan(ctx context.Context, purpose string, tool Tool) (context.Context, trace.Span) {
	name := ""
	if len(tool.Argv) > 0 {
		name = filepath.Base(tool.Argv[0])
	}
	return tracing.Child(ctx, "command "+purpose, trace.WithAttributes(
		attribute.String(attrCommand, name), attribute.String(attrPurpose, purpose)))
}

// endCommandSpan records what the run (or the earlier run it reused) did.
func endCommandSpan(span trace.Span, res runner.Result, reused bool) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.Bool(attrReused, reused), attribute.String(attrRunID, res.RunID),
		attribute.String(attrOutcome, commandOutcome(res)), attribute.Bool(attrTimedOut, res.TimedOut),
		attribute.Float64(attrDuration, res.DurationSeconds*1000), attribute.String(attrSandbox, res.Sandbox))
	if res.ExitCode != nil {
		span.SetAttributes(attribute.Int(attrExitCode, *res.ExitCode))
	}
	if res.Error != "" {
		// Error is one of the runner's codes (or a start failure), never
		// the command's output.
		span.SetStatus(codes.Error, res.Error)
	}
	span.End()
}
