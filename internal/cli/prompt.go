package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// errNoInput means standard input ended (or there is none) while a
// question waited for an answer.
var errNoInput = errors.New("no more input on stdin")

type lineResult struct {
	line string
	err  error
}

// lines reads standard input one line at a time without blocking
// cancellation: each read runs in a goroutine, and a read abandoned by a
// cancelled prompt is handed to the next prompt instead of being lost.
type lines struct {
	r        *bufio.Reader
	inflight chan lineResult
	eof      bool
}

func newLines(r io.Reader) *lines {
	if r == nil {
		return &lines{eof: true}
	}
	return &lines{r: bufio.NewReader(r)}
}

// read returns the next line without its line ending.
func (l *lines) read(ctx context.Context) (string, error) {
	if l.eof {
		return "", errNoInput
	}
	if l.inflight == nil {
		ch := make(chan lineResult, 1)
		go func() {
			s, err := l.r.ReadString('\n')
			ch <- lineResult{s, err}
		}()
		l.inflight = ch
	}
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case res := <-l.inflight:
		l.inflight = nil
		if res.err != nil {
			l.eof = true
			if res.line == "" {
				if errors.Is(res.err, io.EOF) {
					return "", errNoInput
				}
				return "", fmt.Errorf("reading standard input: %w", res.err)
			}
		}
		return strings.TrimRight(res.line, "\r\n"), nil
	}
}

// isTerminal reports whether v is an *os.File on a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// ui is where prompts and progress go: stdout, unless stdout carries JSON.
func (a *app) ui() io.Writer {
	if a.json {
		return a.stderr
	}
	return a.stdout
}

// prompt writes text and reads one line. Piped answers are echoed so a
// transcript reads like a terminal session.
func (a *app) prompt(ctx context.Context, w io.Writer, text string) (string, error) {
	fmt.Fprint(w, text)
	line, err := a.stdin.read(ctx)
	if err != nil {
		fmt.Fprintln(w)
		return "", err
	}
	if !isTerminal(a.in) {
		fmt.Fprintln(w, line)
	}
	return line, nil
}

// readPassword reads a password without echo from a terminal, or a line
// from piped input.
func (a *app) readPassword(ctx context.Context, w io.Writer, text string) (string, error) {
	f, ok := a.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(w, text)
		line, err := a.stdin.read(ctx)
		fmt.Fprintln(w)
		return line, err
	}
	fd := int(f.Fd())
	if restore, err := echoOff(fd); err == nil {
		defer func() { _ = restore() }()
		fmt.Fprint(w, text)
		line, err := a.stdin.read(ctx)
		fmt.Fprintln(w)
		if err != nil && ctx.Err() == nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		return line, err
	}
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("reading the terminal state: %w", err)
	}
	fmt.Fprint(w, text)
	ch := make(chan lineResult, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		ch <- lineResult{string(b), err}
	}()
	select {
	case <-ctx.Done():
		// ReadPassword is still blocked; give the terminal its echo back.
		_ = term.Restore(fd, state)
		fmt.Fprintln(w)
		return "", ctx.Err()
	case res := <-ch:
		fmt.Fprintln(w)
		if res.err != nil {
			return "", fmt.Errorf("reading the password: %w", res.err)
		}
		return res.line, nil
	}
}
