package storetest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// Durability fills s, closes it, opens the same data again with reopen and
// checks that everything came back: tasks, events and artifacts in order,
// files byte for byte, state, snapshot, users, sessions, usage and the
// record of applied charges. It also checks that sequence numbers keep
// growing after the reopen.
func Durability(t *testing.T, s store.Store, reopen func() store.Store) {
	tk := mustCreate(t, s, newTask("owner", t0))
	tk, err := s.UpdateTask(ctx(t), tk.ID, func(x *store.Task) error {
		x.Status, x.Result = task.StatusCompleted, json.RawMessage(`{"ok": true}`)
		x.ProvidedAnswers = map[string]any{"q": "a"}
		x.CostUSD, x.BudgetUSD, x.BudgetTokens, x.ApprovePlan = 0.004321, 1.5, 9000, true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	events := appendLog(t, s, tk.ID, 4, false)
	arts := appendLog(t, s, tk.ID, 3, true)
	blob := []byte{0, 1, 2, 0xff, 0xfe, 'x'}
	if err := s.PutFiles(ctx(t), tk.ID, []store.File{{Path: "bin", Content: blob}, file("main.py", "print(1)\n")}, nil, store.FileLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx(t), tk.ID, json.RawMessage(`{"stage": "review"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSnapshot(ctx(t), tk.ID, json.RawMessage(`{"files": []}`)); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, "durable@example.com")
	fam := newID()
	s1 := session(u.ID, fam, "d1", t0.Add(time.Hour))
	if err := s.CreateRefreshSession(ctx(t), s1); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefreshSession(ctx(t), s1.ID, session(u.ID, fam, "d2", t0.Add(time.Hour)), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUsage(ctx(t), store.UsageCharge{ID: "dc1", OwnerKey: "owner", Day: day0, TokensIn: 5, TokensOut: 6, CommandRuns: 7, CostUSD: 0.000123}); err != nil {
		t.Fatal(err)
	}
	tk = mustTask(t, s, tk.ID)
	beforeEvents, _ := s.ListEvents(ctx(t), tk.ID, store.ListOptions{Order: "asc"})
	beforeArts, _ := s.ListArtifacts(ctx(t), tk.ID, store.ListOptions{Order: "asc"})
	beforeSession, _ := s.GetRefreshSessionByHash(ctx(t), "d1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	r := reopen()
	sameTask(t, mustTask(t, r, tk.ID), tk, "task after reopen")
	evs, err := r.ListEvents(ctx(t), tk.ID, store.ListOptions{Order: "asc"})
	if err != nil || len(evs.Items) != len(events) {
		t.Fatalf("events after reopen: %d, %v", len(evs.Items), err)
	}
	for i, e := range evs.Items {
		b := beforeEvents.Items[i]
		if e.ID != events[i] || e.Seq != b.Seq || !e.CreatedAt.Equal(b.CreatedAt) || e.Type != b.Type {
			t.Errorf("event %d after reopen = %+v, want %+v", i, e, b)
		}
		wantJSON(t, e.Payload, b.Payload, "event payload")
	}
	as, err := r.ListArtifacts(ctx(t), tk.ID, store.ListOptions{Order: "asc"})
	if err != nil || len(as.Items) != len(arts) {
		t.Fatalf("artifacts after reopen: %d, %v", len(as.Items), err)
	}
	for i, a := range as.Items {
		if a.ID != arts[i] || a.Seq != beforeArts.Items[i].Seq || a.ProducedBy != "agent" {
			t.Errorf("artifact %d after reopen = %+v", i, a)
		}
	}
	if f, err := r.GetFile(ctx(t), tk.ID, "bin"); err != nil || !bytes.Equal(f.Content, blob) {
		t.Errorf("binary file after reopen: %q, %v", f.Content, err)
	}
	wantFiles(t, r, tk.ID, map[string]string{"bin": string(blob), "main.py": "print(1)\n"}, []string{"bin", "main.py"})
	if st, _, err := r.GetState(ctx(t), tk.ID); err != nil {
		t.Errorf("state after reopen: %v", err)
	} else {
		wantJSON(t, st, []byte(`{"stage": "review"}`), "state after reopen")
	}
	if sn, err := r.GetSnapshot(ctx(t), tk.ID); err != nil {
		t.Errorf("snapshot after reopen: %v", err)
	} else {
		wantJSON(t, sn, []byte(`{"files": []}`), "snapshot after reopen")
	}
	if got, err := r.GetUserByEmail(ctx(t), "durable@example.com"); err != nil || got != u {
		t.Errorf("user after reopen = %+v, %v; want %+v", got, err, u)
	}
	got, err := r.GetRefreshSessionByHash(ctx(t), "d1")
	if err != nil || got.RotatedAt == nil || !got.RotatedAt.Equal(*beforeSession.RotatedAt) || got.ID != s1.ID || !got.ExpiresAt.Equal(beforeSession.ExpiresAt) {
		t.Errorf("rotated session after reopen = %+v, %v", got, err)
	}
	if _, err := r.GetRefreshSessionByHash(ctx(t), "d2"); err != nil {
		t.Errorf("next session after reopen: %v", err)
	}
	wantUsage(t, r, "owner", day0, 5, 6, 7)
	if u, _ := r.GetUsage(ctx(t), "owner", day0); u.CostUSD != 0.000123 {
		t.Errorf("daily cost after reopen = %v, want 0.000123", u.CostUSD)
	}
	if ok, err := r.AddUsage(ctx(t), store.UsageCharge{ID: "dc1", OwnerKey: "owner", Day: day0, TokensIn: 5}); ok || err != nil {
		t.Errorf("charge applied again after reopen: %v, %v", ok, err)
	}
	// Ids and sequence numbers survive: no duplicate, no reused seq.
	if ok, err := r.AppendEvent(ctx(t), store.Event{ID: events[0], TaskID: tk.ID, Type: "a"}); ok || err != nil {
		t.Errorf("known event appended again after reopen: %v, %v", ok, err)
	}
	more := appendLog(t, r, tk.ID, 1, false)
	evs, _ = r.ListEvents(ctx(t), tk.ID, store.ListOptions{Limit: 1})
	if len(evs.Items) != 1 || evs.Items[0].ID != more[0] || evs.Items[0].Seq <= beforeArts.Items[len(beforeArts.Items)-1].Seq && evs.Items[0].Seq <= beforeEvents.Items[len(beforeEvents.Items)-1].Seq {
		t.Errorf("event appended after reopen is not the newest: %+v", evs.Items)
	}
}
