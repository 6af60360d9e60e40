package agents

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"ai-platform/internal/llm"
	"ai-platform/internal/tracing"
)

// Span attributes of one provider request. The gen_ai.* names are
// OpenTelemetry's generative-AI conventions; the rest are ours. A span
// carries the model, the stage, token counts and the outcome: never the
// messages, the reply or anything of the provider's error text (which can
// quote a key).
const (
	attrProvider      = "gen_ai.provider.name"
	attrOperation     = "gen_ai.operation.name"
	attrRequestModel  = "gen_ai.request.model"
	attrResponseModel = "gen_ai.response.model"
	attrInputTokens   = "gen_ai.usage.input_tokens"
	attrOutputTokens  = "gen_ai.usage.output_tokens"
	attrFinishReasons = "gen_ai.response.finish_reasons"
	attrStage         = "ai_platform.stage"
	attrAttempt       = "ai_platform.attempt"
	attrFallback      = "ai_platform.llm.fallback"
	attrCounted       = "ai_platform.llm.usage_counted"
	attrMessages      = "ai_platform.llm.messages"
	attrErrorStatus   = "ai_platform.llm.error_status"
	attrRetryable     = "ai_platform.llm.retryable"
	attrRefused       = "ai_platform.llm.refused"
)

// startRequestSpan opens the span of one provider request under the
// activity's span (none when tracing is off).
func (c *conversation) startRequestSpan(ctx context.Context, req llm.Request) (context.Context, trace.Span) {
	return tracing.Child(ctx, "llm "+c.stage, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String(attrProvider, c.a.Provider.Name()),
		attribute.String(attrOperation, "chat"),
		attribute.String(attrRequestModel, c.modelName()),
		attribute.String(attrStage, c.stage),
		attribute.Int(attrAttempt, c.turn.Attempt),
		attribute.Bool(attrFallback, c.model != ""),
		attribute.Int(attrMessages, len(req.Messages)),
	))
}

// endRequestSpan records the request's outcome and ends its span.
func endRequestSpan(span trace.Span, resp llm.Response, model string, err error) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(
		attribute.String(attrResponseModel, model),
		attribute.Int64(attrInputTokens, resp.Usage.InputTokens),
		attribute.Int64(attrOutputTokens, resp.Usage.OutputTokens),
		attribute.Bool(attrCounted, resp.UsageCounted),
	)
	if resp.FinishReason != "" {
		span.SetAttributes(attribute.StringSlice(attrFinishReasons, []string{resp.FinishReason}))
	}
	if err != nil {
		// The kind of failure only: the message may quote the provider's
		// answer, which may quote the key.
		var pe *llm.Error
		desc := "request failed"
		switch {
		case errors.As(err, &pe):
			span.SetAttributes(attribute.Int(attrErrorStatus, pe.Status), attribute.Bool(attrRetryable, pe.Retryable),
				attribute.Bool(attrRefused, pe.Refused))
			desc = "provider error"
		case errors.Is(err, context.Canceled):
			desc = "cancelled"
		case errors.Is(err, context.DeadlineExceeded):
			desc = "timed out"
		}
		span.SetStatus(codes.Error, desc)
	}
	span.End()
}
