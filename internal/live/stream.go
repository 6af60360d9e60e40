package live

import (
	"encoding/json"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"ai-platform/internal/llm"
)

// Publisher takes a stream's messages; a Hub is one.
type Publisher interface {
	Publish(taskID string, m Message)
}

// DefaultEvery is the shortest time between two flushes of a stream's
// text: at most five a second per task (one stage streams at a time).
const DefaultEvery = 200 * time.Millisecond

// RedactedText replaces a secret in live text (redact.Placeholder).
const RedactedText = "[redacted]"

// MaxPayload bounds a message's JSON encoding: PostgreSQL refuses NOTIFY
// payloads of 8000 bytes or more, so longer text is split over several
// messages.
const MaxPayload = 7000

// StreamConfig names what a stream reports on.
type StreamConfig struct {
	TaskID string
	// ID is unique per stage attempt, e.g. "implementation/g0/s12/a2".
	ID      string
	Stage   string // client-facing stage
	Role    string
	Attempt int
	// Files decodes the coder's reply ({"files":[{"path","content"}],
	// "summary"}) into the file being written and its content; without it
	// the reply's string values become readable text.
	Files bool
	// Secrets are values never to be sent (API keys...): replaced by
	// RedactedText, even when a model writes one across two chunks.
	Secrets []string
	// Every is the shortest time between flushes (DefaultEvery when 0).
	Every time.Duration
	Now   func() time.Time
}

// segment is text waiting for the next flush, for one file (or none).
type segment struct {
	file string
	text strings.Builder
}

// Stream turns one stage attempt's llm.StreamEvents into Messages. Its
// Sink may be called from any goroutine; text is coalesced and sent at
// most once per Every, from a timer.
type Stream struct {
	cfg StreamConfig
	pub Publisher

	mu      sync.Mutex
	seq     int64
	request int
	model   string
	began   time.Time
	chars   int64 // runes of the current request's reply so far
	tokens  int64 // the provider's count, once it reported one
	// contTokens are the tokens of the earlier parts of a reply continued
	// after being cut off at the token limit.
	contTokens int64
	// cut: the last request was cut off at the token limit, and its
	// decoder stays open; pendBegin is the next request's begin until its
	// first text says whether it continues the reply (pendBuf).
	cut       bool
	pendBegin *llm.StreamEvent
	pendBuf   string
	peek      *Peek
	pending   []*segment
	// The coder's reply: the path being read, the file being written.
	pathBuf  strings.Builder
	curFile  string
	held     strings.Builder
	fileIdx  int
	fileSeen bool
	lastList string // the readable view's current list heading
	lastItem int    // and the index of its current item
	// valueOpen: the readable view is inside a string value.
	valueOpen bool
	last      time.Time
	timer     *time.Timer
	closed    bool
}

// NewStream opens a stream and sends its start (or restart, on a later
// attempt) message.
func NewStream(pub Publisher, cfg StreamConfig) *Stream {
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// Very short values are not secrets (package redact's rule): they
	// would redact ordinary text.
	var secrets []string
	for _, sec := range cfg.Secrets {
		if len(sec) >= 8 {
			secrets = append(secrets, sec)
		}
	}
	cfg.Secrets = secrets
	s := &Stream{cfg: cfg, pub: pub}
	ev := EventStart
	if cfg.Attempt > 1 {
		ev = EventRestart
	}
	s.mu.Lock()
	s.send(Message{Event: ev})
	s.mu.Unlock()
	return s
}

// Sink is the llm.Sink feeding the stream.
func (s *Stream) Sink() llm.Sink { return s.handle }

