//go:build durability

package durability_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"ai-platform/internal/live"
	"ai-platform/internal/task"
)

// liveLog collects the live messages a WebSocket client of the API
// receives for one task.
type liveLog struct {
	mu   sync.Mutex
	msgs []live.Message
}

func (l *liveLog) add(m live.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, m)
}

func (l *liveLog) find(match func(live.Message) bool) (live.Message, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if match(m) {
			return m, true
		}
	}
	return live.Message{}, false
}

// watchLive opens a WebSocket to the API with live output on and logs its
// live messages until the test ends.
func watchLive(t *testing.T, s *stack, id string) *liveLog {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	u := "ws" + strings.TrimPrefix(s.api.URL, "http") + "/ws/" + id + "?live=1"
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"X-Api-Key": {s.api.APIKey}}})
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	conn.SetReadLimit(1 << 20)
	log := &liveLog{}
	go func() {
		defer conn.CloseNow()
		for {
			_, raw, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var m live.Message
			if json.Unmarshal(raw, &m) == nil && m.Type == live.TypeLive {
				log.add(m)
			}
		}
	}()
	return log
}

// TestKillDuringStream kills the worker while the designer's reply is
// streaming to a WebSocket client of the API (a separate process: the live
// output crosses from the worker through PostgreSQL LISTEN/NOTIFY). The new
// worker retries the design activity; the client sees the stage restart
// (a new attempt's stream), and the task ends exactly like an undisturbed
// run: nothing is duplicated, nothing of the cut-off text is kept.
func TestKillDuringStream(t *testing.T) {
	var log *liveLog
	killTrialWith(t, map[string]string{"LLM_MOCK_STREAM_DELAY_MS": "60"},
		"A command line tool that counts words and lines in text files", "python_cli",
		func(s *stack, id string) string {
			log = watchLive(t, s, id)
			waitFor(t, 3*time.Minute, "the design reply to stream", func() bool {
				_, ok := log.find(func(m live.Message) bool {
					return m.Stage == task.StageDesign && m.Event == live.EventDelta && m.Attempt == 1
				})
				return ok
			})
			s.killWorker()
			return task.ActDesign
		})
	restart, ok := log.find(func(m live.Message) bool {
		return m.Stage == task.StageDesign && m.Event == live.EventRestart && m.Attempt >= 2
	})
	if !ok {
		t.Fatal("the client never saw the design stage restart after the kill")
	}
	if _, ok := log.find(func(m live.Message) bool {
		return m.Stage == task.StageDesign && m.Event == live.EventDelta && m.Attempt == restart.Attempt
	}); !ok {
		t.Fatal("the restarted design stage streamed nothing to the client")
	}
	if _, ok := log.find(func(m live.Message) bool { return m.Stage == task.StageImplement && m.File != "" }); !ok {
		t.Error("the coder's files never reached the client as they were written")
	}
	t.Logf("restart seen: stream %s attempt %d", restart.Stream, restart.Attempt)
}
