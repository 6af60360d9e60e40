package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// safetyRefresh re-reads the task now and then, in case a WebSocket went
// quiet without closing.
const safetyRefresh = 15 * time.Second

// follow shows the task's progress until it ends, answering its questions
// on the way, and maps the outcome to the exit code.
func (a *app) follow(ctx context.Context, c *client, id string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var t taskView
	if _, err := c.getJSON(ctx, taskPath(id, ""), nil, &t); err != nil {
		return notFoundTask(err, id)
	}
	p := newProgress(a.ui())
	w := c.watchLive(ctx, id)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastRead := time.Now()
	answeredKey := ""
	for {
		p.update(t)
		if t.terminal() {
			p.finish(t)
			return a.followed(ctx, c, t)
		}
		if t.Status == "needs_input" {
			r, err := a.answerRound(ctx, c, id, answeredKey, p.suspend)
			var ae *APIError
			switch {
			case errors.As(err, &ae) && ae.Status == http.StatusConflict:
				// Answered elsewhere, or the task moved on: keep following.
				fmt.Fprintln(a.ui(), "Note:", ae.Message)
			case err != nil:
				return err
			case r.asked:
				answeredKey = r.key
			}
		}
		select {
		case <-ctx.Done():
			p.suspend()
			return ctx.Err()
		case err := <-w.errs:
			p.suspend()
			return err
		case t = <-w.updates:
			lastRead = time.Now()
		case m := <-w.live:
			p.showLive(m)
		case <-tick.C:
			p.tick()
			if time.Since(lastRead) >= safetyRefresh {
				lastRead = time.Now()
				var fresh taskView
				if _, err := c.getJSON(ctx, taskPath(id, ""), nil, &fresh); err == nil {
					t = fresh
				}
			}
		}
	}
}

// followed prints the end of a followed task and returns its outcome.
func (a *app) followed(ctx context.Context, c *client, t taskView) error {
	if a.json {
		raw, err := c.getJSON(ctx, taskPath(t.ID, ""), nil, &t)
		if err != nil {
			return err
		}
		if err := writeRaw(a.stdout, raw); err != nil {
			return err
		}
		return outcome(t)
	}
	if t.Status == "completed" {
		msg := fmt.Sprintf("Task %s completed in %s: %d files, %d iteration(s)", t.ID, duration(t.TimeTakenSeconds),
			t.FilesCount, t.Iterations)
		if r := t.reviewStatus(); r != "" {
			msg += ", review " + r
		}
		fmt.Fprintf(a.stdout, "%s.\nFiles: `aiplatform task files %s`; zip: `aiplatform task download %s`.\n", msg, t.ID, t.ID)
	}
	return outcome(t)
}

// progress shows a followed task: a line per change of status, stage or
// iteration and, on a terminal, a live bar with the current stage.
type progress struct {
	w    io.Writer
	bar  *progressbar.ProgressBar // nil when w is not a terminal
	last string
	desc string
	// live is what the model is writing, drawn under the bar.
	live *liveView
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, live: &liveView{w: w, tty: isTerminal(w)}}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions(100,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionSetDescription(fmt.Sprintf("%-32s", "queued")),
		)
	}
	return p
}

// step is what a line is printed for: status, stage and iteration.
func step(t taskView) string {
	s := fmt.Sprintf("[%s] %s", percent(t.Progress), t.stage())
	if t.stage() == "" {
		s = fmt.Sprintf("[%s] %s", percent(t.Progress), t.Status)
	}
	if t.Iterations > 0 && !t.terminal() {
		s += fmt.Sprintf(" · iteration %d/%d", t.Iterations, t.MaxIterations)
	}
	if t.stage() != "" && t.Status != "processing" && string(t.Status) != t.stage() && !t.terminal() {
		s += " (" + string(t.Status) + ")"
	}
	return s
}

func (p *progress) update(t taskView) {
	line := step(t)
	if line == p.last {
		return
	}
	p.last = line
	if p.bar == nil {
		fmt.Fprintln(p.w, line)
		return
	}
	_ = p.bar.Clear()
	p.eraseLive()
	fmt.Fprintf(p.w, "\r%s\n", line)
	p.desc = t.stage()
	if t.Iterations > 0 {
		p.desc += fmt.Sprintf(" · iteration %d/%d", t.Iterations, t.MaxIterations)
	}
	p.desc = fmt.Sprintf("%-32s", p.desc) // a steady width keeps the bar in place
	if !t.terminal() {
		p.bar.Describe(p.desc)
		_ = p.bar.Set(min(99, int(t.Progress*100)))
		p.drawLive()
	}
}

// showLive takes a live message and redraws the block under the bar.
func (p *progress) showLive(m liveMsg) {
	if p.live.apply(m) && p.bar != nil && !p.bar.IsFinished() {
		p.drawLive()
	}
}

// drawLive draws the live block on the lines under the bar and puts the
// cursor back on the bar's line, then redraws the bar.
func (p *progress) drawLive() {
	if p.bar == nil {
		return
	}
	lines := p.live.lines(termWidth(p.w))
	if len(lines) == 0 && p.live.shown == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("\n\r\x1b[J")
	b.WriteString(strings.Join(lines, "\n\r"))
	fmt.Fprintf(&b, "\x1b[%dA\r", max(1, len(lines)))
	fmt.Fprint(p.w, b.String())
	p.live.shown = len(lines)
	p.bar.Describe(p.desc)
}

// eraseLive clears the live block (the cursor is at the start of the
// bar's line, which the caller cleared).
func (p *progress) eraseLive() {
	if p.live.shown > 0 {
		fmt.Fprint(p.w, "\r\x1b[J")
		p.live.shown = 0
	}
}

// tick redraws the bar so its elapsed time moves.
func (p *progress) tick() {
	if p.bar != nil && !p.bar.IsFinished() {
		p.bar.Describe(p.desc)
	}
}

// suspend clears the bar before questions or errors are printed.
func (p *progress) suspend() {
	if p.bar != nil {
		_ = p.bar.Clear()
		p.eraseLive()
		fmt.Fprint(p.w, "\r")
	}
}

func (p *progress) finish(t taskView) {
	if p.bar == nil {
		return
	}
	_ = p.bar.Clear()
	p.eraseLive()
	if t.Status == "completed" {
		p.bar.Describe(fmt.Sprintf("%-32s", "completed"))
		_ = p.bar.Finish()
	} else {
		_ = p.bar.Exit()
		_ = p.bar.Clear()
	}
	fmt.Fprintln(p.w)
}
