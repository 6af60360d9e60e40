package runner

import (
	"strings"
	"unicode/utf8"
)

// capture is the io.Writer behind one output stream. It keeps the first limit
// bytes and counts, but drops, the rest, so memory stays bounded whatever the
// child writes. exec.Cmd copies each stream from a single goroutine, so no
// locking is needed; the result is read only after Wait has returned.
type capture struct {
	limit int
	buf   []byte
	total int64
}

func newCapture(limit int) *capture {
	return &capture{limit: limit}
}

// Write never fails: refusing data would make the copying goroutine stop
// reading and leave the child blocked on a full pipe instead of draining it.
func (c *capture) Write(p []byte) (int, error) {
	c.total += int64(len(p))
	if room := c.limit - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// text returns the kept output as valid UTF-8 of at most limit bytes, and
// whether anything the child wrote is missing from it.
//
// When the stream was cut, a multi-byte character split by the cut is dropped
// whole. Invalid bytes become U+FFFD so the result is safe for JSON and for
// UTF-8 text columns; if that makes the text longer than the limit it is cut
// back again, at a character boundary, and reported as truncated.
func (c *capture) text() (string, bool) {
	kept := c.buf
	truncated := c.total > int64(len(kept))
	if truncated {
		kept = dropPartialRune(kept)
	}
	s := strings.ToValidUTF8(string(kept), "\uFFFD")
	if len(s) > c.limit {
		s = cutAtRune(s, c.limit)
		truncated = true
	}
	return s, truncated
}

// dropPartialRune removes an incomplete UTF-8 sequence at the end of b, the
// one a byte-count cut can leave behind.
func dropPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			return b
		}
	}
	return b
}

// cutAtRune returns the longest prefix of the valid UTF-8 string s that is at
// most n bytes long and ends on a character boundary.
func cutAtRune(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
