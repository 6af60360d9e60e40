package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/metric/noop"

	"ai-platform/internal/tracing"
)

// tracing gives each request a server span named after its route
// ("POST /api/tasks"). It records the method, route, path, status, client
// address and user agent: never headers (API keys, tokens, cookies), query
// strings or bodies. Probes, metrics scrapes and static files are not
// traced; they would bury the requests that do work.
func (s *Server) tracing() gin.HandlerFunc {
	return otelgin.Middleware("ai-platform-api",
		otelgin.WithTracerProvider(s.TracerProvider),
		otelgin.WithPropagators(tracing.Propagator()),
		// Request metrics are Prometheus's (/metrics); none through OTel.
		otelgin.WithMeterProvider(noop.NewMeterProvider()),
		otelgin.WithFilter(traced),
	)
}

// traced reports whether a request gets a span.
func traced(r *http.Request) bool {
	switch r.URL.Path {
	case "/health", "/ready", "/metrics", "/favicon.ico":
		return false
	}
	return !strings.HasPrefix(r.URL.Path, "/assets/") && !strings.HasPrefix(r.URL.Path, "/app/")
}
