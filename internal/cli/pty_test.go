package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// terminal runs the client on a pseudo-terminal, as a user would.
type terminal struct {
	t    *testing.T
	ptmx *os.File
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	read chan struct{} // closed when the reader stops
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 140}); err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, ptmx: ptmx, tty: tty, read: make(chan struct{})}
	go func() {
		defer close(term.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
		<-term.read
	})
	return term
}

// run starts the client with the terminal as stdin, stdout and stderr.
func (term *terminal) run(env Env, args ...string) <-chan int {
	done := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	go func() {
		defer cancel()
		done <- Run(ctx, args, term.tty, term.tty, term.tty, env)
	}()
	return done
}

func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor waits until the output after offset from contains s and returns
// the offset just past it.
func (term *terminal) waitFor(s string, from int) int {
	term.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		out := term.text()
		if i := strings.Index(out[min(from, len(out)):], s); i >= 0 {
			return from + i + len(s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.t.Fatalf("the terminal never showed %q; it shows:\n%s", s, screen(term.text()))
	return 0
}

func (term *terminal) typeLine(s string) {
	term.t.Helper()
	if _, err := term.ptmx.Write([]byte(s + "\n")); err != nil {
		term.t.Fatal(err)
	}
}

func (term *terminal) exit(done <-chan int) int {
	term.t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(4 * time.Minute):
		term.t.Fatalf("the client did not finish; the terminal shows:\n%s", screen(term.text()))
		return -1
	}
}

// screen renders what a terminal would show: a carriage return moves to
// the start of the line and later text overwrites earlier text.
func screen(raw string) string {
	var lines []string
	var cur []rune
	col := 0
	for _, r := range raw {
		switch r {
		case '\r':
			col = 0
		case '\n':
			lines = append(lines, strings.TrimRight(string(cur), " "))
			cur, col = cur[:0], 0
		default:
			if col < len(cur) {
				cur[col] = r
			} else {
				cur = append(cur, r)
			}
			col++
		}
	}
	if len(cur) > 0 {
		lines = append(lines, strings.TrimRight(string(cur), " "))
	}
	return strings.Join(lines, "\n")
}

func TestLoginOnATerminalHidesThePassword(t *testing.T) {
	fake := &fakeAuth{expiresIn: 900}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	term := newTerminal(t)
	done := term.run(envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL}), "login")
	at := term.waitFor("Email: ", 0)
	term.typeLine("me@example.com")
	term.waitFor("Password: ", at)
	term.typeLine("correct horse")
	if code := term.exit(done); code != ExitOK {
		t.Fatalf("exit %d:\n%s", code, screen(term.text()))
	}
	term.waitFor("Credentials saved", 0) // the terminal may still hold the last lines
	out := term.text()
	if strings.Count(out, "me@example.com") < 1 || strings.Contains(out, "correct horse") || !strings.Contains(out, "Logged in") {
		t.Fatalf("the terminal shows:\n%s", screen(out))
	}
}

// followOnATerminal answers the questions of `task create --follow` typed
// on a pseudo-terminal and checks the live progress bar.
func followOnATerminal(t *testing.T, env Env) {
	term := newTerminal(t)
	done := term.run(env, "task", "create", "notes app", "--template", "python_cli", "--follow")
	at := term.waitFor("Answer: ", 0)
	term.typeLine("Keep notes in a JSON file, list and search them")
	term.waitFor("Choose a number (Enter to skip): ", at)
	term.typeLine("2")
	code := term.exit(done)
	if code == ExitOK {
		term.waitFor("task download", at) // the terminal may still hold the last lines
	}
	out := term.text()
	shown := screen(out)
	t.Logf("the terminal shows:\n%s", shown)
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	// The terminal echoes typed answers; the client must not echo them again.
	if n := strings.Count(out, "Keep notes in a JSON file"); n != 1 {
		t.Errorf("the answer appears %d times", n)
	}
	for _, want := range []string{"implementation · iteration", "100% |", "Answers sent", "completed in"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the screen lacks %q", want)
		}
	}
	if !strings.Contains(out, "% |") || !strings.Contains(out, "] ") {
		t.Error("no progress bar was drawn")
	}
}
