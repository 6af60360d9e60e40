package live

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"ai-platform/internal/llm"
)

// recorder is a Publisher keeping every message.
type recorder struct {
	mu   sync.Mutex
	msgs []Message
}

func (r *recorder) Publish(taskID string, m Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m.TaskID = taskID
	r.msgs = append(r.msgs, m)
}

func (r *recorder) all() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.msgs...)
}

// files rebuilds what a client shows: each file's content from the deltas.
func files(msgs []Message) (map[string]string, []string, string) {
	content := map[string]string{}
	var order []string
	var text strings.Builder
	for _, m := range msgs {
		if m.Event == EventStart || m.Event == EventRestart || m.Event == EventRequest {
			content, order = map[string]string{}, nil
			text.Reset()
		}
		if m.Event != EventDelta {
			continue
		}
		if m.File == "" {
			text.WriteString(m.Text)
			continue
		}
		if _, ok := content[m.File]; !ok {
			order = append(order, m.File)
		}
		content[m.File] += m.Text
	}
	return content, order, text.String()
}

func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func TestStreamCoderFiles(t *testing.T) {
	reply, _ := json.Marshal(map[string]any{"files": []map[string]string{
		{"path": "src/app.py", "content": "import os\n\nprint(\"<hello>\")\n"},
		{"path": "tests/test_app.py", "content": "def test():\n    assert 1 == 1\n"},
	}, "summary": "An app and its test."})
	for _, size := range []int{1, 3, 7, 64, len(reply)} {
		rec := &recorder{}
		s := NewStream(rec, StreamConfig{TaskID: "t1", ID: "implementation/g0/s3/a1", Stage: "implementation",
			Role: "coder", Attempt: 1, Files: true, Every: time.Millisecond})
		sink := s.Sink()
		sink(llm.StreamEvent{Kind: llm.StreamBegin, Model: "m1"})
		for _, c := range chunks(string(reply), size) {
			sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: c})
		}
		sink(llm.StreamEvent{Kind: llm.StreamEnd, FinishReason: "stop", Usage: llm.Usage{OutputTokens: 42}})
		s.Close()
		msgs := rec.all()
		content, order, text := files(msgs)
		if got := strings.Join(order, ","); got != "src/app.py,tests/test_app.py" {
			t.Fatalf("chunk %d: files %q", size, got)
		}
		if content["src/app.py"] != "import os\n\nprint(\"<hello>\")\n" || content["tests/test_app.py"] != "def test():\n    assert 1 == 1\n" {
			t.Fatalf("chunk %d: contents %q", size, content)
		}
		if text != "summary: An app and its test.\n" {
			t.Fatalf("chunk %d: text %q", size, text)
		}
		for i, m := range msgs {
			if m.Seq != int64(i+1) || m.Stream != "implementation/g0/s3/a1" || m.Stage != "implementation" || m.Role != "coder" {
				t.Fatalf("chunk %d: message %d: %+v", size, i, m)
			}
			if strings.Contains(m.Text, `\n`) || strings.Contains(m.Text, `"files"`) {
				t.Fatalf("chunk %d: raw JSON leaked: %q", size, m.Text)
			}
		}
		first, last := msgs[0], msgs[len(msgs)-1]
		end := msgs[len(msgs)-2]
		if first.Event != EventStart || last.Event != EventDone || end.Event != EventEnd || end.Tokens != 42 ||
			end.FinishReason != "stop" || end.Model != "m1" || end.Request != 1 {
			t.Fatalf("chunk %d: first %+v, end %+v, last %+v", size, first, end, last)
		}
	}
}

func TestStreamReadableText(t *testing.T) {
	rec := &recorder{}
	s := NewStream(rec, StreamConfig{TaskID: "t1", ID: "research/a1", Stage: "research", Attempt: 1, Every: time.Millisecond})
	sink := s.Sink()
	sink(llm.StreamEvent{Kind: llm.StreamBegin})
	for _, c := range chunks(`{"summary":"A CLI.","requirements":["parse args","print help"],"open_questions":[]}`, 5) {
		sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: c})
	}
	s.Close()
	_, _, text := files(rec.all())
	if want := "summary: A CLI.\nrequirements:\n- parse args\n- print help\n"; text != want {
		t.Fatalf("text %q, want %q", text, want)
	}
}

