// Package metrics is the process's Prometheus registry: HTTP request
// metrics for the API, LLM and command-run metrics for the worker, task
// gauges read from the store, and the Temporal SDK's own metrics. Each
// process builds one Metrics; nothing registers with the global default
// registry.
package metrics

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// namespace prefixes every metric of ours.
const namespace = "aiplatform"

// Metrics owns one registry and the collectors registered with it.
type Metrics struct {
	// Registry holds every metric of the process.
	Registry *prometheus.Registry
	log      *slog.Logger

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	rateLimited  *prometheus.CounterVec
	tasksCreated prometheus.Counter

	llmRequests *prometheus.CounterVec
	llmDuration *prometheus.HistogramVec
	llmTokens   *prometheus.CounterVec
	llmCost     *prometheus.CounterVec

	commandRuns     *prometheus.CounterVec
	commandDuration *prometheus.HistogramVec

	purged *prometheus.CounterVec

	// temporal is the SDK's metrics handler and closer of its tally scope.
	temporal       client.MetricsHandler
	temporalCloser io.Closer

	watchOnce sync.Once
}

// New builds the registry with the Go runtime and process collectors and
// every metric family of the platform.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	f := factory{reg}
	m := &Metrics{
		Registry: reg,
		log:      log,
		httpRequests: f.counterVec("http_requests_total",
			"HTTP requests answered, by method, route template and status code.", "method", "route", "status"),
		httpDuration: f.histogramVec("http_request_duration_seconds",
			"HTTP request latency, by method, route template and status code.", prometheus.DefBuckets,
			"method", "route", "status"),
		rateLimited: f.counterVec("rate_limited_total",
			"Requests refused with 429 by a per-principal rate limit, by scope.", "scope"),
		tasksCreated: f.counter("tasks_created_total", "Tasks created over the API (idempotent replays excluded)."),
		llmRequests: f.counterVec("llm_requests_total",
			"LLM provider requests, by provider, model, pipeline stage and outcome (ok, error, cancelled).",
			"provider", "model", "stage", "outcome"),
		llmDuration: f.histogramVec("llm_request_duration_seconds",
			"LLM provider request latency, by provider and model.",
			[]float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120}, "provider", "model"),
		llmTokens: f.counterVec("llm_tokens_total",
			"LLM tokens reported by the provider, by provider, model, pipeline stage and direction (input, output).",
			"provider", "model", "stage", "direction"),
		// Cost is labelled by model and stage only: a tenant label would
		// grow without bound and expose who spends what; per-tenant cost is
		// in the usage API.
		llmCost: f.counterVec("llm_cost_usd_total",
			"LLM cost in US dollars at the LLM_PRICES table, by model and pipeline stage (0 for an unpriced model).",
			"model", "stage"),
		commandRuns: f.counterVec("command_runs_total",
			"Commands run by the safe runner, by purpose (lint, compile, tests) and outcome "+
				"(passed, failed, timeout, blocked, error, skipped).", "purpose", "outcome"),
		commandDuration: f.histogramVec("command_duration_seconds",
			"Duration of commands run by the safe runner, by purpose and outcome.",
			[]float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}, "purpose", "outcome"),
		purged: f.counterVec("retention_purged_total",
			"Rows and workspaces removed by retention (TASK_TTL_DAYS, WORKSPACE_TTL_DAYS), by kind.", "kind"),
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.temporal, m.temporalCloser = newTemporalHandler(reg, log)
	return m
}

// Handler serves the registry in the Prometheus text format. A collector
// that fails (the store is down) is reported in the log and left out; the
// rest is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.Registry,
	})
}

// Temporal is the handler to set as client.Options.MetricsHandler.
func (m *Metrics) Temporal() client.MetricsHandler { return m.temporal }

// Close flushes and stops the Temporal metrics scope.
func (m *Metrics) Close() error {
	if m.temporalCloser == nil {
		return nil
	}
	return m.temporalCloser.Close()
}

// ObserveRequest implements api.Metrics.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.httpRequests.WithLabelValues(method, route, code).Inc()
	m.httpDuration.WithLabelValues(method, route, code).Observe(d.Seconds())
}

// RateLimited implements api.Metrics.
func (m *Metrics) RateLimited(scope string) { m.rateLimited.WithLabelValues(scope).Inc() }

// RateLimitScopes reports the scopes at zero before any rejection, so the
// series exist for alerts and dashboards from the start.
func (m *Metrics) RateLimitScopes(scopes ...string) {
	for _, s := range scopes {
		m.rateLimited.WithLabelValues(s)
	}
}

// TaskCreated implements api.Metrics.
func (m *Metrics) TaskCreated() { m.tasksCreated.Inc() }

// LLMRequest implements activities.Metrics: one provider request.
func (m *Metrics) LLMRequest(provider, model, stage, outcome string, tokensIn, tokensOut int64, costUSD float64, d time.Duration) {
	m.llmRequests.WithLabelValues(provider, model, stage, outcome).Inc()
	m.llmDuration.WithLabelValues(provider, model).Observe(d.Seconds())
	if tokensIn > 0 {
		m.llmTokens.WithLabelValues(provider, model, stage, "input").Add(float64(tokensIn))
	}
	if tokensOut > 0 {
		m.llmTokens.WithLabelValues(provider, model, stage, "output").Add(float64(tokensOut))
	}
	// Touched even at 0, so a series exists for every model and stage
	// that made a request.
	m.llmCost.WithLabelValues(model, stage).Add(max(costUSD, 0))
}

// Purged implements activities.Metrics.
func (m *Metrics) Purged(kind string, n int64) { m.purged.WithLabelValues(kind).Add(float64(n)) }

// CommandRun implements activities.Metrics: one command run by the runner.
func (m *Metrics) CommandRun(purpose, outcome string, d time.Duration) {
	m.commandRuns.WithLabelValues(purpose, outcome).Inc()
	m.commandDuration.WithLabelValues(purpose, outcome).Observe(d.Seconds())
}

// factory registers collectors with one registry.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

// slogPrinter adapts the promhttp error log to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics", "error", fmt.Sprint(v...)) }
