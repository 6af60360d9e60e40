package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A followed task's live output: the client opts in (?live=1) and, off a
// terminal, prints a line per file the coder starts and per restart.
func TestFollowShowsLiveOutput(t *testing.T) {
	record := func(status, stage string, progress float64) map[string]any {
		return map[string]any{"id": someID, "status": status, "current_stage": stage, "progress": progress,
			"files_count": 2, "iterations": 1, "max_iterations": 12, "time_taken_seconds": 3.0}
	}
	asked := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/ws/") {
			_ = json.NewEncoder(w).Encode(record("processing", "implementation", 0.5))
			return
		}
		asked <- r.URL.RawQuery
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		send := func(v any) {
			b, _ := json.Marshal(v)
			_ = conn.Write(r.Context(), websocket.MessageText, b)
		}
		send(record("processing", "implementation", 0.5))
		seq := 0
		msg := func(stream, event string, attempt int, file, text string) map[string]any {
			seq++
			return map[string]any{"type": "live", "stream": stream, "seq": seq, "event": event, "stage": "implementation",
				"role": "coder", "attempt": attempt, "file": file, "text": text, "tokens": 10, "tokens_per_second": 5.5}
		}
		send(msg("s/a1", "start", 1, "", ""))
		send(msg("s/a1", "delta", 1, "a.py", "print(1)\n"))
		send(msg("s/a1", "delta", 1, "a.py", "print(2)\n"))
		send(msg("s/a1", "delta", 1, "b.py", "x = 1\n"))
		seq = 0
		send(msg("s/a2", "restart", 2, "", ""))
		send(msg("s/a2", "delta", 2, "a.py", "print(1)\n"))
		send(msg("s/a2", "done", 2, "", ""))
		time.Sleep(300 * time.Millisecond)
		send(record("completed", "completed", 1))
		<-r.Context().Done()
	}))
	defer srv.Close()
	env := envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL, "AIPLATFORM_API_KEY": "k"})
	a := &app{stdin: newLines(strings.NewReader("")), env: env}
	var out strings.Builder
	a.stdout, a.stderr = &out, &out
	c, err := a.newClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.follow(t.Context(), c, someID); err != nil {
		t.Fatalf("follow: %v\n%s", err, out.String())
	}
	if q := <-asked; q != "live=1" {
		t.Fatalf("the WebSocket was opened with %q, want live=1", q)
	}
	text := out.String()
	for _, want := range []string{"live: implementation · writing a.py\n", "live: implementation · writing b.py\n",
		"live: implementation restarted (attempt 2)\n", "completed in 3s"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "writing a.py"); n != 2 {
		t.Errorf("a.py announced %d times, want once per attempt:\n%s", n, text)
	}
}

// On a terminal the view is a header (stage, model, tokens/s, file) and
// the tail of the growing content, safe to print, reset on a restart.
func TestLiveViewTerminalBlock(t *testing.T) {
	v := &liveView{tty: true}
	m := liveMsg{Type: "live", Stream: "s/a1", Stage: "implementation", Attempt: 1, Model: "gpt-x", TokensPerSecond: 12.5}
	step := func(event, file, text string, seq int64) {
		m.Event, m.File, m.Text, m.Seq = event, file, text, seq
		if !v.apply(m) {
			t.Fatal("a terminal view did not change")
		}
	}
	step("start", "", "", 1)
	step("delta", "src/app.py", "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n\x1b[2Jevil\tx", 2)
	lines := v.lines(60)
	if len(lines) != 1+liveTailLines || !strings.Contains(lines[0], "implementation · gpt-x · 12.5 tok/s · src/app.py") {
		t.Fatalf("block %q", lines)
	}
	if last := lines[len(lines)-1]; last != "  │ [2Jevil x" || strings.Contains(lines[1], "line 1") {
		t.Fatalf("tail %q", lines)
	}
	for _, l := range lines {
		if len([]rune(l)) >= 60 || strings.ContainsRune(l, '\x1b') {
			t.Fatalf("line %q is too wide or has control characters", l)
		}
	}
	step("delta", "", "summary: one file\n", 3) // the coder's summary: the file stays in view
	if lines := v.lines(200); !strings.Contains(lines[0], "src/app.py") || !strings.Contains(lines[len(lines)-1], "evil") {
		t.Fatalf("the summary replaced the file: %q", lines)
	}
	step("delta", "src/app.py", "more", 5) // seq 4 never came
	if !strings.Contains(v.lines(200)[0], "not received") {
		t.Fatalf("a gap is not shown: %q", v.lines(200)[0])
	}
	m.Stream, m.Attempt = "s/a2", 2
	step("restart", "", "", 1)
	if lines := v.lines(200); len(lines) != 1 || !strings.Contains(lines[0], "(attempt 2)") || strings.Contains(lines[0], "not received") {
		t.Fatalf("after a restart: %q", lines)
	}
	step("done", "", "", 2)
	if lines := v.lines(200); lines != nil {
		t.Fatalf("after done: %q", lines)
	}
}
