package sandbox_test

import (
	"context"
	"path/filepath"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"ai-platform/internal/runner"
	"ai-platform/internal/sandbox"
	"ai-platform/internal/tracing"
)

// The worker's span crosses the socket as a traceparent header: the
// service's spans (its own provider, as in its own process) are children
// of it; a run without one gets a trace of the service's own.
func TestServiceJoinsTheWorkersTrace(t *testing.T) {
	serviceSpans := tracetest.NewInMemoryExporter()
	serviceTP := sdktrace.NewTracerProvider(sdktrace.WithSyncer(serviceSpans))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root, sock := serveInProcess(ctx, t, tracing.New(serviceTP))
	client, err := sandbox.Dial(ctx, sock, root)
	must(t, err)
	workerTP := sdktrace.NewTracerProvider()
	spec := runner.Spec{Argv: []string{"python3", "-c", "raise SystemExit(3)"}, Dir: filepath.Join(root, "task-1"),
		Purpose: "tests", RunID: "run-1"}

	tests := []struct {
		name   string
		traced bool
	}{
		{"a run under a worker span", true},
		{"a run without one", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serviceSpans.Reset()
			rctx := ctx
			if tt.traced {
				var s trace.Span
				rctx, s = workerTP.Tracer("test").Start(ctx, "command tests")
				defer s.End()
			}
			res := client.Run(rctx, spec)
			if res.ExitCode == nil || *res.ExitCode != 3 {
				t.Fatalf("result %+v", res)
			}
			byName := map[string]tracetest.SpanStub{}
			for _, s := range serviceSpans.GetSpans() {
				byName[s.Name] = s
			}
			srv, ok := byName["sandbox run tests"]
			if !ok {
				t.Fatalf("no service span; got %v", byName)
			}
			if !tt.traced {
				// The service still traces its own work, as a trace of its own.
				if srv.Parent.IsValid() {
					t.Errorf("service span has parent %s without a traceparent", srv.Parent.SpanID())
				}
				return
			}
			worker := trace.SpanContextFromContext(rctx)
			if srv.SpanContext.TraceID() != worker.TraceID() || srv.Parent.SpanID() != worker.SpanID() || !srv.Parent.IsRemote() {
				t.Errorf("service span: trace %s parent %s (remote %v); want trace %s parent %s",
					srv.SpanContext.TraceID(), srv.Parent.SpanID(), srv.Parent.IsRemote(), worker.TraceID(), worker.SpanID())
			}
			exec, ok := byName["sandbox exec python3"]
			if !ok {
				t.Fatal("no runner span in the service")
			}
			if exec.Parent.SpanID() != srv.SpanContext.SpanID() {
				t.Errorf("runner span's parent %s, want the service span %s", exec.Parent.SpanID(), srv.SpanContext.SpanID())
			}
			attrs := map[string]any{}
			for _, a := range exec.Attributes {
				attrs[string(a.Key)] = a.Value.AsInterface()
			}
			if attrs["process.exit.code"] != int64(3) || attrs["ai_platform.command.run_id"] != "run-1" {
				t.Errorf("runner span attributes %v", attrs)
			}
		})
	}
}
