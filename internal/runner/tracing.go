package runner

import (
	"context"
	"path/filepath"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"ai-platform/internal/tracing"
)

// startSpan opens the span of one confined run under the caller's span: the
// worker's command span when the worker runs commands itself, the sandbox
// service's request span in that process. None when the caller has none.
func startSpan(ctx context.Context, s Spec, mode string) (context.Context, trace.Span) {
	name := ""
	if len(s.Argv) > 0 {
		name = filepath.Base(s.Argv[0])
	}
	return tracing.Child(ctx, "sandbox exec "+name, trace.WithAttributes(
		attribute.String("ai_platform.command.name", name), attribute.String("ai_platform.command.purpose", s.Purpose),
		attribute.String("ai_platform.command.run_id", s.RunID), attribute.String("ai_platform.command.sandbox", mode)))
}

// endSpan records the run's outcome (codes and timings, never its output).
func endSpan(span trace.Span, res Result) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.Bool("ai_platform.command.ran", res.Ran),
		attribute.Bool("ai_platform.command.timed_out", res.TimedOut),
		attribute.Bool("ai_platform.command.quota_exceeded", res.QuotaExceeded),
		attribute.Float64("ai_platform.command.duration_ms", res.DurationSeconds*1000))
	if res.ExitCode != nil {
		span.SetAttributes(attribute.Int("process.exit.code", *res.ExitCode))
	}
	if res.Error != "" {
		span.SetStatus(codes.Error, res.Error)
	}
	span.End()
}
