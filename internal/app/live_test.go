package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/live"
	"ai-platform/internal/store/pgtest"
)

// TestLiveOutputReachesTheWebSocket runs a task with the streaming mock and
// follows it over two WebSockets: one that opted in (?live=1) receives the
// stages' live output while they run, numbered without gaps, with the
// coder's files decoded to exactly what the task stores; the other receives
// only task records. Once in process (memory store) and once through
// PostgreSQL LISTEN/NOTIFY.
func TestLiveOutputReachesTheWebSocket(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	for _, tc := range []struct {
		name string
		env  func() map[string]string
	}{
		{"in process", func() map[string]string { return map[string]string{} }},
		{"postgres", func() map[string]string { return map[string]string{"DATABASE_URL": pgtest.Schema(t)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env()
			env["LLM_MOCK_STREAM_DELAY_MS"] = "3"
			p := apptest.Start(t, apptest.Options{Env: env})
			id := p.CreateTask(t, map[string]any{
				"description": "A command line tool that counts words and lines in text files",
				"template_id": "python_cli",
			})
			ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
			defer cancel()
			dial := func(query string) *websocket.Conn {
				u := "ws" + strings.TrimPrefix(p.URL, "http") + "/ws/" + url.PathEscape(id) + query
				conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"X-Api-Key": {p.APIKey}}})
				if err != nil {
					t.Fatal(err)
				}
				conn.SetReadLimit(16 << 20)
				t.Cleanup(func() { conn.CloseNow() })
				return conn
			}
			withLive, plain := dial("?live=1"), dial("")
			plainLive := make(chan string, 1)
			go func() {
				for {
					_, msg, err := plain.Read(ctx)
					if err != nil {
						return
					}
					if strings.Contains(string(msg), `"type":"live"`) {
						select {
						case plainLive <- string(msg):
						default:
						}
					}
				}
			}()

			var msgs []live.Message
			status := ""
			for status != "completed" && status != "failed" {
				_, raw, err := withLive.Read(ctx)
				if err != nil {
					t.Fatalf("reading the socket (status %q, %d live messages): %v", status, len(msgs), err)
				}
				var probe struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				}
				if err := json.Unmarshal(raw, &probe); err != nil {
					t.Fatal(err)
				}
				if probe.Type != "live" {
					status = probe.Status
					continue
				}
				var m live.Message
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, m)
			}
			if status != "completed" {
				t.Fatalf("task ended %s", status)
			}

			// Per stream: no gap, and the coder's files rebuilt from the deltas.
			lastSeq := map[string]int64{}
			stages := map[string]bool{}
			final := map[string]string{} // path -> content its latest writer streamed
			var request map[string]string
			for _, m := range msgs {
				if m.TaskID != id {
					t.Fatalf("another task's message %+v", m)
				}
				if m.Seq != lastSeq[m.Stream]+1 {
					t.Fatalf("stream %s: seq %d after %d", m.Stream, m.Seq, lastSeq[m.Stream])
				}
				lastSeq[m.Stream] = m.Seq
				stages[m.Stage] = true
				switch {
				case m.Event == live.EventRequest:
					request = map[string]string{}
				case m.Event == live.EventDelta && m.File != "":
					request[m.File] += m.Text
				case m.Event == live.EventEnd && m.Stage == "implementation":
					for path, c := range request {
						final[path] = c
					}
				}
				if strings.Contains(m.Text, `"content":`) {
					t.Fatalf("raw JSON in a live message: %q", m.Text)
				}
			}
			for _, s := range []string{"research", "design", "implementation"} {
				if !stages[s] {
					t.Errorf("no live output from the %s stage (stages seen: %v)", s, stages)
				}
			}
			if len(final) == 0 {
				t.Fatal("no file content streamed")
			}
			matched := 0
			for path, streamed := range final {
				code, raw := p.Do(t, http.MethodGet, "/api/tasks/"+id+"/files/"+path+"?raw=1", nil, nil)
				if code == http.StatusOK && string(raw) == streamed {
					matched++
				}
			}
			t.Logf("%d live messages in %d streams; %d of %d streamed files equal the stored ones",
				len(msgs), len(lastSeq), matched, len(final))
			// A later stage may rewrite a file, but most are as streamed.
			if matched == 0 || matched*2 < len(final) {
				t.Fatalf("%d of %d streamed files equal the stored ones", matched, len(final))
			}
			select {
			case m := <-plainLive:
				t.Fatalf("a client that did not opt in got %s", m)
			default:
			}
		})
	}
}