func (s *Stream) handle(ev llm.StreamEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	switch ev.Kind {
	case llm.StreamBegin:
		if s.cut {
			// Maybe the continuation of the reply cut off at the token
			// limit: its first text decides (see decide).
			s.pendBegin, s.pendBuf = &ev, ""
			return
		}
		s.beginFresh(ev)
	case llm.StreamDelta:
		if s.pendBegin != nil {
			s.pendBuf += ev.Text
			rest, decided, continued := decide(s.pendBuf)
			if !decided {
				return
			}
			begin := *s.pendBegin
			s.pendBegin, s.pendBuf, s.cut = nil, "", false
			if continued {
				s.beginContinuation(begin)
			} else {
				s.beginFresh(begin)
			}
			s.feed(rest)
			return
		}
		s.feed(ev.Text)
	case llm.StreamEnd:
		if s.pendBegin != nil { // a request that wrote (almost) nothing
			begin, buf := *s.pendBegin, s.pendBuf
			s.pendBegin, s.pendBuf, s.cut = nil, "", false
			s.beginFresh(begin)
			s.feed(buf)
		}
		if ev.Usage.OutputTokens > 0 {
			s.tokens = ev.Usage.OutputTokens
		}
		if ev.Model != "" {
			s.model = ev.Model
		}
		if ev.FinishReason == llm.FinishLength && s.peek != nil {
			// Cut off at the token limit: the decoder stays open for a
			// continuation.
			s.cut = true
			s.flush()
			s.send(Message{Event: EventEnd, FinishReason: ev.FinishReason})
			return
		}
		s.cut = false
		s.endRequest()
		s.flush()
		s.send(Message{Event: EventEnd, FinishReason: ev.FinishReason})
	}
}

// beginFresh starts a new reply: clients reset their view.
func (s *Stream) beginFresh(ev llm.StreamEvent) {
	s.endRequest()
	s.flush()
	s.request++
	s.model, s.began, s.chars, s.tokens, s.contTokens = ev.Model, s.cfg.Now(), 0, 0, 0
	s.curFile, s.lastList, s.lastItem, s.valueOpen, s.fileSeen = "", "", -1, false, false
	s.pathBuf.Reset()
	s.held.Reset()
	s.peek = newPeek(s.decoded)
	s.send(Message{Event: EventRequest})
}

// beginContinuation starts a request that continues the reply cut off at
// the token limit (package agents joins the parts): the same decoder reads
// on, and clients keep what they show.
func (s *Stream) beginContinuation(ev llm.StreamEvent) {
	s.flush()
	s.request++
	s.contTokens += s.partTokens()
	s.chars, s.tokens = 0, 0
	if ev.Model != "" {
		s.model = ev.Model
	}
	s.send(Message{Event: EventRequest, Continued: true})
}

// decide reads the first text of a request that follows a cut-off reply:
// a continuation goes on where the reply stopped, a new reply (the coder
// asking again for fewer files, a corrective retry) opens a JSON object.
// A leading code fence, which agents drops when joining, is cut off a
// continuation. decided is false until enough text has come.
func decide(buf string) (rest string, decided, continued bool) {
	body := buf
	for _, f := range []string{"```json\n", "```\n"} {
		if strings.HasPrefix(buf, f) {
			body = buf[len(f):]
			break
		}
		if strings.HasPrefix(f, buf) {
			return "", false, false
		}
	}
	t := strings.TrimLeft(body, " \t\r\n")
	if t == "" {
		return "", false, false
	}
	if t[0] == '{' {
		return buf, true, false
	}
	return body, true, true
}

// feed passes reply text to the decoder and schedules a flush.
func (s *Stream) feed(text string) {
	if text == "" {
		return
	}
	if s.peek == nil { // text without a begin: treat it as one
		s.request++
		s.began = s.cfg.Now()
		s.peek = newPeek(s.decoded)
	}
	s.chars += int64(utf8.RuneCountInString(text))
	s.peek.Write(text)
	s.schedule()
}

// partTokens are the output tokens of the current request: the provider's
// count once known, else about four characters a token.
func (s *Stream) partTokens() int64 {
	if s.tokens > 0 {
		return s.tokens
	}
	return (s.chars + 3) / 4
}

// endRequest closes a request that never sent its end.
func (s *Stream) endRequest() {
	if s.peek != nil {
		s.peek.Close()
		s.peek = nil
	}
	s.nextFile(0)
	s.fileSeen = false
}

