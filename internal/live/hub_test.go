package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/llm"
	"ai-platform/internal/store/pgtest"
)

func receive(t *testing.T, ch <-chan Message, n int) []Message {
	t.Helper()
	var out []Message
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d messages", len(out), n)
			}
			out = append(out, m)
		case <-timeout:
			t.Fatalf("received %d of %d messages", len(out), n)
		}
	}
	return out
}

func TestHubInProcess(t *testing.T) {
	h := NewHub(nil, nil)
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	a, _ := h.Subscribe(ctx, "task-a")
	a2, stop2 := h.Subscribe(context.Background(), "task-a")
	b, _ := h.Subscribe(ctx, "task-b")
	h.Publish("task-a", Message{Event: EventDelta, Text: "one"})
	h.Publish("task-b", Message{Event: EventDelta, Text: "two"})
	if m := receive(t, a, 1)[0]; m.Text != "one" || m.Type != TypeLive || m.TaskID != "task-a" {
		t.Fatalf("a got %+v", m)
	}
	if m := receive(t, a2, 1)[0]; m.Text != "one" {
		t.Fatalf("a2 got %+v", m)
	}
	if m := receive(t, b, 1)[0]; m.Text != "two" {
		t.Fatalf("b got %+v", m)
	}
	stop2()
	stop2()
	if _, ok := <-a2; ok {
		t.Fatal("a cancelled subscription stays open")
	}
	cancel()
	// Each subscription ends on its own goroutine once ctx ends: wait for
	// both channels to close before counting.
	for range a {
	}
	for range b {
	}
	h.Publish("task-a", Message{Text: "nobody listens"})
	h.mu.Lock()
	n := len(h.subs)
	h.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d tasks still subscribed", n)
	}
}

// A slow subscriber loses messages instead of blocking the publisher.
func TestHubSlowSubscriberDrops(t *testing.T) {
	h := NewHub(nil, nil)
	defer h.Close()
	_, _ = h.Subscribe(context.Background(), "t")
	done := make(chan struct{})
	go func() {
		for i := 0; i < subscriberBuffer+10; i++ {
			h.Publish("t", Message{Seq: int64(i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a full subscriber")
	}
	if h.Dropped() != 10 {
		t.Fatalf("dropped %d, want 10", h.Dropped())
	}
}

// Two hubs on the same PostgreSQL channel stand for the worker and the
// API: a stream in one reaches the other's subscriber, once, in order.
func TestPGTransportAcrossHubs(t *testing.T) {
	url := pgtest.Schema(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	channel := "aip_live_test_" + hex.EncodeToString(b[:])
	newHub := func() *Hub {
		tr, err := NewPGTransport(url, channel)
		if err != nil {
			t.Fatal(err)
		}
		h := NewHub(tr, nil)
		t.Cleanup(h.Close)
		return h
	}
	worker, api := newHub(), newHub()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := api.Subscribe(ctx, "task-1")
	other, _ := api.Subscribe(ctx, "task-2")
	// LISTEN starts in the background: probe until it hears.
	deadline := time.Now().Add(10 * time.Second)
	for heard := false; !heard; {
		if time.Now().After(deadline) {
			t.Fatal("the listener never heard a probe")
		}
		worker.Publish("task-1", Message{Event: "probe"})
		select {
		case <-ch:
			heard = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	time.Sleep(300 * time.Millisecond)
	for len(ch) > 0 {
		<-ch
	}
	s := NewStream(worker, StreamConfig{TaskID: "task-1", ID: "implementation/a1", Stage: "implementation",
		Attempt: 1, Files: true, Every: 20 * time.Millisecond})
	sink := s.Sink()
	sink(llm.StreamEvent{Kind: llm.StreamBegin, Model: "m"})
	big := strings.Repeat("abc\n\"é", 3000)
	for _, c := range chunks(`{"files":[{"path":"a.txt","content":"`+jsonEscape(string(big))+`"}]}`, 999) {
		sink(llm.StreamEvent{Kind: llm.StreamDelta, Text: c})
	}
	s.Close()
	var msgs []Message
	for done := false; !done; {
		m := receive(t, ch, 1)[0]
		msgs = append(msgs, m)
		done = m.Event == EventDone
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) || m.TaskID != "task-1" {
			t.Fatalf("message %d has seq %d (gap or duplicate) task %q", i, m.Seq, m.TaskID)
		}
	}
	if content, _, _ := files(msgs); content["a.txt"] != string(big) {
		t.Fatalf("file rebuilt as %d bytes, want %d", len(content["a.txt"]), len(big))
	}
	select {
	case m := <-other:
		t.Fatalf("task-2's subscriber got %+v", m)
	default:
	}
	if worker.Dropped() != 0 {
		t.Fatalf("%d messages dropped", worker.Dropped())
	}
}

func jsonEscape(s string) string {
	var out []rune
	for _, r := range s {
		switch r {
		case '\n':
			out = append(out, '\\', 'n')
		case '"':
			out = append(out, '\\', '"')
		default:
			out = append(out, r)
		}
	}
	return string(out)
}