// Many small deltas within one interval arrive as one message; the rate
// stays near one flush per interval.
func TestStreamThrottlesAndCoalesces(t *testing.T) {
	rec := &recorder{}
	every := 50 * time.Millisecond
	s := NewStream(rec, StreamConfig{TaskID: "t1", ID: "x", Stage: "research", Attempt: 1, Every: every})
	sink := s.Sink()
	sink(llm.StreamEvent{Kind: llm.StreamBegin, Model: "m"})
	sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: "not json: "})
	start := time.Now()
	var want strings.Builder
	want.WriteString("not json: ")
	for time.Since(start) < 300*time.Millisecond {
		sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: "ab"})
		want.WriteString("ab")
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	s.Close()
	var deltas int
	for _, m := range rec.all() {
		if m.Event == EventDelta {
			deltas++
		}
	}
	// One flush at once, then one per interval, plus the final flush.
	if limit := int(elapsed/every) + 3; deltas > limit || deltas < 3 {
		t.Fatalf("%d delta messages in %s, want 3..%d", deltas, elapsed, limit)
	}
	if _, _, text := files(rec.all()); text != want.String() {
		t.Fatalf("coalesced text lost or duplicated: %d bytes, want %d", len(text), want.Len())
	}
}

// A second attempt opens with restart; each message fits a NOTIFY
// payload even for a big file with characters JSON escapes six-fold.
func TestStreamRestartAndSplit(t *testing.T) {
	rec := &recorder{}
	s := NewStream(rec, StreamConfig{TaskID: "t1", ID: "implementation/a2", Stage: "implementation", Attempt: 2,
		Files: true, Every: time.Hour})
	big := strings.Repeat("\x01<é>", 3000)
	reply, _ := json.Marshal(map[string]any{"files": []map[string]string{{"path": "big.txt", "content": big}}})
	sink := s.Sink()
	sink(llm.StreamEvent{Kind: llm.StreamBegin})
	sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: string(reply)})
	s.Close()
	msgs := rec.all()
	if msgs[0].Event != EventRestart || msgs[0].Attempt != 2 {
		t.Fatalf("first message %+v, want a restart of attempt 2", msgs[0])
	}
	for _, m := range msgs {
		if b, _ := json.Marshal(m); len(b) >= MaxPayload {
			t.Fatalf("message of %d bytes", len(b))
		}
	}
	if content, _, _ := files(msgs); content["big.txt"] != big {
		t.Fatalf("big file rebuilt as %d bytes, want %d", len(content["big.txt"]), len(big))
	}
	sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: "late"})
	if n := len(rec.all()); n != len(msgs) {
		t.Fatalf("a closed stream sent %d more messages", n-len(msgs))
	}
}