// Close flushes what is held and sends the done message; later events are
// ignored. It is safe to call more than once.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.pendBegin, s.cut = nil, false
	s.endRequest()
	s.flush()
	s.send(Message{Event: EventDone})
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// decoded receives the reply's string values from the peek decoder.
func (s *Stream) decoded(path []Frame, frag string, end bool) {
	if s.cfg.Files {
		s.coderText(path, frag, end)
		return
	}
	s.readableText(path, frag, end)
}

// coderText follows {"files":[{"path":..,"content":..}],"summary":..}.
// Content that comes before its path (keys in another order) is held
// until the path is known.
func (s *Stream) coderText(path []Frame, frag string, end bool) {
	inFile := len(path) == 3 && path[0].Key == "files" && path[1].Array
	if inFile && (path[1].Index != s.fileIdx || !s.fileSeen) {
		s.nextFile(path[1].Index)
	}
	switch {
	case inFile && path[2].Key == "path":
		s.pathBuf.WriteString(frag)
		if end {
			s.curFile = s.pathBuf.String()
			s.pathBuf.Reset()
			// A file with no content yet still shows as being written.
			s.add(s.curFile, s.held.String())
			s.held.Reset()
		}
	case inFile && path[2].Key == "content":
		if s.curFile == "" {
			s.held.WriteString(frag)
			return
		}
		s.add(s.curFile, frag)
	case len(path) == 1 && path[0].Key == "summary":
		s.readableText(path, frag, end)
	case len(path) == 0 && frag != "": // not JSON: the raw reply
		s.add("", frag)
	}
}

// nextFile starts the reply's file element idx; content held for an
// element that never named its path is shown as plain text.
func (s *Stream) nextFile(idx int) {
	if s.held.Len() > 0 {
		s.add("", s.held.String())
		s.held.Reset()
	}
	s.fileIdx, s.fileSeen, s.curFile = idx, true, ""
	s.pathBuf.Reset()
}

// readableText renders string values as lines: "key: value", and list
// items as "- value" (or "- key: value" then "  key: value" for the
// members of an object in a list) under the list's heading.
func (s *Stream) readableText(path []Frame, frag string, end bool) {
	if len(path) == 0 {
		s.add("", frag)
		return
	}
	prefix := ""
	if !s.valueOpen {
		top := path[len(path)-1]
		ai := -1 // the innermost list
		for i := len(path) - 1; i >= 0; i-- {
			if path[i].Array {
				ai = i
				break
			}
		}
		if ai >= 0 {
			list := ""
			if ai > 0 {
				list = path[ai-1].Key
			}
			if list != s.lastList {
				s.lastList, s.lastItem = list, -1
				if list != "" {
					prefix = humanize(list) + ":\n"
				}
			}
			item := path[ai].Index
			switch {
			case top.Array:
				prefix += "- "
			case item != s.lastItem:
				prefix += "- " + humanize(top.Key) + ": "
			default:
				prefix += "  " + humanize(top.Key) + ": "
			}
			s.lastItem = item
		} else if top.Key != "" {
			prefix = humanize(top.Key) + ": "
		}
	}
	text := prefix + frag
	if end {
		text += "\n"
	}
	s.add("", text)
	s.valueOpen = !end
}

func humanize(key string) string { return strings.ReplaceAll(key, "_", " ") }

// add queues text for file ("" for the stage's text), coalescing with the
// text queued last when it is for the same file.
func (s *Stream) add(file, text string) {
	if n := len(s.pending); n > 0 && s.pending[n-1].file == file {
		s.pending[n-1].text.WriteString(text)
		return
	}
	if text == "" && file == "" {
		return
	}
	seg := &segment{file: file}
	seg.text.WriteString(text)
	s.pending = append(s.pending, seg)
}

