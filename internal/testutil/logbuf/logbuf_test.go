package logbuf

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestLines(t *testing.T) {
	cases := []struct {
		name    string
		written []string
		want    []string
	}{
		{"nothing", nil, []string{""}},
		{"one line", []string{"a\n"}, []string{"a"}},
		{"no final newline", []string{"a\nb"}, []string{"a", "b"}},
		{"split writes", []string{"a", "b\n", "c\n"}, []string{"ab", "c"}},
		{"surrounding blank lines", []string{"\n\na\nb\n\n"}, []string{"a", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b Buffer
			for _, w := range tc.written {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := b.Lines(); !slices.Equal(got, tc.want) {
				t.Errorf("Lines() = %q, want %q", got, tc.want)
			}
			if got, want := b.String(), strings.Join(tc.written, ""); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
		})
	}
}

// TestBytesIsACopy: changing what Bytes returned does not change the buffer.
func TestBytesIsACopy(t *testing.T) {
	var b Buffer
	fmt.Fprint(&b, "abc")
	got := b.Bytes()
	got[0] = 'x'
	if !bytes.Equal(b.Bytes(), []byte("abc")) {
		t.Errorf("buffer changed through Bytes: %q", b.String())
	}
}

// TestConcurrentLogger: a logger writing from many goroutines while the test
// reads loses no line (and -race finds no race).
func TestConcurrentLogger(t *testing.T) {
	var b Buffer
	log := slog.New(slog.NewTextHandler(&b, nil))
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				log.Info("line", "writer", w, "i", i)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := len(b.Lines()); got != writers*each {
		t.Errorf("%d lines, want %d", got, writers*each)
	}
}
