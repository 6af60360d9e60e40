package tracing

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"
)

// TemporalOptions say how workflows split into traces.
type TemporalOptions struct {
	// Handover maps a workflow type to the signals after which its work
	// belongs to the signal sender's trace (the /input or /resume request),
	// linked to the workflow's first trace. A task that waits days for an
	// answer thus does not keep one trace open: the trace of its creation
	// ends when the answer arrives, and the answer's request roots the rest.
	Handover map[string][]string
	// Detached lists workflow types whose runs start a trace of their own,
	// linked to the trace that started them: the long-lived slots workflow
	// would otherwise live (through every continue-as-new) in the trace of
	// whichever task happened to start it.
	Detached []string
}

// Attribute keys of the links and spans this file adds.
const (
	// AttrLinkReason says why a span links to another trace.
	AttrLinkReason = "ai_platform.link"
	// LinkFirstTrace: the span continues, in its own trace, the work of a
	// workflow whose first trace the link points to.
	LinkFirstTrace = "workflow_first_trace"
	// LinkStartedBy: a detached workflow run links to the trace that
	// started it.
	LinkStartedBy = "started_by"
	// AttrReplayed marks a RunWorkflow span started while a workflow was
	// rebuilt from its history (after it fell out of the worker's cache):
	// the original run's span was already ended.
	AttrReplayed = "temporal.replayed"
)

// TemporalInterceptors are the interceptors to put on client.Options: the
// Temporal SDK's OpenTelemetry tracing interceptor (client calls, workflow
// runs, signals, activities; the worker takes them from the client), with
// the hand-over of TemporalOptions on top. Nil when tracing is off.
func (t *Tracing) TemporalInterceptors(o TemporalOptions) ([]interceptor.ClientInterceptor, error) {
	if t == nil {
		return nil, nil
	}
	inner, err := opentelemetry.NewTracer(opentelemetry.TracerOptions{
		Tracer:            t.provider.Tracer("temporal-sdk-go"),
		TextMapPropagator: Propagator(),
		DisableBaggage:    true,
		// Queries are polled by the API (GET /api/tasks/:id reads the
		// workflow's state) and would bury the work in spans.
		DisableQueryTracing: true,
	})
	if err != nil {
		return nil, fmt.Errorf("tracing: temporal tracer: %w", err)
	}
	ht := &handoverTracer{inner: inner, detached: map[string]bool{}}
	for _, w := range o.Detached {
		ht.detached[w] = true
	}
	ho := &handoverInterceptor{tracer: ht, key: inner.Options().SpanContextKey, header: inner.Options().HeaderKey,
		signals: map[string]map[string]bool{}}
	for wf, sigs := range o.Handover {
		ho.signals[wf] = map[string]bool{}
		for _, s := range sigs {
			ho.signals[wf][s] = true
		}
	}
	// Order matters: the tracing interceptor runs first and puts its span
	// (RunWorkflow, HandleSignal) on the workflow context the hand-over
	// interceptor then reads.
	return []interceptor.ClientInterceptor{interceptor.NewTracingInterceptor(ht), ho}, nil
}

// taskSpan is what a workflow's context carries as its span: the run's
// RunWorkflow span, and the span its later work is started under. The
// tracing interceptor starts a workflow's activities (and child workflows,
// signals, continue-as-new) under the span its context carries, so moving
// current moves all later work at once, with no change to workflow code.
type taskSpan struct {
	run interceptor.TracerSpan
	// current is run until a hand-over, then the hand-over signal's span
	// (an interceptor.TracerSpan) or, when the hand-over was replayed from
	// history, the sender's span as its header carried it (remoteRef).
	current    interceptor.TracerSpanRef
	handedOver bool
}

// remoteRef is a span known only from a Temporal header: its reference for
// starting children, and the header data to pass it on (continue-as-new).
type remoteRef struct {
	ref     interceptor.TracerSpanRef
	carrier map[string]string
}

func (s *taskSpan) Finish(opts *interceptor.TracerFinishSpanOptions) {
	if s.handedOver {
		// The run span ended at the hand-over; the outcome is on the
		// activities' spans in the later trace.
		return
	}
	s.run.Finish(opts)
}

// endRun ends the RunWorkflow span at a hand-over: the first trace is
// complete once the work has moved to the signal sender's trace.
func (s *taskSpan) endRun() {
	if s.handedOver {
		return
	}
	s.handedOver = true
	s.run.Finish(&interceptor.TracerFinishSpanOptions{})
}

// handoverTracer is the SDK's OpenTelemetry tracer, with workflow runs'
// spans wrapped in taskSpan and detached workflows started as roots.
type handoverTracer struct {
	interceptor.BaseTracer
	inner    interceptor.Tracer
	detached map[string]bool
}

func (h *handoverTracer) Options() interceptor.TracerOptions { return h.inner.Options() }

func (h *handoverTracer) UnmarshalSpan(m map[string]string) (interceptor.TracerSpanRef, error) {
	return h.inner.UnmarshalSpan(m)
}

func (h *handoverTracer) MarshalSpan(span interceptor.TracerSpan) (map[string]string, error) {
	if ts, ok := span.(*taskSpan); ok {
		switch cur := ts.current.(type) {
		case remoteRef:
			out := make(map[string]string, len(cur.carrier))
			for k, v := range cur.carrier {
				out[k] = v
			}
			return out, nil
		case interceptor.TracerSpan:
			span = cur
		default:
			span = ts.run
		}
	}
	return h.inner.MarshalSpan(span)
}

