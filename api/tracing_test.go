package api

import (
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestRequestSpansCarryNoCredentials: a traced request's span is named
// after its route and records its status, but neither the API key header,
// a token in the query string (WebSocket clients may send one there) nor
// the body; probes get no span at all.
func TestRequestSpansCarryNoCredentials(t *testing.T) {
	f := newFixture(t, nil)
	spans := tracetest.NewInMemoryExporter()
	d := f.srv.Deps
	d.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	f.srv = New(d)
	const secret = "query-secret-0123456789"
	cases := []struct {
		method, path, name string
		status             int
	}{
		{http.MethodGet, "/api/tasks?access_token=" + secret + "&api_key=" + secret, "GET /api/tasks", http.StatusOK},
		{http.MethodGet, "/api/tasks/00000000-0000-4000-8000-000000000000?api_key=" + secret, "GET /api/tasks/:task_id", http.StatusNotFound},
		{http.MethodGet, "/health", "", http.StatusOK},
	}
	for _, tc := range cases {
		route, _, _ := strings.Cut(tc.path, "?")
		t.Run(tc.method+" "+route, func(t *testing.T) {
			spans.Reset()
			if w := f.do(tc.method, tc.path, "test-key", map[string]any{"description": secret}); w.Code != tc.status {
				t.Fatalf("%s %s: %d %s", tc.method, tc.path, w.Code, w.Body)
			}
			got := spans.GetSpans()
			if tc.name == "" {
				if len(got) != 0 {
					t.Fatalf("a probe was traced: %d spans", len(got))
				}
				return
			}
			if len(got) != 1 || got[0].Name != tc.name {
				t.Fatalf("spans %v, want one named %q", got, tc.name)
			}
			for _, a := range got[0].Attributes {
				v := a.Value.String()
				if strings.Contains(v, secret) || strings.Contains(v, "test-key") {
					t.Errorf("attribute %s = %q carries a credential or the body", a.Key, v)
				}
			}
		})
	}
}
