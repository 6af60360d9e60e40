package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"ai-platform/internal/store"
)

func testEventAppend(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	other := mustCreate(t, s, newTask("o", t0))
	e := store.Event{ID: newID(), TaskID: tk.ID, Type: "stage_started", Payload: json.RawMessage(`{"stage": "research", "n": 1}`), CreatedAt: t0}

	ok, err := s.AppendEvent(ctx(t), e)
	if err != nil || !ok {
		t.Fatalf("first append: %v %v", ok, err)
	}
	again := e
	again.Payload = json.RawMessage(`{"stage": "changed"}`)
	if ok, err := s.AppendEvent(ctx(t), again); err != nil || ok {
		t.Errorf("second append of one id: inserted=%v err=%v, want false, nil", ok, err)
	}
	// Ids are unique across tasks: a deterministic id never names two events.
	elsewhere := e
	elsewhere.TaskID = other.ID
	if ok, err := s.AppendEvent(ctx(t), elsewhere); err != nil || ok {
		t.Errorf("same id on another task: inserted=%v err=%v, want false, nil", ok, err)
	}
	page, err := s.ListEvents(ctx(t), tk.ID, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || len(page.Items) != 1 {
		t.Fatalf("events after duplicate appends: total %d items %d, want 1", page.Total, len(page.Items))
	}
	got := page.Items[0]
	wantJSON(t, got.Payload, e.Payload, "payload")
	wantTime(t, got.CreatedAt, t0, "CreatedAt")
	if got.ID != e.ID || got.TaskID != tk.ID || got.Type != e.Type || got.Seq <= 0 {
		t.Errorf("event = %+v", got)
	}
	if p, _ := s.ListEvents(ctx(t), other.ID, store.ListOptions{}); p.Total != 0 {
		t.Errorf("other task has %d events", p.Total)
	}

	// Defaults: empty payload is {}, zero time is now.
	bare := store.Event{ID: newID(), TaskID: tk.ID, Type: "log"}
	if ok, err := s.AppendEvent(ctx(t), bare); err != nil || !ok {
		t.Fatalf("bare append: %v %v", ok, err)
	}
	page, _ = s.ListEvents(ctx(t), tk.ID, store.ListOptions{Type: "log"})
	if len(page.Items) != 1 || string(page.Items[0].Payload) != "{}" || time.Since(page.Items[0].CreatedAt) > time.Minute {
		t.Errorf("defaults: %+v", page.Items)
	}

	if _, err := s.AppendEvent(ctx(t), store.Event{ID: newID(), TaskID: tk.ID, Type: "x", Payload: json.RawMessage(`{nope`)}); err == nil {
		t.Error("invalid JSON payload accepted")
	}
	for _, id := range malformed {
		if _, err := s.AppendEvent(ctx(t), store.Event{ID: id, TaskID: tk.ID, Type: "x"}); err == nil {
			t.Errorf("event id %q accepted", id)
		}
	}
}

// appendLog appends n entries alternating types "a" and "b" and returns their ids in order.
func appendLog(t *testing.T, s store.Store, taskID string, n int, artifacts bool) []string {
	t.Helper()
	var out []string
	for i := range n {
		id, typ := newID(), []string{"a", "b"}[i%2]
		payload := json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))
		var err error
		if artifacts {
			_, err = s.AppendArtifact(ctx(t), store.Artifact{ID: id, TaskID: taskID, Type: typ, ProducedBy: "agent", Payload: payload})
		} else {
			_, err = s.AppendEvent(ctx(t), store.Event{ID: id, TaskID: taskID, Type: typ, Payload: payload})
		}
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, id)
	}
	return out
}

// lister adapts ListEvents and ListArtifacts to one shape.
type lister func(o store.ListOptions) (ids []string, seqs []int64, next string, total int, err error)

func eventLister(t *testing.T, s store.Store, taskID string) lister {
	return func(o store.ListOptions) ([]string, []int64, string, int, error) {
		p, err := s.ListEvents(ctx(t), taskID, o)
		var ids []string
		var seqs []int64
		for _, e := range p.Items {
			ids, seqs = append(ids, e.ID), append(seqs, e.Seq)
		}
		return ids, seqs, p.Next, p.Total, err
	}
}

