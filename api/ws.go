package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"ai-platform/internal/live"
	"ai-platform/internal/store"
)

// Close codes, the ones clients of the earlier system handle.
const (
	wsUnauthorized websocket.StatusCode = 4401
	wsNotFound     websocket.StatusCode = 4404
)

// wsSubscribeMessage turns live output on or off: {"type":"subscribe",
// "live":true}. Sent after any {"type":"auth"} message.
type wsSubscribeMessage struct {
	Type string `json:"type"`
	Live bool   `json:"live"`
}

// wsAuthMessage is the optional first client message carrying credentials,
// so browsers need not put secrets in the URL.
type wsAuthMessage struct {
	Type        string `json:"type"`
	APIKey      string `json:"api_key"`
	AccessToken string `json:"access_token"`
}

func (s *Server) originPatterns() []string {
	var out []string
	for _, o := range s.Config.AllowedOrigins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			out = append(out, u.Host)
		}
	}
	return out
}

// websocket streams the task record: once on connect and again on every
// change. Credentials come from headers, the query parameters clients of the
// earlier system send, or a first {"type":"auth"} message. "ping" is
// answered with "pong".
//
// Live output (what the model is writing, package live) is opt-in, so
// clients that expect every message to be the task record are unaffected:
// with ?live=1 on the URL, or after a {"type":"subscribe","live":true}
// message, {"type":"live",...} messages arrive beside the task records
// ({"type":"subscribe","live":false} stops them).
func (s *Server) websocket(c *gin.Context) {
	conn, err := websocket.Accept(c.Writer, c.Request, &websocket.AcceptOptions{OriginPatterns: s.originPatterns()})
	if err != nil {
		s.logger(c).Debug("websocket accept failed", "error", err)
		return
	}
	defer conn.CloseNow()
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	p, aerr := s.wsAuthenticate(ctx, c.Request, conn)
	if aerr != nil {
		conn.Close(wsUnauthorized, aerr.Detail)
		return
	}
	id := c.Param("task_id")
	t, err := s.Store.GetTask(ctx, id)
	if _, perr := uuid.Parse(id); perr != nil || errors.Is(err, store.ErrNotFound) || (err == nil && !owns(p, t)) {
		conn.Close(wsNotFound, "Task not found")
		return
	}
	if err != nil {
		conn.Close(websocket.StatusInternalError, "store unavailable")
		return
	}
	s.counts.sockets.Add(1)
	defer s.counts.sockets.Add(-1)
	pings := make(chan struct{}, 4)
	subscribe := make(chan bool, 4)
	if q := c.Query("live"); q == "1" || q == "true" {
		subscribe <- true
	}
	go func() {
		defer cancel()
		for {
			typ, msg, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if typ != websocket.MessageText {
				continue
			}
			var sub wsSubscribeMessage
			switch {
			case strings.TrimSpace(string(msg)) == "ping":
				select {
				case pings <- struct{}{}:
				default:
				}
			case json.Unmarshal(msg, &sub) == nil && sub.Type == "subscribe":
				select {
				case subscribe <- sub.Live:
				default:
				}
			}
		}
	}()
	if err := s.wsSend(ctx, conn, t); err != nil {
		return
	}
	version := t.Version
	tick := time.NewTicker(s.WatchEvery)
	defer tick.Stop()
	var liveMsgs <-chan live.Message
	stopLive := func() {}
	defer func() { stopLive() }()
	for {
		select {
		case on := <-subscribe:
			switch {
			case on && liveMsgs == nil && s.Live != nil:
				liveMsgs, stopLive = s.Live.Subscribe(ctx, id)
			case !on && liveMsgs != nil:
				stopLive()
				liveMsgs, stopLive = nil, func() {}
			}
		case m, ok := <-liveMsgs:
			if !ok {
				liveMsgs = nil
				continue
			}
			if err := s.wsWrite(ctx, conn, m); err != nil {
				return
			}
		case <-ctx.Done():
			conn.Close(websocket.StatusNormalClosure, "")
			return
		case <-pings:
			if err := conn.Write(ctx, websocket.MessageText, []byte("pong")); err != nil {
				return
			}
		case <-tick.C:
			cur, err := s.Store.GetTask(ctx, id)
			if err != nil || cur.Version == version {
				continue
			}
			version = cur.Version
			if err := s.wsSend(ctx, conn, cur); err != nil {
				return
			}
		}
	}
}

func (s *Server) wsSend(ctx context.Context, conn *websocket.Conn, t store.Task) error {
	return s.wsWrite(ctx, conn, newTaskView(t, s.Now()))
}

// wsWrite sends v as one JSON text message.
func (s *Server) wsWrite(ctx context.Context, conn *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, b)
}

func (s *Server) wsAuthenticate(ctx context.Context, r *http.Request, conn *websocket.Conn) (Principal, *AuthError) {
	if r.Header.Get("X-API-Key") != "" || r.Header.Get("Authorization") != "" {
		return s.Auth.Authenticate(r)
	}
	q := r.URL.Query()
	if q.Get("api_key") != "" || q.Get("access_token") != "" {
		return s.Auth.Credentials(r, q.Get("api_key"), q.Get("access_token"))
	}
	// Wait up to 5 s for a first message. The read is not given a deadline
	// of its own: a read whose context ends closes the connection at once,
	// and a client that sends nothing must still receive the 4401 close
	// frame that says which credential is required.
	type firstMessage struct {
		msg []byte
		err error
	}
	first := make(chan firstMessage, 1)
	go func() {
		_, msg, err := conn.Read(ctx)
		first <- firstMessage{msg, err}
	}()
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	var m wsAuthMessage
	select {
	case got := <-first:
		if got.err == nil && json.Unmarshal(got.msg, &m) == nil && m.Type == "auth" {
			return s.Auth.Credentials(r, m.APIKey, m.AccessToken)
		}
	case <-timer.C:
	}
	// No credentials at all: the mode's own "required" answer.
	return s.Auth.Credentials(r, "", "")
}
