// Package tracing is the platform's OpenTelemetry tracing: one trace from an
// HTTP request through the Temporal workflow it starts or signals, each
// activity, each LLM request and each command run, across the api, worker
// and sandbox processes.
//
// Nothing is global: a process builds one Tracing (Start) and hands its
// provider to what needs it (the Temporal client, the Gin router, the
// sandbox service). Code below an instrumented entry point (the agents'
// LLM requests, the runner's commands) starts its spans from the span its
// context carries (Child), so it needs no provider of its own and costs
// nothing when tracing is off: without a span in the context, Child's span
// is a no-op.
//
// Spans carry ids, names, counts and outcomes only; never prompt text,
// answers, file contents, headers or keys.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Default service names (OTEL_SERVICE_NAME overrides them), one per process
// role, so a trace shows which process did what.
const (
	ServiceAPI     = "ai-platform-api"
	ServiceWorker  = "ai-platform-worker"
	ServiceAll     = "ai-platform" // `aiplatform run`: API and worker in one process
	ServiceSandbox = "ai-platform-sandbox"
)

// Protocols of the OTLP exporter (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	ProtocolHTTP = "http/protobuf"
	ProtocolGRPC = "grpc"
)

// Settings come from OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL
// and OTEL_SERVICE_NAME (package config reads and validates them).
type Settings struct {
	// Endpoint is the collector's base URL (http://jaeger:4318); empty
	// turns tracing off.
	Endpoint    string
	Protocol    string
	ServiceName string
}

// Tracing is a process's tracer provider. A nil *Tracing is valid and
// traces nothing.
type Tracing struct {
	provider trace.TracerProvider
	shutdown func(context.Context) error
}

// shutdownTimeout bounds the final flush at exit: a collector that is down
// must not hold up a stopping process.
const shutdownTimeout = 5 * time.Second

// Start builds the process's tracing: OTLP export to s.Endpoint in batches,
// or nil (no tracing, no cost) when s.Endpoint is empty. role is the
// service name used when s.ServiceName is empty.
func Start(s Settings, role string) (*Tracing, error) {
	if s.Endpoint == "" {
		return nil, nil
	}
	exp, err := newExporter(s)
	if err != nil {
		return nil, err
	}
	name := s.ServiceName
	if name == "" {
		name = role
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", name)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{provider: tp, shutdown: tp.Shutdown}, nil
}

func newExporter(s Settings) (sdktrace.SpanExporter, error) {
	// Both exporters are created without connecting: a collector that is
	// not up yet costs dropped batches, never a failed start.
	base := strings.TrimRight(s.Endpoint, "/")
	switch s.Protocol {
	case ProtocolGRPC:
		exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpointURL(base))
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP gRPC exporter for %s: %w", base, err)
		}
		return exp, nil
	case ProtocolHTTP, "":
		// OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: the traces path is
		// appended, as the OpenTelemetry specification says.
		exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(base+"/v1/traces"))
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP HTTP exporter for %s: %w", base, err)
		}
		return exp, nil
	}
	return nil, fmt.Errorf("tracing: unknown OTLP protocol %q (allowed: %s, %s)", s.Protocol, ProtocolHTTP, ProtocolGRPC)
}

// New wraps an existing provider (tests use one with an in-memory
// exporter); its shutdown stays with the caller.
func New(tp trace.TracerProvider) *Tracing {
	if tp == nil {
		return nil
	}
	return &Tracing{provider: tp}
}

// Enabled reports whether spans are recorded.
func (t *Tracing) Enabled() bool { return t != nil }

// Provider is the tracer provider (a no-op one when t is nil).
func (t *Tracing) Provider() trace.TracerProvider {
	if t == nil {
		return noop.NewTracerProvider()
	}
	return t.provider
}

// Shutdown exports the spans still buffered, bounded by shutdownTimeout.
func (t *Tracing) Shutdown() error {
	if t == nil || t.shutdown == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := t.shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("tracing: flushing spans: %w", err)
	}
	return nil
}

// Propagator carries W3C trace context (traceparent, tracestate) across
// HTTP, Temporal headers and the sandbox protocol. Baggage is not
// propagated: nothing in the platform uses it, and it could carry a
// caller's data into our processes.
func Propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// Inject writes ctx's span context into h as a traceparent header.
func Inject(ctx context.Context, h http.Header) {
	Propagator().Inject(ctx, propagation.HeaderCarrier(h))
}

// Extract returns ctx with the remote span context h carries, if any.
func Extract(ctx context.Context, h http.Header) context.Context {
	return Propagator().Extract(ctx, propagation.HeaderCarrier(h))
}

// instrumentation is the tracer name of the platform's own spans.
const instrumentation = "ai-platform"

// Child starts a span under the span ctx carries, from that span's own
// provider. Without a span in ctx it returns the no-op span ctx has, so
// callers need no provider and tracing off costs nothing.
func Child(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(instrumentation).Start(ctx, name, opts...)
}

// StartServer starts a server span for a request received with the
// remote parent ctx carries (Extract), on this process's provider.
func (t *Tracing) StartServer(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return t.Provider().Tracer(instrumentation).Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attrs...))
}