func (h *handoverTracer) SpanFromContext(ctx context.Context) interceptor.TracerSpan {
	return h.inner.SpanFromContext(ctx)
}

func (h *handoverTracer) ContextWithSpan(ctx context.Context, span interceptor.TracerSpan) context.Context {
	if ts, ok := span.(*taskSpan); ok {
		span = ts.run
		if cur, ok := ts.current.(interceptor.TracerSpan); ok {
			span = cur
		}
	}
	return h.inner.ContextWithSpan(ctx, span)
}

func (h *handoverTracer) GetLogger(logger log.Logger, ref interceptor.TracerSpanRef) log.Logger {
	return h.inner.GetLogger(logger, parentOf(ref))
}

func (h *handoverTracer) SpanName(opts *interceptor.TracerStartSpanOptions) string {
	return h.inner.SpanName(opts)
}

// parentOf is the reference a child of ref is started under.
func parentOf(ref interceptor.TracerSpanRef) interceptor.TracerSpanRef {
	ts, ok := ref.(*taskSpan)
	if !ok {
		return ref
	}
	if r, ok := ts.current.(remoteRef); ok {
		return r.ref
	}
	return ts.current
}

func (h *handoverTracer) StartSpan(opts *interceptor.TracerStartSpanOptions) (interceptor.TracerSpan, error) {
	o := *opts
	o.Parent = parentOf(o.Parent)
	if o.Operation != "RunWorkflow" {
		return h.inner.StartSpan(&o)
	}
	var startedBy trace.SpanContext
	if h.detached[o.Name] && o.Parent != nil {
		startedBy = spanContextOf(o.Parent)
		o.Parent = nil
	}
	span, err := h.inner.StartSpan(&o)
	if err != nil {
		return nil, err
	}
	if startedBy.IsValid() {
		if s, ok := span.(trace.Span); ok {
			s.AddLink(trace.Link{SpanContext: startedBy, Attributes: []attribute.KeyValue{
				attribute.String(AttrLinkReason, LinkStartedBy)}})
		}
	}
	return &taskSpan{run: span, current: span}, nil
}

// spanContextOf reads the span context of the SDK tracer's spans and span
// references (whose types it does not export).
func spanContextOf(ref interceptor.TracerSpanRef) trace.SpanContext {
	switch r := ref.(type) {
	case trace.Span:
		return r.SpanContext()
	case interface {
		TraceID() trace.TraceID
		SpanID() trace.SpanID
		TraceFlags() trace.TraceFlags
		TraceState() trace.TraceState
	}:
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: r.TraceID(), SpanID: r.SpanID(),
			TraceFlags: r.TraceFlags(), TraceState: r.TraceState(), Remote: true})
	}
	return trace.SpanContext{}
}

// handoverInterceptor moves a workflow's later work to the trace of a
// hand-over signal's sender (TemporalOptions.Handover). It issues no
// command and reads no state that replay could see differently: it only
// changes which span later spans and headers name.
type handoverInterceptor struct {
	interceptor.InterceptorBase
	tracer  *handoverTracer
	key     any    // the tracing interceptor's workflow-context key
	header  string // the tracing interceptor's Temporal header key
	signals map[string]map[string]bool
}

func (h *handoverInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	w := &handoverInbound{root: h, signals: h.signals[workflow.GetInfo(ctx).WorkflowType.Name]}
	w.Next = next
	return w
}

type handoverInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	root    *handoverInterceptor
	signals map[string]bool
	task    *taskSpan
}

func (w *handoverInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	if ts, ok := ctx.Value(w.root.key).(*taskSpan); ok {
		w.task = ts
		if workflow.IsReplaying(ctx) {
			// Rebuilt from history: this span covers the rebuild, not the
			// run's start (whose span ended when the run left the cache).
			if s, ok := ts.run.(trace.Span); ok {
				s.SetAttributes(attribute.Bool(AttrReplayed, true))
			}
		}
	}
	return w.Next.ExecuteWorkflow(ctx, in)
}

func (w *handoverInbound) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	if w.task != nil && w.signals[in.SignalName] {
		w.handover(ctx)
	}
	return w.Next.HandleSignal(ctx, in)
}

// handover makes the signal's span the parent of the workflow's later work.
// Live, that is the HandleSignal span the tracing interceptor just started
// (a child of the sender's span), which gets a link to the first trace.
// Replayed (the workflow is rebuilt after leaving the cache), no span is
// started: the sender's span from the signal's header stands in, so work
// scheduled after the rebuild still lands in the sender's trace.
func (w *handoverInbound) handover(ctx workflow.Context) {
	if !workflow.IsReplaying(ctx) {
		sig, ok := ctx.Value(w.root.key).(interceptor.TracerSpan)
		if _, wrapped := sig.(*taskSpan); !ok || wrapped {
			return
		}
		if s, ok := sig.(trace.Span); ok {
			if first := spanContextOf(w.task.run); first.IsValid() && first.TraceID() != s.SpanContext().TraceID() {
				s.AddLink(trace.Link{SpanContext: first, Attributes: []attribute.KeyValue{
					attribute.String(AttrLinkReason, LinkFirstTrace)}})
			}
		}
		w.task.current = sig
		w.task.endRun()
		return
	}
	p := interceptor.WorkflowHeader(ctx)[w.root.header]
	if p == nil {
		return
	}
	var carrier map[string]string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &carrier); err != nil {
		return
	}
	ref, err := w.root.tracer.UnmarshalSpan(carrier)
	if err != nil || ref == nil {
		return
	}
	w.task.current = remoteRef{ref: ref, carrier: carrier}
	w.task.endRun()
}
