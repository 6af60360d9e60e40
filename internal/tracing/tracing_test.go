package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestStart(t *testing.T) {
	tests := []struct {
		name    string
		s       Settings
		enabled bool
		wantErr string
	}{
		{"no endpoint: off", Settings{}, false, ""},
		{"http", Settings{Endpoint: "http://127.0.0.1:4318", Protocol: ProtocolHTTP}, true, ""},
		{"grpc", Settings{Endpoint: "http://127.0.0.1:4317/", Protocol: ProtocolGRPC}, true, ""},
		{"default protocol", Settings{Endpoint: "https://collector.example:4318"}, true, ""},
		{"unknown protocol", Settings{Endpoint: "http://127.0.0.1:4318", Protocol: "http/json"}, false, "unknown OTLP protocol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Start(tt.s, ServiceWorker)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.Enabled() != tt.enabled {
				t.Fatalf("enabled %v, want %v", tr.Enabled(), tt.enabled)
			}
			// Nothing buffered: the flush returns at once, collector or not.
			if err := tr.Shutdown(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestChild(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	_, child := Child(ctx, "child")
	child.End()
	parent.End()
	got := spans.GetSpans()
	if len(got) != 2 || got[0].Name != "child" || got[0].Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %v", got)
	}
	// No span in the context: nothing is recorded, whatever the caller does.
	_, none := Child(context.Background(), "orphan")
	if none.IsRecording() || none.SpanContext().IsValid() {
		t.Error("Child without a parent recorded a span")
	}
}

func TestLogHandler(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	sc := span.SpanContext()
	tests := []struct {
		name      string
		log       func(*slog.Logger)
		wantTrace bool
	}{
		{"with a span", func(l *slog.Logger) { l.InfoContext(ctx, "m", "k", "v") }, true},
		{"without a context", func(l *slog.Logger) { l.Info("m", "k", "v") }, false},
		{"context without a span", func(l *slog.Logger) { l.InfoContext(context.Background(), "m") }, false},
		{"logger already tagged", func(l *slog.Logger) { l.With(LogAttrs(ctx)...).InfoContext(ctx, "m") }, true},
		{"in a group", func(l *slog.Logger) { l.WithGroup("g").With("a", 1).InfoContext(ctx, "m") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(LogHandler(LogHandler(slog.NewJSONHandler(&buf, nil))))
			tt.log(l)
			line := buf.String()
			if n := strings.Count(line, `"trace_id"`); (n == 1) != tt.wantTrace || n > 1 {
				t.Fatalf("%d trace_id keys in %s", n, line)
			}
			if !tt.wantTrace {
				return
			}
			if !strings.Contains(line, sc.TraceID().String()) || !strings.Contains(line, sc.SpanID().String()) {
				t.Errorf("line %s lacks trace %s span %s", line, sc.TraceID(), sc.SpanID())
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			if m["msg"] != "m" {
				t.Errorf("the line's own fields were lost: %s", line)
			}
		})
	}
	if LogAttrs(context.Background()) != nil || len(LogAttrs(trace.ContextWithSpanContext(context.Background(), sc))) != 4 {
		t.Error("LogAttrs")
	}
}
