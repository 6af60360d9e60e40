package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"ai-platform/internal/task"
)

// event is one entry of a task's event log.
type event struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Payload   map[string]any `json:"payload"`
	CreatedAt string         `json:"created_at"`
	raw       json.RawMessage
}

// eventCursor remembers how far the log has been read. The API pages by
// an opaque cursor that it hands out only for full pages, so the tail page
// is read again and deduplicated by event id.
type eventCursor struct {
	cursor string
	seen   map[string]bool
}

// newEvents returns the events not returned before, oldest first.
func (c *client) newEvents(ctx context.Context, id string, cur *eventCursor) ([]event, error) {
	var out []event
	for {
		q := url.Values{"order": {"asc"}, "limit": {"1000"}}
		if cur.cursor != "" {
			q.Set("cursor", cur.cursor)
		}
		var page struct {
			Events     []json.RawMessage `json:"events"`
			NextCursor *string           `json:"next_cursor"`
		}
		if _, err := c.getJSON(ctx, taskPath(id, "/events"), q, &page); err != nil {
			return nil, notFoundTask(err, id)
		}
		pageIDs := make(map[string]bool, len(page.Events))
		for _, raw := range page.Events {
			var e event
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("decoding an event: %w", err)
			}
			e.raw = raw
			pageIDs[e.ID] = true
			if !cur.seen[e.ID] {
				out = append(out, e)
			}
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			cur.seen = pageIDs // the tail page is what the next read returns again
			return out, nil
		}
		cur.cursor, cur.seen = *page.NextCursor, nil
	}
}

func (a *app) logs(ctx context.Context, args []string) error {
	fs := a.flags("task logs")
	follow := fs.Bool("follow", false, "keep printing new events until the task ends")
	pos, c, err := a.parseWithClient(fs, args, 1, 1)
	if err != nil {
		return err
	}
	id := pos[0]
	var t taskView
	if _, err := c.getJSON(ctx, taskPath(id, ""), nil, &t); err != nil {
		return notFoundTask(err, id)
	}
	cur := &eventCursor{}
	flush := func() error {
		evs, err := c.newEvents(ctx, id, cur)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if a.json {
				fmt.Fprintf(a.stdout, "%s\n", e.raw)
				continue
			}
			fmt.Fprintln(a.stdout, formatEvent(e))
		}
		return nil
	}
	if err := flush(); err != nil || !*follow {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := c.watch(ctx, id)
	tick := time.NewTicker(pollEvery) // events do not all change the task record
	defer tick.Stop()
	for !t.terminal() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-w.errs:
			return err
		case t = <-w.updates:
		case <-tick.C:
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return outcome(t)
}

// outcome maps a finished task to the exit status of a follow.
func outcome(t taskView) error {
	switch t.Status {
	case "failed":
		msg := "task " + t.ID + " failed"
		if r := deref(t.FailureReason); r != "" {
			msg += " (" + r + ")"
		}
		if e := deref(t.Error); e != "" {
			msg += ": " + truncate(e, 300)
		}
		return &exitError{code: ExitFailed, msg: msg}
	case "cancelled":
		return &exitError{code: ExitCancelled, msg: "task " + t.ID + " was cancelled"}
	}
	return nil
}

// formatEvent renders one event as a line: time, type, the gist.
func formatEvent(e event) string {
	return fmt.Sprintf("%s  %-24s %s", clock(e.CreatedAt), e.Type, eventSummary(e))
}

// eventSummary picks the fields worth reading for the common events and
// prints the scalar fields of the others.
func eventSummary(e event) string {
	p := e.Payload
	s := func(k string) string { return scalar(p[k]) }
	switch e.Type {
	case task.EventStageStarted:
		if from := s("retry_from"); from != "" {
			return s("stage") + " (retry continues at " + from + ")"
		}
		return s("stage")
	case task.EventProgressUpdate:
		return strings.Join(nonEmpty(s("status"), s("current_stage"), progressOf(p["progress"])), " ")
	case task.EventCommandStarted:
		return fmt.Sprintf("%s: %s", s("purpose"), truncate(s("command"), 100))
	case task.EventCommandFinished:
		line := fmt.Sprintf("%s: exit %s in %ss", s("purpose"), s("exit_code"), trimFloat(p["duration_seconds"]))
		if e := s("error"); e != "" {
			line += " (" + truncate(e, 80) + ")"
		}
		return line
	case task.EventCodeGenerated:
		return fmt.Sprintf("iteration %s %s: %s", s("iteration"), s("task_type"), list(p["files"]))
	case task.EventLLMUsage:
		line := fmt.Sprintf("%s: %s call(s), %s tokens in, %s out", s("stage"), s("calls"), s("tokens_in"), s("tokens_out"))
		if m := s("model"); m != "" {
			line = fmt.Sprintf("%s (%s)%s", s("stage"), m, strings.TrimPrefix(line, s("stage")))
		}
		// Events written before costs were recorded have no cost_usd.
		if c, ok := p["cost_usd"].(float64); ok {
			line += ", " + usd(c)
		}
		return line
	case task.EventArtifactAdded:
		return s("type")
	case task.EventClarificationRequested:
		qs, _ := p["questions"].([]any)
		return fmt.Sprintf("%d question(s)", len(qs))
	case task.EventClarificationReceived:
		m, _ := p["received"].(map[string]any)
		return "answers to " + strings.Join(sortedKeys(m), ", ")
	case task.EventReviewFinished:
		return fmt.Sprintf("%s review, iteration %s: passed=%s", s("kind"), s("iteration"), s("passed"))
	case task.EventReviewResult:
		return fmt.Sprintf("%s review: %s, %s issue(s)", s("kind"), s("status"), s("issues_count"))
	}
	return genericSummary(p)
}

// genericSummary lists scalar fields as k=v, minus the ids every event has.
func genericSummary(p map[string]any) string {
	skip := map[string]bool{"task_id": true, "request_id": true, "run_id": true}
	var parts []string
	for _, k := range sortedKeys(p) {
		if skip[k] || strings.HasSuffix(k, "_at") {
			continue
		}
		v := scalar(p[k])
		if v == "" {
			continue
		}
		parts = append(parts, k+"="+truncate(v, 60))
	}
	return truncate(strings.Join(parts, " "), 160)
}

// scalar renders strings, numbers and booleans; "" for anything else.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return trimFloat(x)
	case bool:
		return fmt.Sprint(x)
	}
	return ""
}

func trimFloat(v any) string {
	f, ok := v.(float64)
	if !ok {
		return "?"
	}
	if f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	return fmt.Sprintf("%.2f", f)
}

func progressOf(v any) string {
	f, ok := v.(float64)
	if !ok {
		return ""
	}
	return strings.TrimSpace(percent(f))
}

func list(v any) string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, scalar(it))
	}
	return truncate(strings.Join(out, ", "), 120)
}

func nonEmpty(items ...string) []string {
	var out []string
	for _, s := range items {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
