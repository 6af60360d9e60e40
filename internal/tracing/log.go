package tracing

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log keys of the trace ids in the JSON logs.
const (
	LogTraceID = "trace_id"
	LogSpanID  = "span_id"
)

// LogAttrs are the trace_id and span_id of the span ctx carries, for a
// logger built once per unit of work (logger.With(LogAttrs(ctx)...)); none
// without a span.
func LogAttrs(ctx context.Context) []any {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []any{LogTraceID, sc.TraceID().String(), LogSpanID, sc.SpanID().String()}
}

// LogHandler adds trace_id and span_id to every line logged with a context
// that carries a span (slog's *Context methods, Log). h's own fields are
// kept. Wrapping twice adds them once.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(logHandler); ok {
		return h
	}
	return logHandler{Handler: h}
}

type logHandler struct {
	slog.Handler
	tagged bool // a trace_id was added with WithAttrs (LogAttrs)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	tagged := h.tagged
	for _, a := range attrs {
		tagged = tagged || a.Key == LogTraceID
	}
	return logHandler{Handler: h.Handler.WithAttrs(attrs), tagged: tagged}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{Handler: h.Handler.WithGroup(name), tagged: h.tagged}
}

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && !h.tagged && !hasTraceID(r) {
		r = r.Clone()
		r.AddAttrs(slog.String(LogTraceID, sc.TraceID().String()), slog.String(LogSpanID, sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

// hasTraceID: a line whose logger already names its trace (LogAttrs) keeps
// that one rather than carrying the key twice.
func hasTraceID(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == LogTraceID
		return !found
	})
	return found
}