func artifactLister(t *testing.T, s store.Store, taskID string) lister {
	return func(o store.ListOptions) ([]string, []int64, string, int, error) {
		p, err := s.ListArtifacts(ctx(t), taskID, o)
		var ids []string
		var seqs []int64
		for _, a := range p.Items {
			ids, seqs = append(ids, a.ID), append(seqs, a.Seq)
		}
		return ids, seqs, p.Next, p.Total, err
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func every(s []string, from int) []string {
	var out []string
	for i := from; i < len(s); i += 2 {
		out = append(out, s[i])
	}
	return out
}

// checkLogListing checks order, type filter, totals and cursor paging of a
// log holding ids (types alternating a, b).
func checkLogListing(t *testing.T, list lister, ids []string) {
	t.Helper()
	cases := []struct {
		name string
		o    store.ListOptions
		want []string
	}{
		{"default is newest first", store.ListOptions{}, reversed(ids)},
		{"desc", store.ListOptions{Order: "desc"}, reversed(ids)},
		{"asc", store.ListOptions{Order: "asc"}, ids},
		{"type a asc", store.ListOptions{Type: "a", Order: "asc"}, every(ids, 0)},
		{"type b desc", store.ListOptions{Type: "b"}, reversed(every(ids, 1))},
		{"unknown type", store.ListOptions{Type: "zzz"}, nil},
		{"asc by 2", store.ListOptions{Order: "asc", Limit: 2}, ids},
		{"desc by 3", store.ListOptions{Limit: 3}, reversed(ids)},
		{"type a asc by 1", store.ListOptions{Type: "a", Order: "asc", Limit: 1}, every(ids, 0)},
		{"type b desc by 2", store.ListOptions{Type: "b", Limit: 2}, reversed(every(ids, 1))},
	}
	for _, c := range cases {
		o := c.o
		var got []string
		var lastSeq int64 = -1
		for pages := 0; ; pages++ {
			if pages > len(ids)+1 {
				t.Fatalf("%s: paging does not end", c.name)
			}
			page, seqs, next, total, err := list(o)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if total != len(c.want) {
				t.Errorf("%s: Total %d, want %d", c.name, total, len(c.want))
			}
			if o.Limit > 0 && len(page) > o.Limit {
				t.Fatalf("%s: page of %d > limit %d", c.name, len(page), o.Limit)
			}
			for _, sq := range seqs {
				if lastSeq >= 0 && ((o.Order == "asc") != (sq > lastSeq)) {
					t.Errorf("%s: seq %d after %d is out of order", c.name, sq, lastSeq)
				}
				lastSeq = sq
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			o.After = next
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	for _, bad := range []string{"x", "-1", "1.5", "9999999999999999999999"} {
		_, _, _, _, err := list(store.ListOptions{After: bad})
		wantErr(t, err, store.ErrBadCursor, "cursor "+bad)
	}
}

func testEventList(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	// Another task's events must not show up.
	appendLog(t, s, mustCreate(t, s, newTask("o", t0)).ID, 3, false)
	ids := appendLog(t, s, tk.ID, 7, false)
	checkLogListing(t, eventLister(t, s, tk.ID), ids)
}

func testEventDefaultLimit(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	appendLog(t, s, tk.ID, 201, false)
	page, err := s.ListEvents(ctx(t), tk.ID, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 200 || page.Next == "" || page.Total != 201 {
		t.Errorf("default limit: %d items next %q total %d, want 200, a cursor, 201", len(page.Items), page.Next, page.Total)
	}
	rest, err := s.ListEvents(ctx(t), tk.ID, store.ListOptions{After: page.Next})
	if err != nil || len(rest.Items) != 1 || rest.Next != "" {
		t.Errorf("last page: %d items next %q err %v", len(rest.Items), rest.Next, err)
	}
}

func testArtifactAppend(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	a := store.Artifact{ID: newID(), TaskID: tk.ID, Type: "review", ProducedBy: "reviewer",
		Payload: json.RawMessage(`{"passed": true}`), CreatedAt: t0.Add(time.Minute)}
	for i, want := range []bool{true, false, false} {
		ok, err := s.AppendArtifact(ctx(t), a)
		if err != nil || ok != want {
			t.Errorf("append #%d: inserted=%v err=%v, want %v", i+1, ok, err, want)
		}
	}
	got := mustTask(t, s, tk.ID)
	if got.ArtifactsCount != 1 {
		t.Errorf("ArtifactsCount = %d after one insert and two duplicates, want 1", got.ArtifactsCount)
	}
	if got.Version != tk.Version+1 {
		t.Errorf("Version = %d, want %d (bumped once, with the counter)", got.Version, tk.Version+1)
	}
	elsewhere := a
	elsewhere.TaskID = mustCreate(t, s, newTask("o", t0)).ID
	if ok, err := s.AppendArtifact(ctx(t), elsewhere); ok || err != nil {
		t.Errorf("same id on another task: inserted=%v err=%v", ok, err)
	}
	if n := mustTask(t, s, elsewhere.TaskID).ArtifactsCount; n != 0 {
		t.Errorf("other task ArtifactsCount = %d", n)
	}
	b := store.Artifact{ID: newID(), TaskID: tk.ID, Type: "patch"}
	if ok, err := s.AppendArtifact(ctx(t), b); err != nil || !ok {
		t.Fatalf("bare artifact: %v %v", ok, err)
	}
	if n := mustTask(t, s, tk.ID).ArtifactsCount; n != 2 {
		t.Errorf("ArtifactsCount = %d, want 2", n)
	}
	if _, err := s.AppendArtifact(ctx(t), store.Artifact{ID: newID(), TaskID: tk.ID, Type: "x", Payload: json.RawMessage(`[1,`)}); err == nil {
		t.Error("invalid JSON payload accepted")
	}
	if _, err := s.AppendArtifact(ctx(t), store.Artifact{ID: "artifact-1", TaskID: tk.ID, Type: "x"}); err == nil {
		t.Error("malformed artifact id accepted")
	}
	if n := mustTask(t, s, tk.ID).ArtifactsCount; n != 2 {
		t.Errorf("ArtifactsCount = %d after rejected appends, want 2", n)
	}
}

func testArtifactList(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	appendLog(t, s, mustCreate(t, s, newTask("o", t0)).ID, 2, true)
	ids := appendLog(t, s, tk.ID, 6, true)
	checkLogListing(t, artifactLister(t, s, tk.ID), ids)
	if n := mustTask(t, s, tk.ID).ArtifactsCount; n != 6 {
		t.Errorf("ArtifactsCount = %d, want 6", n)
	}
}

func testArtifactGetLatest(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	other := mustCreate(t, s, newTask("o", t0))
	ids := appendLog(t, s, tk.ID, 5, true) // types a b a b a

	a, err := s.GetArtifact(ctx(t), tk.ID, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != ids[1] || a.TaskID != tk.ID || a.Type != "b" || a.ProducedBy != "agent" || a.Seq <= 0 {
		t.Errorf("GetArtifact = %+v", a)
	}
	wantJSON(t, a.Payload, []byte(`{"i": 1}`), "payload")

	_, err = s.GetArtifact(ctx(t), other.ID, ids[1])
	wantErr(t, err, store.ErrNotFound, "artifact of another task")
	_, err = s.GetArtifact(ctx(t), tk.ID, newID())
	wantErr(t, err, store.ErrNotFound, "unknown artifact")
	for _, id := range malformed {
		_, err = s.GetArtifact(ctx(t), tk.ID, id)
		wantErr(t, err, store.ErrNotFound, "GetArtifact(malformed "+id+")")
		_, err = s.GetArtifact(ctx(t), id, ids[0])
		wantErr(t, err, store.ErrNotFound, "GetArtifact(task "+id+")")
	}

	for typ, want := range map[string]string{"a": ids[4], "b": ids[3]} {
		got, err := s.LatestArtifact(ctx(t), tk.ID, typ)
		if err != nil || got.ID != want {
			t.Errorf("LatestArtifact(%s) = %s, %v; want %s", typ, got.ID, err, want)
		}
	}
	_, err = s.LatestArtifact(ctx(t), tk.ID, "none")
	wantErr(t, err, store.ErrNotFound, "LatestArtifact of an absent type")
	_, err = s.LatestArtifact(ctx(t), other.ID, "a")
	wantErr(t, err, store.ErrNotFound, "LatestArtifact of a task without artifacts")
}

func testLogUnknownTask(t *testing.T, s store.Store) {
	for _, id := range append([]string{newID()}, malformed...) {
		_, err := s.AppendEvent(ctx(t), store.Event{ID: newID(), TaskID: id, Type: "x"})
		wantErr(t, err, store.ErrNotFound, "AppendEvent to task "+id)
		_, err = s.AppendArtifact(ctx(t), store.Artifact{ID: newID(), TaskID: id, Type: "x"})
		wantErr(t, err, store.ErrNotFound, "AppendArtifact to task "+id)
		_, err = s.ListEvents(ctx(t), id, store.ListOptions{})
		wantErr(t, err, store.ErrNotFound, "ListEvents of task "+id)
		_, err = s.ListArtifacts(ctx(t), id, store.ListOptions{})
		wantErr(t, err, store.ErrNotFound, "ListArtifacts of task "+id)
		_, err = s.LatestArtifact(ctx(t), id, "x")
		wantErr(t, err, store.ErrNotFound, "LatestArtifact of task "+id)
	}
	// A known event id appended to a missing task still reports the task.
	tk := mustCreate(t, s, newTask("o", t0))
	e := store.Event{ID: newID(), TaskID: tk.ID, Type: "x"}
	if _, err := s.AppendEvent(ctx(t), e); err != nil {
		t.Fatal(err)
	}
	e.TaskID = newID()
	_, err := s.AppendEvent(ctx(t), e)
	wantErr(t, err, store.ErrNotFound, "known event id to a missing task")

	empty := mustCreate(t, s, newTask("o", t0))
	page, err := s.ListEvents(ctx(t), empty.ID, store.ListOptions{})
	if err != nil || len(page.Items) != 0 || page.Total != 0 || page.Next != "" {
		t.Errorf("events of a task without any: %+v %v", page, err)
	}
}
