package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Watch timings: how often to poll without a WebSocket, and how long the
// server may stay unreachable before following gives up.
const (
	pollEvery   = time.Second
	giveUpAfter = 2 * time.Minute
	wsReadLimit = 16 << 20
)

// watcher delivers the newest task record whenever it changes.
type watcher struct {
	updates chan taskView // capacity 1, newest wins
	errs    chan error
	// live carries the server's live output when asked for (watchLive);
	// messages a slow reader has no room for are dropped.
	live chan liveMsg
}

// watch follows the task over the WebSocket (the server pushes the full
// record on every change) and falls back to polling when the socket cannot
// be used. It stops when ctx ends.
func (c *client) watch(ctx context.Context, id string) *watcher {
	return c.watchWith(ctx, id, false)
}

// watchLive is watch that also asks the WebSocket for the live output
// (what the model is writing), delivered on the watcher's live channel.
func (c *client) watchLive(ctx context.Context, id string) *watcher {
	return c.watchWith(ctx, id, true)
}

func (c *client) watchWith(ctx context.Context, id string, live bool) *watcher {
	w := &watcher{updates: make(chan taskView, 1), errs: make(chan error, 1)}
	if live {
		w.live = make(chan liveMsg, 64)
	}
	go func() {
		err := c.watchSocket(ctx, id, w)
		if ctx.Err() != nil {
			return
		}
		if fatal(err) {
			w.errs <- err
			return
		}
		if err := c.poll(ctx, id, w.send); err != nil && ctx.Err() == nil {
			w.errs <- err
		}
	}()
	return w
}

// send replaces an unread update with t.
func (w *watcher) send(t taskView) {
	for {
		select {
		case w.updates <- t:
			return
		default:
			select {
			case <-w.updates:
			default:
			}
		}
	}
}

// sendLive queues m unless the reader is too far behind.
func (w *watcher) sendLive(m liveMsg) {
	select {
	case w.live <- m:
	default:
	}
}

// fatal reports errors that polling would only repeat: wrong credentials,
// an unknown task.
func fatal(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden ||
		ae.Status == http.StatusNotFound)
}

// wsURL is the WebSocket address of a task.
func (c *client) wsURL(id string) string {
	u := c.base
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u + "/ws/" + url.PathEscape(id)
}

// watchSocket reads task records (and live messages, when w asks for
// them) until the socket ends. Credentials go in the handshake headers,
// never in the URL.
func (c *client) watchSocket(ctx context.Context, id string, w *watcher) error {
	probe, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base, nil)
	if err != nil {
		return err
	}
	if err := c.creds.apply(ctx, probe); err != nil {
		return err
	}
	u := c.wsURL(id)
	if w.live != nil {
		u += "?live=1"
	}
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: probe.Header})
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wsReadLimit)
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				switch ce.Code {
				case 4401:
					return &APIError{Status: http.StatusUnauthorized, Message: ce.Reason, Hint: c.creds.hint()}
				case 4403:
					return &APIError{Status: http.StatusForbidden, Message: ce.Reason}
				case 4404:
					return notFoundTask(&APIError{Status: http.StatusNotFound, Message: ce.Reason}, id)
				}
			}
			return err
		}
		var lm liveMsg
		if w.live != nil && json.Unmarshal(msg, &lm) == nil && lm.Type == "live" {
			w.sendLive(lm)
			continue
		}
		var t taskView
		if json.Unmarshal(msg, &t) == nil && t.ID != "" {
			w.send(t)
		}
	}
}

// poll reads the task every pollEvery; it gives up on fatal errors and
// after giveUpAfter without an answer.
func (c *client) poll(ctx context.Context, id string, send func(taskView)) error {
	var failingSince time.Time
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		var t taskView
		_, err := c.getJSON(ctx, taskPath(id, ""), nil, &t)
		switch {
		case err == nil:
			failingSince = time.Time{}
			send(t)
		case ctx.Err() != nil:
			return ctx.Err()
		case fatal(err):
			return notFoundTask(err, id)
		case failingSince.IsZero():
			failingSince = time.Now()
		case time.Since(failingSince) > giveUpAfter:
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
