package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// day0 is a UTC midnight.
var day0 = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)

func wantUsage(t *testing.T, s store.Store, owner string, day time.Time, in, out, runs int64) {
	t.Helper()
	u, err := s.GetUsage(ctx(t), owner, day)
	if err != nil {
		t.Fatal(err)
	}
	if u.TokensIn != in || u.TokensOut != out || u.CommandRuns != runs || u.OwnerKey != owner || !u.Day.Equal(day0Of(day)) {
		t.Errorf("usage %s %s = %+v, want %d/%d/%d", owner, day.Format(time.DateOnly), u, in, out, runs)
	}
}

func day0Of(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func testUsage(t *testing.T, s store.Store) {
	wantUsage(t, s, "k1", day0, 0, 0, 0)

	add := func(id, owner string, day time.Time, in, out, runs int64, want bool) {
		t.Helper()
		ok, err := s.AddUsage(ctx(t), store.UsageCharge{ID: id, OwnerKey: owner, Day: day, TokensIn: in, TokensOut: out, CommandRuns: runs})
		if err != nil || ok != want {
			t.Fatalf("AddUsage(%s) = %v, %v; want %v", id, ok, err, want)
		}
	}
	add("c1", "k1", day0, 10, 5, 1, true)
	add("c1", "k1", day0, 10, 5, 1, false) // retried charge
	wantUsage(t, s, "k1", day0, 10, 5, 1)

	// 23:30 UTC written in UTC+2 is the next day locally but day0 in UTC.
	late := time.Date(2025, 3, 15, 1, 30, 0, 0, time.FixedZone("UTC+2", 2*3600))
	add("c2", "k1", late, 1, 2, 3, true)
	wantUsage(t, s, "k1", day0, 11, 7, 4)
	wantUsage(t, s, "k1", day0.Add(13*time.Hour), 11, 7, 4)

	add("c3", "k1", day0.AddDate(0, 0, 1), 100, 0, 0, true)
	add("c4", "k2", day0, 0, 0, 9, true)
	wantUsage(t, s, "k1", day0, 11, 7, 4)
	wantUsage(t, s, "k1", day0.AddDate(0, 0, 1), 100, 0, 0)
	wantUsage(t, s, "k2", day0, 0, 0, 9)
	wantUsage(t, s, "k2", day0.AddDate(0, 0, 1), 0, 0, 0)
	// A charge id is global: reusing it for another owner does nothing.
	add("c1", "k3", day0, 10, 5, 1, false)
	wantUsage(t, s, "k3", day0, 0, 0, 0)
}

func testUsageSince(t *testing.T, s store.Store) {
	charges := []store.UsageCharge{
		{ID: "1", OwnerKey: "old", Day: day0.AddDate(0, 0, -2), TokensIn: 1000},
		{ID: "2", OwnerKey: "b", Day: day0, TokensIn: 50},
		{ID: "3", OwnerKey: "b", Day: day0.AddDate(0, 0, -1), TokensOut: 70, CommandRuns: 2},
		{ID: "4", OwnerKey: "old", Day: day0.AddDate(0, 0, -1), TokensIn: 1},
		{ID: "5", OwnerKey: "e", Day: day0, TokensIn: 25, TokensOut: 25},
		{ID: "6", OwnerKey: "c", Day: day0, TokensIn: 50},
		{ID: "7", OwnerKey: "d", Day: day0, CommandRuns: 3},
	}
	for _, c := range charges {
		if _, err := s.AddUsage(ctx(t), c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UsageSince(ctx(t), day0.AddDate(0, 0, -1).Add(5*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		owner         string
		in, out, runs int64
	}
	want := []row{{"b", 50, 70, 2}, {"c", 50, 0, 0}, {"e", 25, 25, 0}, {"old", 1, 0, 0}, {"d", 0, 0, 3}}
	if len(got) != len(want) {
		t.Fatalf("UsageSince = %+v, want %v", got, want)
	}
	for i, w := range want {
		if g := got[i]; g.OwnerKey != w.owner || g.TokensIn != w.in || g.TokensOut != w.out || g.CommandRuns != w.runs {
			t.Errorf("row %d = %+v, want %+v (largest total first, ties by owner)", i, g, w)
		}
	}
	got, err = s.UsageSince(ctx(t), day0.AddDate(0, 0, -1), 2)
	if err != nil || len(got) != 2 || got[0].OwnerKey != "b" || got[1].OwnerKey != "c" {
		t.Errorf("UsageSince limit 2 = %+v, %v", got, err)
	}
	if got, err := s.UsageSince(ctx(t), day0.AddDate(0, 0, 1), 10); err != nil || len(got) != 0 {
		t.Errorf("UsageSince the future = %+v, %v", got, err)
	}
}

func testPurge(t *testing.T, s store.Store) {
	// Microsecond-aligned, so "created at the cutoff" is what was stored.
	cutoff := t0.Truncate(time.Microsecond)
	mk := func(at time.Time) store.Task { return mustCreate(t, s, endedTask("o", at, at)) }
	old1 := mk(cutoff.Add(-2 * time.Hour))
	old2 := mk(cutoff.Add(-time.Second))
	old3 := mk(cutoff.Add(-time.Hour))
	edge := mk(cutoff) // exactly at the cutoff: kept
	young := mk(cutoff.Add(time.Hour))

	appendLog(t, s, old1.ID, 2, false)
	appendLog(t, s, old1.ID, 1, true)
	if err := s.PutFiles(ctx(t), old1.ID, []store.File{file("a", "1"), file("b", "2")}, nil, store.FileLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx(t), old1.ID, json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSnapshot(ctx(t), old1.ID, json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	appendLog(t, s, old3.ID, 1, false)
	appendLog(t, s, edge.ID, 3, false)
	appendLog(t, s, old2.ID, 1, true)

	for _, c := range []store.UsageCharge{
		{ID: "old", OwnerKey: "k", Day: cutoff.AddDate(0, 0, -1), TokensIn: 1},
		{ID: "today", OwnerKey: "k", Day: cutoff, TokensIn: 2},
	} {
		if _, err := s.AddUsage(ctx(t), c); err != nil {
			t.Fatal(err)
		}
	}
	u := mustUser(t, s, "purge@example.com")
	for i, exp := range []time.Time{cutoff.Add(-time.Second), cutoff, cutoff.Add(time.Hour)} {
		if err := s.CreateRefreshSession(ctx(t), session(u.ID, newID(), "purge-"+string(rune('a'+i)), exp)); err != nil {
			t.Fatal(err)
		}
	}

	r, err := s.Purge(ctx(t), cutoff, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The two oldest go first: old1 and old3.
	if want := (store.PurgeResult{Tasks: 2, Events: 3, Artifacts: 1, Files: 2, Usage: 1, Sessions: 1}); r != want {
		t.Errorf("first purge = %+v, want %+v", r, want)
	}
	for _, id := range []string{old1.ID, old3.ID} {
		_, err := s.GetTask(ctx(t), id)
		wantErr(t, err, store.ErrNotFound, "purged task")
		_, err = s.ListEvents(ctx(t), id, store.ListOptions{})
		wantErr(t, err, store.ErrNotFound, "events of a purged task")
	}
	_, err = s.GetFile(ctx(t), old1.ID, "a")
	wantErr(t, err, store.ErrNotFound, "file of a purged task")
	_, _, err = s.GetState(ctx(t), old1.ID)
	wantErr(t, err, store.ErrNotFound, "state of a purged task")
	_, err = s.GetSnapshot(ctx(t), old1.ID)
	wantErr(t, err, store.ErrNotFound, "snapshot of a purged task")

	r, err = s.Purge(ctx(t), cutoff, 2)
	if want := (store.PurgeResult{Tasks: 1, Artifacts: 1}); err != nil || r != want {
		t.Errorf("second purge = %+v, %v; want %+v", r, err, want)
	}
	r, err = s.Purge(ctx(t), cutoff, 2)
	if err != nil || r != (store.PurgeResult{}) {
		t.Errorf("third purge = %+v, %v; want nothing", r, err)
	}

	for _, id := range []string{edge.ID, young.ID} {
		mustTask(t, s, id)
	}
	if p, err := s.ListEvents(ctx(t), edge.ID, store.ListOptions{}); err != nil || p.Total != 3 {
		t.Errorf("events of the kept task: %d, %v", p.Total, err)
	}
	wantUsage(t, s, "k", cutoff, 2, 0, 0)
	wantUsage(t, s, "k", cutoff.AddDate(0, 0, -1), 0, 0, 0)
	_, err = s.GetRefreshSessionByHash(ctx(t), "purge-a")
	wantErr(t, err, store.ErrNotFound, "expired session")
	for _, h := range []string{"purge-b", "purge-c"} {
		if _, err := s.GetRefreshSessionByHash(ctx(t), h); err != nil {
			t.Errorf("session %s: %v", h, err)
		}
	}
	// The purged charge record went with its day.
	if ok, err := s.AddUsage(ctx(t), store.UsageCharge{ID: "today", OwnerKey: "k", Day: cutoff}); ok || err != nil {
		t.Errorf("kept charge applied again: %v %v", ok, err)
	}
	if ok, err := s.AddUsage(ctx(t), store.UsageCharge{ID: "old", OwnerKey: "k", Day: cutoff.AddDate(0, 0, -1)}); !ok || err != nil {
		t.Errorf("purged charge id: %v %v, want it free again", ok, err)
	}
}

func testPurgeUnbatched(t *testing.T, s store.Store) {
	at := t0.Truncate(time.Microsecond)
	for i := range 3 {
		created := at.Add(-time.Duration(i+1) * time.Minute)
		mustCreate(t, s, endedTask("o", created, created))
	}
	kept := mustCreate(t, s, endedTask("o", at, at))
	// Times are stored to the microsecond; a cutoff between two of them
	// must still compare exactly: a nanosecond before the task keeps it,
	// a nanosecond after purges it.
	r, err := s.Purge(ctx(t), at.Add(-time.Nanosecond), 0)
	if err != nil || r.Tasks != 3 {
		t.Errorf("Purge(batch 0) = %+v, %v; want 3 tasks", r, err)
	}
	if _, err := s.GetTask(ctx(t), kept.ID); errors.Is(err, store.ErrNotFound) {
		t.Error("task created after the cutoff was purged")
	}
	r, err = s.Purge(ctx(t), at.Add(time.Nanosecond), 0)
	if err != nil || r.Tasks != 1 {
		t.Errorf("Purge a nanosecond after the task = %+v, %v; want it purged", r, err)
	}
}

// endedTask is a completed task created at created that ended at ended.
func endedTask(owner string, created, ended time.Time) store.Task {
	tk := newTask(owner, created)
	tk.Status, tk.CompletedAt = task.StatusCompleted, &ended
	return tk
}

// testPurgeOnlyEnded: retention removes a task only once it has ended
// (completed, failed, cancelled) and counts from when it ended, not from
// when it was created. A task waiting for answers or paused for longer than
// the TTL still has a running workflow and must keep its row.
func testPurgeOnlyEnded(t *testing.T, s store.Store) {
	cutoff := t0.Truncate(time.Microsecond)
	long := cutoff.Add(-48 * time.Hour)
	var keep, purge []string
	for _, st := range []task.Status{task.StatusQueued, task.StatusProcessing, task.StatusNeedsInput, task.StatusPaused} {
		tk := newTask("o", long)
		tk.Status = st
		created := mustCreate(t, s, tk)
		if err := s.PutFiles(ctx(t), created.ID, []store.File{file("a.py", "x")}, nil, store.FileLimits{}); err != nil {
			t.Fatal(err)
		}
		keep = append(keep, created.ID)
	}
	// Ran for two days, finished an hour after the cutoff: kept.
	keep = append(keep, mustCreate(t, s, endedTask("o", long, cutoff.Add(time.Hour))).ID)
	// Finished a second before the cutoff: purged.
	purge = append(purge, mustCreate(t, s, endedTask("o", long, cutoff.Add(-time.Second))).ID)
	// Terminal without a completion time: counted from its last change.
	for _, st := range []task.Status{task.StatusFailed, task.StatusCancelled} {
		tk := newTask("o", long)
		tk.Status = st
		purge = append(purge, mustCreate(t, s, tk).ID) // last changed when created, long ago
	}
	touched := newTask("o", long)
	touched.Status = task.StatusFailed
	touchedID := mustCreate(t, s, touched).ID
	if _, err := s.UpdateTask(ctx(t), touchedID, func(row *store.Task) error { row.Error = "seen"; return nil }); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, touchedID) // changed now, after the cutoff

	// Batches of one: the kept old tasks must not stall the loop.
	var total store.PurgeResult
	for i := 0; ; i++ {
		r, err := s.Purge(ctx(t), cutoff, 1)
		if err != nil {
			t.Fatal(err)
		}
		if r.Tasks == 0 {
			break
		}
		if r.Tasks != 1 || i > len(purge) {
			t.Fatalf("purge %d removed %d tasks, want 1 per batch and %d in all", i, r.Tasks, len(purge))
		}
		total.Tasks += r.Tasks
		total.Files += r.Files
	}
	if total.Tasks != int64(len(purge)) || total.Files != 0 {
		t.Errorf("purged %+v, want %d tasks and no files", total, len(purge))
	}
	for _, id := range purge {
		_, err := s.GetTask(ctx(t), id)
		wantErr(t, err, store.ErrNotFound, "ended expired task")
	}
	for _, id := range keep {
		got := mustTask(t, s, id)
		if !got.Status.Terminal() {
			if f, err := s.GetFile(ctx(t), id, "a.py"); err != nil || string(f.Content) != "x" {
				t.Errorf("file of the %s task %s: %v", got.Status, id, err)
			}
		}
	}
}

// testPurgeUsageBatches: usage rows, usage charges and expired sessions go
// in batches too, and every one of them is counted.
func testPurgeUsageBatches(t *testing.T, s store.Store) {
	cutoff := t0.Truncate(time.Microsecond)
	for i := range 5 {
		c := store.UsageCharge{ID: "old-" + string(rune('a'+i)), OwnerKey: "k" + string(rune('a'+i)),
			Day: cutoff.AddDate(0, 0, -1-i), TokensIn: 1}
		if _, err := s.AddUsage(ctx(t), c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddUsage(ctx(t), store.UsageCharge{ID: "today", OwnerKey: "ka", Day: cutoff, TokensIn: 7}); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, "purge-batches@example.com")
	for i := range 3 {
		if err := s.CreateRefreshSession(ctx(t), session(u.ID, newID(), "expired-"+string(rune('a'+i)), cutoff.Add(-time.Duration(i+1)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateRefreshSession(ctx(t), session(u.ID, newID(), "live", cutoff.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	r, err := s.Purge(ctx(t), cutoff, 2)
	if want := (store.PurgeResult{Usage: 5, Sessions: 3}); err != nil || r != want {
		t.Errorf("purge = %+v, %v; want %+v", r, err, want)
	}
	if r, err := s.Purge(ctx(t), cutoff, 2); err != nil || r != (store.PurgeResult{}) {
		t.Errorf("second purge = %+v, %v; want nothing", r, err)
	}
	for i := range 5 {
		wantUsage(t, s, "k"+string(rune('a'+i)), cutoff.AddDate(0, 0, -1-i), 0, 0, 0)
	}
	wantUsage(t, s, "ka", cutoff, 7, 0, 0)
	if _, err := s.GetRefreshSessionByHash(ctx(t), "live"); err != nil {
		t.Errorf("live session: %v", err)
	}
	for i := range 3 {
		_, err := s.GetRefreshSessionByHash(ctx(t), "expired-"+string(rune('a'+i)))
		wantErr(t, err, store.ErrNotFound, "expired session")
	}
	// Every old charge record went: each id charges again.
	for i := range 5 {
		c := store.UsageCharge{ID: "old-" + string(rune('a'+i)), OwnerKey: "x", Day: cutoff.AddDate(0, 0, -1-i)}
		if ok, err := s.AddUsage(ctx(t), c); !ok || err != nil {
			t.Errorf("purged charge %s: %v %v, want it free again", c.ID, ok, err)
		}
	}
}
