package redact

import "testing"

func TestRedactor(t *testing.T) {
	r := New("sk-0123456789", "", "short", "jwt-secret-value")
	cases := []struct{ in, want string }{
		{"key sk-0123456789 here", "key [redacted] here"},
		{"sk-0123456789sk-0123456789", "[redacted][redacted]"},
		{"a short word stays", "a short word stays"},
		{"nothing", "nothing"},
		{`{"k":"jwt-secret-value"}`, `{"k":"[redacted]"}`},
	}
	for _, c := range cases {
		if got := r.String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := string(r.Bytes([]byte(c.in))); got != c.want {
			t.Errorf("Bytes(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	raw, err := r.JSON(map[string]string{"v": "x sk-0123456789"})
	if err != nil || string(raw) != `{"v":"x [redacted]"}` {
		t.Fatalf("JSON = %s, %v", raw, err)
	}
}
