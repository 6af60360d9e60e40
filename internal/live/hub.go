package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Transport carries messages between processes (the worker that streams
// and the API that serves the watchers).
type Transport interface {
	// Send publishes one encoded message (under MaxPayload bytes).
	Send(ctx context.Context, payload []byte) error
	// Listen delivers every message published by any process until ctx
	// ends or the connection fails.
	Listen(ctx context.Context, deliver func(payload []byte)) error
	Close()
}

// Buffers: a subscriber that falls this far behind loses messages (and
// sees a gap in seq); so does a transport this far behind.
const (
	subscriberBuffer = 256
	sendQueue        = 512
)

// Hub fans live messages out to the subscribers of each task. Without a
// transport it delivers in process (`aiplatform run`, tests); with one it
// publishes through the transport only and delivers what the transport's
// listener receives, so a process that is both publisher and subscriber
// gets each message once.
type Hub struct {
	tr  Transport
	log *slog.Logger

	mu   sync.Mutex
	subs map[string]map[chan Message]struct{}

	out       chan []byte
	listening bool
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	dropped   atomic.Int64
}

// NewHub returns a hub; tr nil keeps it in this process.
func NewHub(tr Transport, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.Default()
	}
	h := &Hub{tr: tr, log: log, subs: map[string]map[chan Message]struct{}{}}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if tr != nil {
		h.out = make(chan []byte, sendQueue)
		h.wg.Add(1)
		go h.sender()
	}
	return h
}

// Dropped counts messages lost to full buffers.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Publish sends m to the task's subscribers, in this process or through
// the transport. It never blocks: the channel is best-effort.
func (h *Hub) Publish(taskID string, m Message) {
	m.Type, m.TaskID = TypeLive, taskID
	if h.tr == nil {
		h.deliver(m)
		return
	}
	b, err := json.Marshal(m)
	if err != nil || len(b) >= MaxPayload {
		h.dropped.Add(1)
		h.log.Debug("live message not sent", "task_id", taskID, "bytes", len(b), "error", err)
		return
	}
	select {
	case h.out <- b:
	default:
		h.dropped.Add(1)
	}
}

// Subscribe returns the task's messages until ctx ends or cancel is
// called; the channel is then closed.
func (h *Hub) Subscribe(ctx context.Context, taskID string) (<-chan Message, func()) {
	ch := make(chan Message, subscriberBuffer)
	h.mu.Lock()
	if h.subs[taskID] == nil {
		h.subs[taskID] = map[chan Message]struct{}{}
	}
	h.subs[taskID][ch] = struct{}{}
	if h.tr != nil && !h.listening && h.ctx.Err() == nil {
		h.listening = true
		h.wg.Add(1)
		go h.listen()
	}
	h.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[taskID], ch)
			if len(h.subs[taskID]) == 0 {
				delete(h.subs, taskID)
			}
			close(ch)
			h.mu.Unlock()
		})
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-h.ctx.Done():
		}
		cancel()
	}()
	return ch, cancel
}

// Close stops the transport's goroutines and ends every subscription.
func (h *Hub) Close() {
	h.cancel()
	h.wg.Wait()
	if h.tr != nil {
		h.tr.Close()
	}
}

func (h *Hub) deliver(m Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[m.TaskID] {
		select {
		case ch <- m:
		default:
			h.dropped.Add(1)
		}
	}
}

// sender passes queued messages to the transport in order.
func (h *Hub) sender() {
	defer h.wg.Done()
	failing := false
	for {
		select {
		case <-h.ctx.Done():
			return
		case b := <-h.out:
			ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
			err := h.tr.Send(ctx, b)
			cancel()
			switch {
			case err != nil && !failing && h.ctx.Err() == nil:
				failing = true
				h.log.Warn("live output: publishing failed; watchers miss what is written until it works again", "error", err)
			case err != nil:
				h.dropped.Add(1)
			case failing:
				failing = false
				h.log.Info("live output: publishing works again")
			}
		}
	}
}

// listen delivers what the transport receives, reconnecting after a
// failure with a growing pause.
func (h *Hub) listen() {
	defer h.wg.Done()
	pause := 250 * time.Millisecond
	for h.ctx.Err() == nil {
		started := time.Now()
		err := h.tr.Listen(h.ctx, func(b []byte) {
			var m Message
			if json.Unmarshal(b, &m) == nil && m.TaskID != "" {
				h.deliver(m)
			}
		})
		if h.ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			pause = 250 * time.Millisecond
		}
		h.log.Warn("live output: listener stopped; reconnecting", "error", err, "in", pause.String())
		select {
		case <-h.ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Second)
	}
}
