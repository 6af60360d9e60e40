package app

import (
	"fmt"

	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/interceptor"

	"ai-platform/internal/config"
	"ai-platform/internal/task"
	"ai-platform/internal/tracing"
)

// TracingSettings are the OTEL_* variables as package tracing takes them.
func TracingSettings(cfg config.Config) tracing.Settings {
	return tracing.Settings{Endpoint: cfg.OTelEndpoint, Protocol: cfg.OTelProtocol, ServiceName: cfg.OTelServiceName}
}

// StartTracing turns on OpenTelemetry tracing for this process when
// OTEL_EXPORTER_OTLP_ENDPOINT is set, named after its role
// (tracing.ServiceAPI...) unless OTEL_SERVICE_NAME says otherwise. Call it
// before Dial: the Temporal client takes its interceptors then. Close
// flushes what is buffered.
func (a *App) StartTracing(role string) error {
	t, err := tracing.Start(TracingSettings(a.Config), role)
	if err != nil {
		return err
	}
	a.Tracing = t
	if t.Enabled() {
		a.Log.Info("tracing: exporting spans over OTLP", "endpoint", a.Config.OTelEndpoint,
			"protocol", a.Config.OTelProtocol, "role", role)
	}
	return nil
}

// requestTracer is the provider of the API's request spans; nil (no
// middleware at all) when tracing is off.
func (a *App) requestTracer() trace.TracerProvider {
	if !a.Tracing.Enabled() {
		return nil
	}
	return a.Tracing.Provider()
}

// TemporalTracing says how the platform's workflows split into traces: a
// task's work after an answer, a resume or an unpause moves to the trace of
// that request; the slots workflow, which outlives every task, has traces
// of its own.
func TemporalTracing() tracing.TemporalOptions {
	return tracing.TemporalOptions{
		Handover: map[string][]string{task.WorkflowName: {task.SignalInput, task.SignalResume, task.SignalUnpause}},
		Detached: []string{task.SlotsWorkflowName},
	}
}

// temporalInterceptors trace every client call, workflow run, signal and
// activity (TemporalTracing); nil when tracing is off.
func (a *App) temporalInterceptors() ([]interceptor.ClientInterceptor, error) {
	ics, err := a.Tracing.TemporalInterceptors(TemporalTracing())
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	return ics, nil
}