// schedule arranges a flush no sooner than Every after the last one.
func (s *Stream) schedule() {
	if s.timer != nil || len(s.pending) == 0 {
		return
	}
	wait := s.last.Add(s.cfg.Every).Sub(s.cfg.Now())
	if wait <= 0 {
		s.flushText(false)
		return
	}
	s.timer = time.AfterFunc(wait, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.timer = nil
		if !s.closed {
			s.flushText(false)
		}
	})
}

// flush sends the queued text: one message per file it touched (usually
// one), each split to stay under MaxPayload.
func (s *Stream) flush() { s.flushText(true) }

// flushText sends the queued text. Unless final, the last few bytes (as
// many as the longest secret, and never the start of a secret) are kept
// for the next flush, so a secret split across chunks is still redacted.
func (s *Stream) flushText(final bool) {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if len(s.pending) == 0 {
		return
	}
	var keep *segment
	if hold := s.hold(); !final && hold > 0 {
		last := s.pending[len(s.pending)-1]
		text := last.text.String()
		cut := max(0, len(text)-hold)
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		cut = s.safeCut(text, cut)
		if cut < len(text) {
			keep = &segment{file: last.file}
			keep.text.WriteString(text[cut:])
			last.text.Reset()
			last.text.WriteString(text[:cut])
			if cut == 0 {
				s.pending = s.pending[:len(s.pending)-1]
			}
		}
	}
	s.last = s.cfg.Now()
	for _, seg := range s.pending {
		s.sendText(s.redact(seg.file), s.redact(seg.text.String()))
	}
	s.pending = s.pending[:0]
	if keep != nil {
		s.pending = append(s.pending, keep)
	}
}

// hold is how many bytes a partial flush keeps back: the longest secret.
func (s *Stream) hold() int {
	n := 0
	for _, sec := range s.cfg.Secrets {
		n = max(n, len(sec))
	}
	return n
}

// safeCut moves cut back to the start of any secret that straddles it.
func (s *Stream) safeCut(text string, cut int) int {
	for moved := true; moved; {
		moved = false
		for _, sec := range s.cfg.Secrets {
			if sec == "" {
				continue
			}
			for i := 0; i < cut; {
				j := strings.Index(text[i:], sec)
				if j < 0 {
					break
				}
				start := i + j
				if start < cut && start+len(sec) > cut {
					cut, moved = start, true
					break
				}
				i = start + 1
			}
		}
	}
	return cut
}

// redact replaces every secret in text.
func (s *Stream) redact(text string) string {
	for _, sec := range s.cfg.Secrets {
		if sec != "" && strings.Contains(text, sec) {
			text = strings.ReplaceAll(text, sec, RedactedText)
		}
	}
	return text
}

// sendText sends one delta, halving its text until each part fits.
func (s *Stream) sendText(file, text string) {
	m := s.fill(Message{Event: EventDelta, File: file, Text: text})
	if b, _ := json.Marshal(m); len(b) < MaxPayload || len(text) < 2 {
		s.send(m)
		return
	}
	cut := len(text) / 2
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	if cut == 0 {
		cut = len(text) / 2
	}
	s.sendText(file, text[:cut])
	s.sendText(file, text[cut:])
}

// fill sets the stream's fields on m.
func (s *Stream) fill(m Message) Message {
	c := s.cfg
	m.Type, m.TaskID, m.Stream, m.Stage, m.Role, m.Attempt = TypeLive, c.TaskID, c.ID, c.Stage, c.Role, c.Attempt
	m.Request, m.Model = s.request, s.model
	m.Tokens = s.contTokens + s.partTokens()
	if el := s.cfg.Now().Sub(s.began).Seconds(); s.request > 0 && el > 0.05 {
		m.TokensPerSecond = math.Round(float64(m.Tokens)/el*10) / 10
	}
	if len(m.File) > 512 {
		m.File = m.File[:512]
	}
	return m
}

// send numbers m and publishes it.
func (s *Stream) send(m Message) {
	m = s.fill(m)
	s.seq++
	m.Seq = s.seq
	m.At = s.cfg.Now().UnixMilli()
	s.pub.Publish(s.cfg.TaskID, m)
}
