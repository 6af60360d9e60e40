package api

import (
	"strings"
	"testing"
)

// TestCSPConnectSrcIsSameOriginOnly: fetch and WebSocket connections may go
// to the page's own origin only. 'self' covers same-origin ws:/wss: (CSP
// Level 3); a bare ws: or wss: would allow sockets to any host.
func TestCSPConnectSrcIsSameOriginOnly(t *testing.T) {
	f := newFixture(t, nil)
	csp := f.do("GET", "/health", "", nil).Header().Get("Content-Security-Policy")
	var connect string
	for _, d := range strings.Split(csp, ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, "connect-src ") {
			connect = d
		}
	}
	if connect != "connect-src 'self'" {
		t.Fatalf("connect-src is %q, want %q (CSP %q)", connect, "connect-src 'self'", csp)
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
}
