package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"ai-platform/internal/live"
	"ai-platform/internal/llm"
)

// TestWebSocketLiveOutput: a client that opts in (?live=1, or a subscribe
// message) receives the live messages published for its task, beside the
// task record; a client that did not opt in receives none.
func TestWebSocketLiveOutput(t *testing.T) {
	f := newFixture(t, nil)
	f.expectStart()
	hub := live.NewHub(nil, nil)
	t.Cleanup(hub.Close)
	f.srv.Live = hub
	id := f.createAs("X-API-Key", "key-1")
	srv := httptest.NewServer(f.srv.Handler())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	dial := func(query, first string) *websocket.Conn {
		u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/" + id + query
		conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"X-Api-Key": {"key-1"}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		var rec map[string]any
		if _, msg, err := conn.Read(ctx); err != nil || json.Unmarshal(msg, &rec) != nil || rec["task_id"] != id {
			t.Fatalf("first message %s (%v), want the task record", msg, err)
		}
		if first != "" {
			if err := conn.Write(ctx, websocket.MessageText, []byte(first)); err != nil {
				t.Fatal(err)
			}
		}
		return conn
	}
	byQuery := dial("?live=1", "")
	byMessage := dial("", `{"type":"subscribe","live":true}`)
	plain := dial("", "")

	// The subscriptions start in the sockets' loops: publish probes until
	// both opted-in clients hear one.
	readLive := func(conn *websocket.Conn) live.Message {
		t.Helper()
		_, msg, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m live.Message
		if err := json.Unmarshal(msg, &m); err != nil || m.Type != "live" {
			t.Fatalf("message %s is not a live message", msg)
		}
		return m
	}
	probing := make(chan struct{})
	go func() {
		for {
			select {
			case <-probing:
				return
			case <-time.After(20 * time.Millisecond):
				hub.Publish(id, live.Message{Event: "probe"})
			}
		}
	}()
	readLive(byQuery)
	readLive(byMessage)
	close(probing)

	s := live.NewStream(hub, live.StreamConfig{TaskID: id, ID: "implementation/g0/s3/a1", Stage: "implementation",
		Role: "coder", Attempt: 1, Files: true, Every: time.Millisecond})
	sink := s.Sink()
	sink(llm.StreamEvent{Kind: llm.StreamBegin, Model: "gpt-test"})
	for _, c := range []string{`{"files":[{"path":"cli.py","content":"print(`, `\"hi\")\n"}]}`} {
		sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: c})
	}
	s.Close()
	hub.Publish("another-task", live.Message{Event: live.EventDelta, Text: "not yours"})
	for _, conn := range []*websocket.Conn{byQuery, byMessage} {
		content, stream := "", []live.Message{}
		for {
			m := readLive(conn)
			if m.Event == "probe" {
				continue
			}
			if m.TaskID != id {
				t.Fatalf("another task's message: %+v", m)
			}
			stream = append(stream, m)
			if m.File == "cli.py" {
				content += m.Text
			}
			if m.Event == live.EventDone {
				break
			}
		}
		if stream[0].Event != live.EventStart || stream[0].Seq != 1 || content != "print(\"hi\")\n" || stream[0].Model != "" {
			t.Fatalf("stream %+v, content %q", stream, content)
		}
	}
	// The plain client got nothing: its next message is the pong.
	if err := plain.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := plain.Read(ctx); err != nil || string(msg) != "pong" {
		t.Fatalf("a client that did not opt in got %s (%v)", msg, err)
	}
	// Unsubscribing stops the messages.
	if err := byMessage.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","live":false}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		hub.Publish(id, live.Message{Event: "after"})
		if err := byMessage.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			_, msg, err := byMessage.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(msg))
			if string(msg) == "pong" {
				break
			}
		}
		if len(got) == 1 {
			break // only the pong: unsubscribed
		}
		if time.Now().After(deadline) {
			t.Fatalf("still receiving live messages after unsubscribing: %q", got)
		}
	}
}
