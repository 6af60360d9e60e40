package config

import (
	"strings"
	"testing"
)

// The OTEL_* variables: read by the platform and by the sandbox service,
// an endpoint that is not an http(s) URL with a host refused by name.
func TestTracingVariables(t *testing.T) {
	tests := []struct {
		name                 string
		vars                 map[string]string
		endpoint, proto, svc string
		wantErr              string
	}{
		{"off by default", nil, "", OTLPHTTP, "", ""},
		{"http collector", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}, "http://jaeger:4318", OTLPHTTP, "", ""},
		{"grpc, named", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example:4317",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "GRPC", "OTEL_SERVICE_NAME": "api-eu"}, "https://otel.example:4317", OTLPGRPC, "api-eu", ""},
		{"no scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "jaeger:4318"}, "", "", "", "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"no host", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http:///v1"}, "", "", "", "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"unsupported protocol", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "", "", "", "OTEL_EXPORTER_OTLP_PROTOCOL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, load := range []struct {
				name string
				fn   func(Lookup) (Config, error)
				base map[string]string
			}{
				{"Load", Load, map[string]string{}},
				{"LoadSandbox", LoadSandbox, map[string]string{"COMMAND_SANDBOX_SOCKET": "/run/s.sock"}},
			} {
				vars := map[string]string{}
				for k, v := range load.base {
					vars[k] = v
				}
				for k, v := range tt.vars {
					vars[k] = v
				}
				c, err := load.fn(env(vars))
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Errorf("%s: error %v, want one naming %s", load.name, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", load.name, err)
				}
				if c.OTelEndpoint != tt.endpoint || c.OTelProtocol != tt.proto || c.OTelServiceName != tt.svc {
					t.Errorf("%s: %q %q %q", load.name, c.OTelEndpoint, c.OTelProtocol, c.OTelServiceName)
				}
			}
		})
	}
}