// A reply cut off at the token limit and continued (package agents joins
// the parts) reads on in the same file; a new reply after a cut-off one
// (the coder asking again for fewer files) starts afresh.
func TestStreamContinuationAfterCutOff(t *testing.T) {
	cases := []struct {
		name      string
		second    []string // the next request's deltas
		continued bool
		want      map[string]string
	}{
		{"continued, with a fence", []string{"``", "`json\n", `ne2\n"},{"path":"b.py","content":"x"}]}`}, true,
			map[string]string{"a.py": "line1\nline2\n", "b.py": "x"}},
		{"continued mid-escape", []string{`\`, `u00e9\n"}]}`}, true, map[string]string{"a.py": "line1\nlié\n"}},
		{"asked again", []string{"  ", `{"files":[{"path":"b.py","content":"y"}]}`}, false, map[string]string{"b.py": "y"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			s := NewStream(rec, StreamConfig{TaskID: "t", ID: "implementation/a1", Stage: "implementation", Attempt: 1,
				Files: true, Every: time.Millisecond})
			sink := s.Sink()
			sink(llm.StreamEvent{Kind: llm.StreamBegin, Model: "m"})
			sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: `{"files":[{"path":"a.py","content":"line1\nli`})
			sink(llm.StreamEvent{Kind: llm.StreamEnd, FinishReason: llm.FinishLength, Usage: llm.Usage{OutputTokens: 10}})
			sink(llm.StreamEvent{Kind: llm.StreamBegin, Model: "m"})
			for _, d := range c.second {
				sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: d})
			}
			sink(llm.StreamEvent{Kind: llm.StreamEnd, FinishReason: "stop", Usage: llm.Usage{OutputTokens: 5}})
			s.Close()
			msgs := rec.all()
			// A client resets on a request event unless it continues.
			content := map[string]string{}
			var requests []Message
			for _, m := range msgs {
				if m.Event == EventRequest {
					requests = append(requests, m)
					if !m.Continued {
						content = map[string]string{}
					}
				}
				if m.Event == EventDelta && m.File != "" {
					content[m.File] += m.Text
				}
			}
			if len(requests) != 2 || requests[1].Continued != c.continued || requests[1].Request != 2 {
				t.Fatalf("request events %+v", requests)
			}
			if len(content) != len(c.want) {
				t.Fatalf("files %q, want %q", content, c.want)
			}
			for f, w := range c.want {
				if content[f] != w {
					t.Fatalf("%s: %q, want %q (all: %q)", f, content[f], w, content)
				}
			}
			end := msgs[len(msgs)-2]
			if wantTokens := map[bool]int64{true: 15, false: 5}[c.continued]; end.Event != EventEnd || end.Tokens != wantTokens {
				t.Fatalf("final end %+v, want %d tokens", end, wantTokens)
			}
		})
	}
}

// A secret the model writes is redacted, even when it arrives in pieces
// across flushes; the rest of the text arrives intact.
func TestStreamRedactsSecretsAcrossChunks(t *testing.T) {
	const secret = "sk-SECRET-0123456789"
	reply := `{"files":[{"path":"conf.py","content":"KEY = '` + secret + `'\nOTHER = 'sk-SECRET-01'\nKEY2 = '` +
		secret + `'"}],"summary":"uses ` + secret + `"}`
	for _, size := range []int{1, 2, 5, 7, 19} {
		rec := &recorder{}
		s := NewStream(rec, StreamConfig{TaskID: "t", ID: "implementation/a1", Stage: "implementation", Attempt: 1,
			Files: true, Every: time.Microsecond, Secrets: []string{secret, "short"}})
		sink := s.Sink()
		sink(llm.StreamEvent{Kind: llm.StreamBegin})
		for _, c := range chunks(reply, size) {
			sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: c})
			time.Sleep(20 * time.Microsecond) // let partial flushes happen
		}
		sink(llm.StreamEvent{Kind: llm.StreamEnd, FinishReason: "stop"})
		s.Close()
		msgs := rec.all()
		content, _, text := files(msgs)
		if want := "KEY = '[redacted]'\nOTHER = 'sk-SECRET-01'\nKEY2 = '[redacted]'"; content["conf.py"] != want {
			t.Fatalf("chunk %d: content %q, want %q", size, content["conf.py"], want)
		}
		if text != "summary: uses [redacted]\n" {
			t.Fatalf("chunk %d: text %q", size, text)
		}
		deltas := 0
		for _, m := range msgs {
			if strings.Contains(m.Text, "0123456789") {
				t.Fatalf("chunk %d: a piece of the secret was sent: %q", size, m.Text)
			}
			if m.Event == EventDelta {
				deltas++
			}
		}
		if size == 1 && deltas < 5 {
			t.Fatalf("only %d deltas: the partial flushes were not exercised", deltas)
		}
	}
}
