package runner

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCaptureText(t *testing.T) {
	const euro = "€" // 3 bytes: e2 82 ac
	tests := []struct {
		name      string
		limit     int
		in        string
		want      string
		truncated bool
	}{
		{"empty", 4, "", "", false},
		{"under limit", 4, "abc", "abc", false},
		{"exactly limit", 4, "abcd", "abcd", false},
		{"one over limit", 4, "abcde", "abcd", true},
		{"rune ends at limit", 4, "a" + euro, "a" + euro, false},
		{"rune ends at limit then more", 4, "a" + euro + "b", "a" + euro, true},
		{"cut after first byte of rune", 4, "abc" + euro, "abc", true},
		{"cut after second byte of rune", 4, "ab" + euro, "ab", true},
		{"four-byte rune cut", 4, "a" + "😀", "a", true},
		{"four-byte rune fits", 4, "😀", "😀", false},
		{"invalid byte replaced", 8, "a\xffb", "a\uFFFDb", false},
		{"replacement would overflow", 3, "a\xff", "a", true},
		{"truncated invalid tail", 4, "abc\xff\xff", "abc", true},
		{"lone continuation at cut", 4, "abc\x82zz", "abc", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture(tt.limit)
			if n, err := c.Write([]byte(tt.in)); n != len(tt.in) || err != nil {
				t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(tt.in))
			}
			got, truncated := c.text()
			if got != tt.want || truncated != tt.truncated {
				t.Errorf("text() = %q, %v; want %q, %v", got, truncated, tt.want, tt.truncated)
			}
			if len(got) > tt.limit || !utf8.ValidString(got) {
				t.Errorf("text() = %q: %d bytes (limit %d), valid UTF-8 %v", got, len(got), tt.limit, utf8.ValidString(got))
			}
		})
	}
}

// The child's output arrives in pipe-sized pieces; where they split must not matter.
func TestCaptureChunking(t *testing.T) {
	in := strings.Repeat("héllo wörld ", 50)
	for _, limit := range []int{1, 2, 7, 64, len(in) - 1, len(in), len(in) + 1} {
		want := newCapture(limit)
		_, _ = want.Write([]byte(in))
		wantText, wantTrunc := want.text()
		for _, chunk := range []int{1, 2, 3, 5, 64} {
			c := newCapture(limit)
			for b := []byte(in); len(b) > 0; {
				n := min(chunk, len(b))
				_, _ = c.Write(b[:n])
				b = b[n:]
			}
			got, trunc := c.text()
			if got != wantText || trunc != wantTrunc {
				t.Errorf("limit %d chunk %d: got %q, %v; want %q, %v", limit, chunk, got, trunc, wantText, wantTrunc)
			}
			if trunc != (limit < len(in)) {
				t.Errorf("limit %d: truncated = %v for %d input bytes", limit, trunc, len(in))
			}
		}
	}
}

// Memory must stay bounded by the limit however much the child writes.
func TestCaptureDrainsBeyondLimit(t *testing.T) {
	const limit = 1024
	c := newCapture(limit)
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for range 320 { // 10 MiB
		if n, _ := c.Write(chunk); n != len(chunk) {
			t.Fatalf("Write accepted %d of %d bytes; the pipe would stop draining", n, len(chunk))
		}
	}
	if cap(c.buf) > 2*limit {
		t.Errorf("buffer capacity %d after 10 MiB with limit %d: output is being kept", cap(c.buf), limit)
	}
	if c.total != 320*32<<10 {
		t.Errorf("total = %d, want %d", c.total, 320*32<<10)
	}
	if got, trunc := c.text(); len(got) != limit || !trunc {
		t.Errorf("text() = %d bytes, truncated %v; want %d, true", len(got), trunc, limit)
	}
}
