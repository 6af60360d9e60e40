package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"golang.org/x/term"
)

// liveMsg is the part of a WebSocket {"type":"live"} message the CLI
// shows (the server's live.Message).
type liveMsg struct {
	Type            string  `json:"type"`
	Stream          string  `json:"stream"`
	Seq             int64   `json:"seq"`
	Event           string  `json:"event"`
	Stage           string  `json:"stage"`
	Role            string  `json:"role"`
	Attempt         int     `json:"attempt"`
	Request         int     `json:"request"`
	Model           string  `json:"model"`
	Tokens          int64   `json:"tokens"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	File            string  `json:"file"`
	Text            string  `json:"text"`
	Continued       bool    `json:"continued"`
}

// Live view bounds: the lines of growing content shown under the bar, and
// how much of it is kept to find them.
const (
	liveTailLines = 6
	liveKeep      = 8 << 10
)

// liveView is what the model is writing, shown under the progress bar on a
// terminal (a header and the tail of the text), or as a line per file
// started and per restart otherwise.
type liveView struct {
	w      io.Writer
	tty    bool
	stream string
	seq    int64
	gap    bool
	m      liveMsg // the latest message's figures
	file   string
	text   string // the tail of the current file's content, or the stage's text
	active bool
	shown  int // lines drawn under the bar
}

// apply takes one message; it reports whether the view changed.
func (v *liveView) apply(m liveMsg) bool {
	switch {
	case m.Stream != v.stream || m.Event == "start" || m.Event == "restart":
		v.stream, v.file, v.text, v.gap = m.Stream, "", "", false
		if m.Event == "restart" && !v.tty {
			fmt.Fprintf(v.w, "  live: %s restarted (attempt %d)\n", m.Stage, m.Attempt)
		}
	case m.Seq != v.seq+1:
		v.gap = true // a message was lost on the way
	}
	v.seq = m.Seq
	v.m = m
	switch m.Event {
	case "request":
		if !m.Continued { // a continued reply goes on where it stopped
			v.file, v.text = "", ""
		}
	case "delta":
		if m.File == "" && v.file != "" {
			break // the coder's summary after its files: the file stays in view
		}
		if m.File != v.file {
			v.file, v.text = m.File, ""
			if m.File != "" && !v.tty {
				fmt.Fprintf(v.w, "  live: %s · writing %s\n", m.Stage, m.File)
			}
		}
		v.text += m.Text
		if len(v.text) > liveKeep {
			v.text = v.text[len(v.text)-liveKeep:]
		}
	}
	v.active = m.Event != "done"
	return v.tty
}

// lines is the block drawn under the bar, each at most width columns.
func (v *liveView) lines(width int) []string {
	if !v.active {
		return nil
	}
	m := v.m
	head := "  ▸ " + m.Stage
	if m.Attempt > 1 {
		head += fmt.Sprintf(" (attempt %d)", m.Attempt)
	}
	if m.Model != "" {
		head += " · " + m.Model
	}
	head += fmt.Sprintf(" · %.1f tok/s", m.TokensPerSecond)
	if v.file != "" {
		head += " · " + v.file
	}
	if v.gap {
		head += " · (some output was not received)"
	}
	out := []string{fit(head, width)}
	tail := strings.Split(strings.TrimRight(v.text, "\n"), "\n")
	if len(tail) > liveTailLines {
		tail = tail[len(tail)-liveTailLines:]
	}
	for _, l := range tail {
		if l == "" && len(tail) == 1 {
			break
		}
		out = append(out, fit("  │ "+l, width))
	}
	return out
}

// fit makes s one printable line of at most width columns: tabs become
// spaces, other control characters (an escape sequence a model wrote
// must not move the cursor) are dropped.
func fit(s string, width int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '\t' {
			r = ' '
		}
		if unicode.IsControl(r) {
			continue
		}
		if n >= width-1 {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// termWidth is w's width, 80 when unknown.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 10 {
			return cols
		}
	}
	return 80
}
