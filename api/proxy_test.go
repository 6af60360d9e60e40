package api

import (
	"encoding/json"
	"testing"
)

// TestClientIPIgnoresForwardedHeadersFromUntrustedPeers: without
// TRUSTED_PROXIES the recorded IP is the TCP peer's, whatever the request
// claims; with the peer listed, its X-Forwarded-For is believed.
func TestClientIPIgnoresForwardedHeadersFromUntrustedPeers(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		headers []string
		want    string
	}{
		{"no proxy trusted, X-Forwarded-For", nil, []string{"X-Forwarded-For", "6.6.6.6"}, "192.0.2.1"},
		{"no proxy trusted, X-Real-IP", nil, []string{"X-Real-IP", "7.7.7.7"}, "192.0.2.1"},
		{"peer trusted", map[string]string{"TRUSTED_PROXIES": "192.0.2.0/24"}, []string{"X-Forwarded-For", "198.51.100.4"}, "198.51.100.4"},
		{"another peer trusted", map[string]string{"TRUSTED_PROXIES": "10.0.0.1"}, []string{"X-Forwarded-For", "198.51.100.4"}, "192.0.2.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.env)
			f.expectStart()
			w := f.do("POST", "/api/tasks", "k", map[string]any{"description": "build a thing"}, tc.headers...)
			if w.Code != 200 {
				t.Fatalf("create: %d %s", w.Code, w.Body)
			}
			var out struct {
				TaskID string `json:"task_id"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			id := out.TaskID
			row, err := f.store.GetTask(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if row.ClientIP != tc.want {
				t.Fatalf("recorded client IP %q, want %q", row.ClientIP, tc.want)
			}
		})
	}
}
