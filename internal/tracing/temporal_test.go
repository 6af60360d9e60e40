package tracing

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/interceptor"
)

// newTestTracer is the hand-over tracer TemporalInterceptors builds, over
// an in-memory exporter.
func newTestTracer(t *testing.T) (*handoverTracer, *tracetest.InMemoryExporter) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tr := New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans)))
	ics, err := tr.TemporalInterceptors(TemporalOptions{Detached: []string{"Slots"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ics) != 2 {
		t.Fatalf("%d interceptors", len(ics))
	}
	return ics[1].(*handoverInterceptor).tracer, spans
}

// remoteSpan is a span of another process (the API's SignalWorkflow) as a
// Temporal header carries it.
func remoteSpan(t *testing.T, ht *handoverTracer) (trace.SpanContext, map[string]string, interceptor.TracerSpanRef) {
	t.Helper()
	_, s := sdktrace.NewTracerProvider().Tracer("api").Start(context.Background(), "SignalWorkflow:resume")
	defer s.End()
	carrier := map[string]string{}
	Propagator().Inject(trace.ContextWithSpan(context.Background(), s), propagation.MapCarrier(carrier))
	ref, err := ht.UnmarshalSpan(carrier)
	if err != nil || ref == nil {
		t.Fatalf("unmarshal: %v %v", ref, err)
	}
	return s.SpanContext(), carrier, ref
}

func byName(spans tracetest.SpanStubs) map[string]tracetest.SpanStub {
	out := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		out[s.Name] = s
	}
	return out
}

// After a hand-over, what a workflow starts goes under the hand-over span;
// the run's own span ends at the hand-over and once only.
func TestHandoverMovesLaterWork(t *testing.T) {
	ht, spans := newTestTracer(t)
	run, err := ht.StartSpan(&interceptor.TracerStartSpanOptions{Operation: "RunWorkflow", Name: "Task"})
	if err != nil {
		t.Fatal(err)
	}
	ts := run.(*taskSpan)
	before, _ := ht.StartSpan(&interceptor.TracerStartSpanOptions{Parent: ts, Operation: "StartActivity", Name: "Research", ToHeader: true})
	before.Finish(&interceptor.TracerFinishSpanOptions{})

	tests := []struct {
		name    string
		current func() (interceptor.TracerSpanRef, trace.SpanContext, map[string]string)
	}{
		{"live: the signal's span", func() (interceptor.TracerSpanRef, trace.SpanContext, map[string]string) {
			sig, _ := ht.StartSpan(&interceptor.TracerStartSpanOptions{Operation: "HandleSignal", Name: "resume"})
			sig.Finish(&interceptor.TracerFinishSpanOptions{})
			return sig, spanContextOf(sig), nil
		}},
		{"replayed: the sender's span from the header", func() (interceptor.TracerSpanRef, trace.SpanContext, map[string]string) {
			sc, carrier, ref := remoteSpan(t, ht)
			return remoteRef{ref: ref, carrier: carrier}, sc, carrier
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, want, carrier := tt.current()
			ts.current = cur
			ts.endRun()
			after, err := ht.StartSpan(&interceptor.TracerStartSpanOptions{Parent: ts, Operation: "StartActivity", Name: "Design", ToHeader: true})
			if err != nil {
				t.Fatal(err)
			}
			after.Finish(&interceptor.TracerFinishSpanOptions{})
			got := byName(spans.GetSpans())
			if p := got["StartActivity:Design"].Parent; p.TraceID() != want.TraceID() || p.SpanID() != want.SpanID() {
				t.Errorf("later work's parent %s/%s, want %s/%s", p.TraceID(), p.SpanID(), want.TraceID(), want.SpanID())
			}
			if p := got["StartActivity:Research"].Parent; p.SpanID() != ts.run.(trace.Span).SpanContext().SpanID() {
				t.Errorf("earlier work's parent %s, want the run", p.SpanID())
			}
			// A continue-as-new passes the hand-over span on.
			m, err := ht.MarshalSpan(ts)
			if err != nil {
				t.Fatal(err)
			}
			if carrier != nil && m["traceparent"] != carrier["traceparent"] {
				t.Errorf("continue-as-new header %v, want %v", m, carrier)
			}
			if ref, _ := ht.UnmarshalSpan(m); spanContextOf(ref).SpanID() != want.SpanID() {
				t.Errorf("continue-as-new header names %v, want %s", m, want.SpanID())
			}
		})
	}
	ts.Finish(&interceptor.TracerFinishSpanOptions{Error: errors.New("late failure")})
	n := 0
	for _, s := range spans.GetSpans() {
		if s.Name == "RunWorkflow:Task" {
			n++
			if s.Status.Description != "" {
				t.Errorf("the ended run span took a later status: %v", s.Status)
			}
		}
	}
	if n != 1 {
		t.Errorf("RunWorkflow exported %d times, want once (at the hand-over)", n)
	}
}

// A detached workflow's run starts a trace of its own, linked to its
// starter; other runs stay in their starter's trace.
func TestDetachedWorkflowsStartTheirOwnTrace(t *testing.T) {
	ht, spans := newTestTracer(t)
	tests := []struct {
		workflow string
		detached bool
	}{
		{"Slots", true},
		{"Task", false},
	}
	for _, tt := range tests {
		t.Run(tt.workflow, func(t *testing.T) {
			starter, _, ref := remoteSpan(t, ht)
			run, err := ht.StartSpan(&interceptor.TracerStartSpanOptions{Parent: ref, Operation: "RunWorkflow", Name: tt.workflow})
			if err != nil {
				t.Fatal(err)
			}
			run.Finish(&interceptor.TracerFinishSpanOptions{})
			s := byName(spans.GetSpans())["RunWorkflow:"+tt.workflow]
			if tt.detached {
				if s.Parent.IsValid() || s.SpanContext.TraceID() == starter.TraceID() {
					t.Errorf("detached run has parent %s in trace %s", s.Parent.SpanID(), s.SpanContext.TraceID())
				}
				if len(s.Links) != 1 || s.Links[0].SpanContext.SpanID() != starter.SpanID() {
					t.Errorf("links %+v, want one to the starter %s", s.Links, starter.SpanID())
				}
				return
			}
			if s.Parent.SpanID() != starter.SpanID() || len(s.Links) != 0 {
				t.Errorf("run parent %s links %d, want the starter %s and none", s.Parent.SpanID(), len(s.Links), starter.SpanID())
			}
		})
	}
}
