package live

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Frame is one open container of the JSON document being peeked at: an
// object (Key is the member whose value is being read) or an array (Index
// is the element being read).
type Frame struct {
	Array bool
	Key   string
	Index int
}

// peekHandler receives the decoded text of string values as it arrives:
// each value's fragments in order, then one call with end set. path is the
// containers around the value; it is only valid during the call.
type peekHandler func(path []Frame, frag string, end bool)

// Peek decodes a JSON document that arrives in chunks cut anywhere (inside
// an escape, a \uXXXX sequence, a surrogate pair or a UTF-8 sequence) and
// reports the text of its string values as soon as it is known. It never
// fails: it reads what a model writes, and a reply that is not JSON after
// all is the agents' business, not the live view's. Numbers, booleans and
// nulls are skipped. A leading Markdown fence (```json) is skipped.
type Peek struct {
	on    peekHandler
	stack []Frame
	// wantKey: in an object, the next string is a member name.
	wantKey bool
	inStr   bool
	isKey   bool
	key     strings.Builder
	// esc is 0 outside an escape, 1 after a backslash, 2..5 while reading
	// the four hex digits of \uXXXX.
	esc  int
	hex  rune
	high rune // a high surrogate waiting for its low half
	out  []byte
	// fence: 0 undecided, 1 skipping a fence line, 2 in the document.
	fence int
	// raw is set when the reply does not start like JSON: text is then
	// reported as it comes, with an empty path.
	raw bool
}

// newPeek returns a decoder that reports to on.
func newPeek(on peekHandler) *Peek { return &Peek{on: on} }

// Write feeds the next chunk.
func (p *Peek) Write(s string) {
	for i := 0; i < len(s); i++ {
		p.byte(s[i])
	}
	if p.raw || (p.inStr && !p.isKey) {
		p.report(false)
	}
}

// Close reports what is still held: the valid text of a string value the
// reply broke off in, or the rest of a raw reply.
func (p *Peek) Close() {
	if p.raw || (p.inStr && !p.isKey) {
		p.inStr = false
		p.report(true)
	}
}

func (p *Peek) byte(c byte) {
	if p.raw {
		p.out = append(p.out, c)
		return
	}
	if p.fence < 2 {
		switch {
		case p.fence == 1:
			if c == '\n' {
				p.fence = 2
			}
			return
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
			return
		case c == '`':
			p.fence = 1
			return
		case c == '{' || c == '[':
			p.fence = 2
		default:
			p.raw = true
			p.out = append(p.out, c)
			return
		}
	}
	if p.inStr {
		p.strByte(c)
		return
	}
	switch c {
	case '{':
		p.stack = append(p.stack, Frame{})
		p.wantKey = true
	case '[':
		p.stack = append(p.stack, Frame{Array: true})
		p.wantKey = false
	case '}', ']':
		if len(p.stack) > 0 {
			p.stack = p.stack[:len(p.stack)-1]
		}
		p.wantKey = false
	case ',':
		if n := len(p.stack); n > 0 {
			if p.stack[n-1].Array {
				p.stack[n-1].Index++
			} else {
				p.wantKey = true
			}
		}
	case '"':
		p.inStr = true
		p.isKey = p.wantKey && len(p.stack) > 0 && !p.stack[len(p.stack)-1].Array
		if p.isKey {
			p.key.Reset()
		}
	}
}

// strByte reads one byte inside a string.
func (p *Peek) strByte(c byte) {
	switch {
	case p.esc == 1:
		p.esc = 0
		switch c {
		case 'u':
			p.esc, p.hex = 2, 0
			return
		case 'n':
			c = '\n'
		case 't':
			c = '\t'
		case 'r':
			c = '\r'
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		}
		p.endHigh()
		p.emit(c)
	case p.esc >= 2:
		p.hex = p.hex<<4 | hexVal(c)
		if p.esc++; p.esc == 6 {
			p.esc = 0
			p.rune(p.hex)
		}
	case c == '\\':
		p.esc = 1
	case c == '"':
		p.endHigh()
		p.inStr = false
		if p.isKey {
			p.stack[len(p.stack)-1].Key = p.key.String()
			p.wantKey = false
			return
		}
		p.report(true)
	default:
		p.endHigh()
		p.emit(c)
	}
}

// rune handles a \uXXXX code unit, pairing surrogates.
func (p *Peek) rune(r rune) {
	switch {
	case utf16.IsSurrogate(r) && r < 0xDC00:
		p.endHigh()
		p.high = r
	case utf16.IsSurrogate(r) && p.high != 0:
		p.emitRune(utf16.DecodeRune(p.high, r))
		p.high = 0
	default:
		p.endHigh()
		p.emitRune(r)
	}
}

// endHigh writes a high surrogate no low half followed as U+FFFD.
func (p *Peek) endHigh() {
	if p.high != 0 {
		p.high = 0
		p.emitRune(utf8.RuneError)
	}
}

func (p *Peek) emitRune(r rune) {
	if utf16.IsSurrogate(r) {
		r = utf8.RuneError
	}
	if p.isKey {
		p.key.WriteRune(r)
		return
	}
	p.out = utf8.AppendRune(p.out, r)
}

func (p *Peek) emit(c byte) {
	if p.isKey {
		p.key.WriteByte(c)
		return
	}
	p.out = append(p.out, c)
}

// report passes on the decoded text held, keeping back an unfinished
// UTF-8 sequence at its end unless the value ended.
func (p *Peek) report(end bool) {
	n := len(p.out)
	if !end {
		n = completePrefix(p.out)
		if n == 0 {
			return
		}
	}
	frag := strings.ToValidUTF8(string(p.out[:n]), "\uFFFD")
	p.out = append(p.out[:0], p.out[n:]...)
	if p.raw {
		p.on(nil, frag, end)
		return
	}
	p.on(p.stack, frag, end)
}

// completePrefix is the length of b without an unfinished UTF-8 sequence
// at its end.
func completePrefix(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return 0
}
