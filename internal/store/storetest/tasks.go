package storetest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

func testTaskCreateGet(t *testing.T, s store.Store) {
	completed := time.Date(2025, 3, 15, 1, 2, 3, 999999999, time.FixedZone("CET", 3600))
	in := store.Task{
		ID: newID(), UserID: "user-1", OwnerUserID: newID(), OwnerKeyHash: "hash-a",
		ClientIP: "203.0.113.9", RequestID: "req-1", IdempotencyKey: "key-1",
		Description: "build a CLI", Status: task.StatusNeedsInput, Progress: 0.4, CurrentStage: task.StageDesign,
		CodexVersion: "1.2", CodexHash: "ch", TemplateID: "python_cli", TemplateHash: "th",
		PendingQuestions: []task.Question{{ID: "q1", Text: "Which?", Type: task.QuestionChoice,
			Choices: []string{"a", "b"}, Required: true, Rationale: "why"}},
		ProvidedAnswers: map[string]any{"q0": "yes", "n": 3.5, "list": []any{"x", true, nil}},
		ResumeFromStage: task.StageImplement, Result: json.RawMessage(`{"b": [1, 2], "a": {"c": null}}`),
		Error: "boom", FailureReason: task.ReasonReviewFailed, Iterations: 2, MaxIterations: 5,
		TokensIn: 1 << 40, TokensOut: 7, Generation: 3, CreatedAt: t0, CompletedAt: &completed,
		// The store owns these: a new task has no files or artifacts yet.
		FilesCount: 9, FilesBytes: 99, ArtifactsCount: 3, Version: 42,
		UpdatedAt: t0.Add(time.Hour),
	}
	got := mustCreate(t, s, in)
	if got.Version != 1 {
		t.Errorf("Version = %d, want 1", got.Version)
	}
	if got.FilesCount != 0 || got.FilesBytes != 0 || got.ArtifactsCount != 0 {
		t.Errorf("counters = %d/%d/%d, want zero", got.FilesCount, got.FilesBytes, got.ArtifactsCount)
	}
	wantTime(t, got.CreatedAt, t0, "CreatedAt")
	wantTime(t, got.UpdatedAt, t0, "UpdatedAt")
	if got.CompletedAt == nil {
		t.Fatal("CompletedAt lost")
	}
	wantTime(t, *got.CompletedAt, completed, "CompletedAt")

	want := in
	want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
	want.CompletedAt = got.CompletedAt
	want.FilesCount, want.FilesBytes, want.ArtifactsCount, want.Version = 0, 0, 0, 1
	sameTask(t, got, want, "CreateTask result")
	sameTask(t, mustTask(t, s, in.ID), want, "GetTask")

	// Nil slices, maps and JSON stay nil; a zero CreatedAt becomes now.
	before := time.Now().Add(-time.Second)
	bare := mustCreate(t, s, store.Task{ID: newID(), Description: "d", Status: task.StatusQueued})
	if bare.CreatedAt.Before(before) || bare.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("zero CreatedAt became %v, want about now", bare.CreatedAt)
	}
	if !bare.UpdatedAt.Equal(bare.CreatedAt) {
		t.Errorf("UpdatedAt %v != CreatedAt %v", bare.UpdatedAt, bare.CreatedAt)
	}
	sameTask(t, mustTask(t, s, bare.ID), bare, "GetTask of a bare task")
	if got := mustTask(t, s, bare.ID); got.PendingQuestions != nil || got.ProvidedAnswers != nil || got.Result != nil || got.CompletedAt != nil {
		t.Errorf("nil fields came back non-nil: %+v", got)
	}

	bad := newTask("o", t0)
	bad.Result = json.RawMessage(`{"unterminated"`)
	if _, err := s.CreateTask(ctx(t), bad); err == nil {
		t.Error("CreateTask accepted an invalid JSON result")
	}
}

func testTaskCreateConflicts(t *testing.T, s store.Store) {
	first := newTask("h1", t0)
	first.IdempotencyKey = "k1"
	first = mustCreate(t, s, first)

	dupID := newTask("h2", t0)
	dupID.ID = first.ID
	_, err := s.CreateTask(ctx(t), dupID)
	wantErr(t, err, store.ErrConflict, "duplicate id")

	cases := []struct {
		name      string
		owner     string
		ownerUser string
		key       string
		sameID    bool
		conflict  bool
	}{
		{"same owner and key", "h1", "", "k1", false, true},
		{"same id, owner and key (retried create)", "h1", "", "k1", true, true},
		{"other owner hash", "h2", "", "k1", false, false},
		{"other owner user", "h1", newID(), "k1", false, false},
		{"other key", "h1", "", "k2", false, false},
		{"no key", "h1", "", "", false, false},
		{"no key again", "h1", "", "", false, false},
	}
	created := 1
	for _, c := range cases {
		tk := newTask(c.owner, t0.Add(time.Minute))
		tk.OwnerUserID, tk.IdempotencyKey = c.ownerUser, c.key
		if c.sameID {
			tk.ID = first.ID
		}
		got, err := s.CreateTask(ctx(t), tk)
		if !c.conflict {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			created++
			continue
		}
		wantErr(t, err, store.ErrConflict, c.name)
		if got.ID != first.ID || got.Description != first.Description || got.Version != 1 {
			t.Errorf("%s: returned %+v, want the first task", c.name, got)
		}
		if !c.sameID {
			if _, err := s.GetTask(ctx(t), tk.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: the conflicting task was stored (err %v)", c.name, err)
			}
		}
	}
	page, err := s.ListTasks(ctx(t), store.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != created {
		t.Errorf("Total = %d, want %d", page.Total, created)
	}
}

func testTaskMalformedIDs(t *testing.T, s store.Store) {
	for _, id := range malformed {
		tk := newTask("o", t0)
		tk.ID = id
		if _, err := s.CreateTask(ctx(t), tk); err == nil {
			t.Errorf("CreateTask(%q) succeeded", id)
		}
		_, err := s.GetTask(ctx(t), id)
		wantErr(t, err, store.ErrNotFound, "GetTask("+id+")")
		_, err = s.UpdateTask(ctx(t), id, func(*store.Task) error { t.Error("fn called for a malformed id"); return nil })
		wantErr(t, err, store.ErrNotFound, "UpdateTask("+id+")")
	}
	_, err := s.GetTask(ctx(t), newID())
	wantErr(t, err, store.ErrNotFound, "GetTask(unknown)")
	_, err = s.UpdateTask(ctx(t), newID(), func(*store.Task) error { return nil })
	wantErr(t, err, store.ErrNotFound, "UpdateTask(unknown)")
}

func testTaskUpdate(t *testing.T, s store.Store) {
	created := mustCreate(t, s, newTask("o", t0))
	done := t0.Add(2 * time.Hour)
	got, err := s.UpdateTask(ctx(t), created.ID, func(tk *store.Task) error {
		tk.Status, tk.Progress, tk.CurrentStage = task.StatusCompleted, 1, task.StageCompleted
		tk.Result = json.RawMessage(`{"files": 3}`)
		tk.CompletedAt = &done
		tk.ProvidedAnswers = map[string]any{"q": "a"}
		tk.PendingQuestions = []task.Question{}
		// None of these may stick.
		tk.ID, tk.CreatedAt, tk.Version = newID(), t0.Add(time.Hour), 100
		tk.FilesCount, tk.FilesBytes, tk.ArtifactsCount = 5, 50, 5
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	if got.ID != created.ID || !got.CreatedAt.Equal(created.CreatedAt) || got.Version != 2 ||
		got.FilesCount != 0 || got.FilesBytes != 0 || got.ArtifactsCount != 0 {
		t.Errorf("store-owned fields changed: %+v", got)
	}
	if got.UpdatedAt.Before(created.UpdatedAt) || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("UpdatedAt %v is before %v", got.UpdatedAt, created.UpdatedAt)
	}
	if got.Status != task.StatusCompleted || got.CompletedAt == nil || !got.CompletedAt.Equal(done.Truncate(time.Microsecond)) ||
		got.PendingQuestions == nil || got.ProvidedAnswers["q"] != "a" {
		t.Errorf("update lost: %+v", got)
	}
	sameTask(t, mustTask(t, s, created.ID), got, "GetTask after UpdateTask")

	got, err = s.UpdateTask(ctx(t), created.ID, func(tk *store.Task) error { tk.Iterations++; return nil })
	if err != nil || got.Version != 3 || got.Iterations != 1 {
		t.Fatalf("second update: version %d iterations %d err %v", got.Version, got.Iterations, err)
	}

	sentinel := errors.New("fn refused")
	_, err = s.UpdateTask(ctx(t), created.ID, func(tk *store.Task) error {
		tk.Status = task.StatusFailed
		return sentinel
	})
	wantErr(t, err, sentinel, "UpdateTask with failing fn")
	_, err = s.UpdateTask(ctx(t), created.ID, func(tk *store.Task) error {
		tk.Status, tk.Result = task.StatusFailed, json.RawMessage(`{bad`)
		return nil
	})
	if err == nil {
		t.Error("UpdateTask accepted an invalid JSON result")
	}
	if cur := mustTask(t, s, created.ID); cur.Version != 3 || cur.Status != task.StatusCompleted {
		t.Errorf("failed updates were written: version %d status %s", cur.Version, cur.Status)
	}
}

func testTaskUpdateConcurrent(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := s.UpdateTask(ctx(t), tk.ID, func(tk *store.Task) error { tk.Iterations++; return nil }); err != nil {
				t.Errorf("UpdateTask: %v", err)
			}
		})
	}
	wg.Wait()
	if got := mustTask(t, s, tk.ID); got.Iterations != n || got.Version != n+1 {
		t.Errorf("after %d concurrent increments: iterations %d version %d; an update was lost", n, got.Iterations, got.Version)
	}
}

// testTaskUpdateHoldsRowLock: while one UpdateTask's fn is blocked (the
// API signals a workflow from it), a second update of the same task waits
// for it and sees its write, while reads, other tasks' updates and the
// counters the store keeps are not lost.
func testTaskUpdateHoldsRowLock(t *testing.T, s store.Store) {
	a := mustCreate(t, s, newTask("o", t0))
	b := mustCreate(t, s, newTask("o", t0))
	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := s.UpdateTask(ctx(t), a.ID, func(tk *store.Task) error {
			close(inside)
			<-release
			tk.Iterations = 7
			return nil
		})
		first <- err
	}()
	<-inside
	if _, err := s.UpdateTask(ctx(t), b.ID, func(tk *store.Task) error { tk.Iterations = 1; return nil }); err != nil {
		t.Fatalf("another task's update waited for the held row: %v", err)
	}
	if got := mustTask(t, s, a.ID); got.Iterations != 0 {
		t.Fatalf("a read saw an uncommitted update: %d", got.Iterations)
	}
	// An artifact of the held task bumps its counter: PostgreSQL waits for
	// the row lock, the memory store need not; both must keep the count.
	appended := make(chan error, 1)
	go func() {
		_, err := s.AppendArtifact(ctx(t), store.Artifact{ID: newID(), TaskID: a.ID, Type: "t", ProducedBy: "agent", Payload: json.RawMessage(`{}`)})
		appended <- err
	}()
	second := make(chan int, 1)
	go func() {
		got, err := s.UpdateTask(ctx(t), a.ID, func(tk *store.Task) error { tk.Iterations++; return nil })
		if err != nil {
			t.Errorf("second update: %v", err)
		}
		second <- got.Iterations
	}()
	select {
	case <-second:
		t.Fatal("a second update of the held task did not wait for the first")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-appended; err != nil {
		t.Fatalf("an artifact of the held task: %v", err)
	}
	if n := <-second; n != 8 {
		t.Fatalf("second update saw iterations %d, want 8 (7 written by the first, then +1)", n)
	}
	if got := mustTask(t, s, a.ID); got.ArtifactsCount != 1 || got.Iterations != 8 {
		t.Fatalf("after both: artifacts %d iterations %d; the held update lost the counter or a write", got.ArtifactsCount, got.Iterations)
	}
}

// seedTasks creates tasks of mixed owners and statuses, two of them at the
// same instant, and returns them newest first (the listing order).
func seedTasks(t *testing.T, s store.Store) []store.Task {
	specs := []struct {
		owner, ownerUser string
		status           task.Status
		at               time.Duration
	}{
		{"a", "", task.StatusQueued, 0},
		{"a", "", task.StatusCompleted, time.Second},
		{"b", "", task.StatusQueued, 2 * time.Second},
		{"a", "u1", task.StatusFailed, 3 * time.Second},
		{"a", "u1", task.StatusQueued, 3 * time.Second}, // tie on created_at: id decides
		{"b", "u1", task.StatusQueued, 4 * time.Second},
		{"a", "", task.StatusQueued, 5 * time.Second},
	}
	var all []store.Task
	for _, sp := range specs {
		tk := newTask(sp.owner, t0.Add(sp.at))
		tk.OwnerUserID, tk.Status = sp.ownerUser, sp.status
		all = append(all, mustCreate(t, s, tk))
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].CreatedAt.Equal(all[j].CreatedAt) {
			return all[i].ID > all[j].ID
		}
		return all[i].CreatedAt.After(all[j].CreatedAt)
	})
	return all
}

func ids(ts []store.Task) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func where(all []store.Task, keep func(store.Task) bool) []string {
	var out []string
	for _, t := range all {
		if keep(t) {
			out = append(out, t.ID)
		}
	}
	return out
}

func testListTasksFilters(t *testing.T, s store.Store) {
	all := seedTasks(t, s)
	cases := []struct {
		name string
		f    store.TaskFilter
		keep func(store.Task) bool
	}{
		{"none", store.TaskFilter{}, func(store.Task) bool { return true }},
		{"owner key", store.TaskFilter{OwnerKeyHash: "a"}, func(t store.Task) bool { return t.OwnerKeyHash == "a" }},
		{"owner user", store.TaskFilter{OwnerUserID: "u1"}, func(t store.Task) bool { return t.OwnerUserID == "u1" }},
		{"user", store.TaskFilter{UserID: "user-b"}, func(t store.Task) bool { return t.UserID == "user-b" }},
		{"status", store.TaskFilter{Status: task.StatusQueued}, func(t store.Task) bool { return t.Status == task.StatusQueued }},
		{"combined", store.TaskFilter{OwnerKeyHash: "a", OwnerUserID: "u1", Status: task.StatusQueued},
			func(t store.Task) bool {
				return t.OwnerKeyHash == "a" && t.OwnerUserID == "u1" && t.Status == task.StatusQueued
			}},
		{"nothing matches", store.TaskFilter{OwnerKeyHash: "zzz"}, func(store.Task) bool { return false }},
	}
	for _, c := range cases {
		page, err := s.ListTasks(ctx(t), c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := where(all, c.keep)
		if got := ids(page.Items); !slices.Equal(got, want) || page.Total != len(want) || page.Next != "" {
			t.Errorf("%s: got %v total %d next %q, want %v total %d", c.name, got, page.Total, page.Next, want, len(want))
		}
	}
}

func testListTasksPaging(t *testing.T, s store.Store) {
	all := seedTasks(t, s)
	for _, f := range []store.TaskFilter{{Limit: 2}, {Limit: 3, OwnerKeyHash: "a"}, {Limit: 1, Status: task.StatusQueued}} {
		var want []string
		for _, tk := range all {
			if (f.OwnerKeyHash == "" || tk.OwnerKeyHash == f.OwnerKeyHash) && (f.Status == "" || tk.Status == f.Status) {
				want = append(want, tk.ID)
			}
		}
		var got []string
		pages := 0
		for {
			page, err := s.ListTasks(ctx(t), f)
			if err != nil {
				t.Fatalf("%+v: %v", f, err)
			}
			if page.Total != len(want) {
				t.Errorf("%+v: Total %d, want %d (the cursor must not change it)", f, page.Total, len(want))
			}
			if len(page.Items) > f.Limit {
				t.Fatalf("%+v: page of %d items", f, len(page.Items))
			}
			got = append(got, ids(page.Items)...)
			pages++
			if page.Next == "" {
				break
			}
			if pages > len(want) {
				t.Fatalf("%+v: paging does not end", f)
			}
			f.Before = page.Next
		}
		if !slices.Equal(got, want) {
			t.Errorf("%+v: pages joined give %v, want %v", f, got, want)
		}
		if wantPages := (len(want) + f.Limit - 1) / f.Limit; pages != wantPages {
			t.Errorf("%+v: %d pages, want %d", f, pages, wantPages)
		}
	}
	// A cursor at the oldest task gives an empty last page.
	page, err := s.ListTasks(ctx(t), store.TaskFilter{Before: store.TaskCursor(all[len(all)-1])})
	if err != nil || len(page.Items) != 0 || page.Next != "" || page.Total != len(all) {
		t.Errorf("page after the oldest: %d items next %q total %d err %v", len(page.Items), page.Next, page.Total, err)
	}
}

func testListTasksDefaultLimit(t *testing.T, s store.Store) {
	for i := range 51 {
		mustCreate(t, s, newTask("o", t0.Add(time.Duration(i)*time.Second)))
	}
	page, err := s.ListTasks(ctx(t), store.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 50 || page.Next == "" || page.Total != 51 {
		t.Errorf("default limit: %d items next %q total %d, want 50, a cursor, 51", len(page.Items), page.Next, page.Total)
	}
}

func testListTasksBadCursor(t *testing.T, s store.Store) {
	mustCreate(t, s, newTask("o", t0))
	enc := base64.RawURLEncoding.EncodeToString
	for _, c := range []string{"!!!", enc([]byte("no-colon")), enc([]byte("abc:" + newID())), enc([]byte("123:not-a-uuid")), "12345"} {
		_, err := s.ListTasks(ctx(t), store.TaskFilter{Before: c})
		wantErr(t, err, store.ErrBadCursor, "cursor "+c)
	}
}

func testCountTasksByStatus(t *testing.T, s store.Store) {
	got, err := s.CountTasksByStatus(ctx(t))
	if err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v %v", got, err)
	}
	seedTasks(t, s)
	got, err = s.CountTasksByStatus(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[task.Status]int{task.StatusQueued: 5, task.StatusCompleted: 1, task.StatusFailed: 1}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}

// testTaskUpdateProjected: an update's events and state document are
// written with the row, from the row as it was and became; an event id
// already there is skipped (a retried update); a projection that fails or
// is invalid leaves the row, the events and the state as they were.
func testTaskUpdateProjected(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	evID := newID()
	project := func(before, after store.Task) (store.Projection, error) {
		payload, err := json.Marshal(map[string]any{"from": before.Status, "to": after.Status, "version": after.Version})
		if err != nil {
			return store.Projection{}, err
		}
		state, err := json.Marshal(map[string]any{"status": after.Status, "version": after.Version})
		return store.Projection{
			Events: []store.Event{{ID: evID, TaskID: tk.ID, Type: "progress_update", Payload: payload}},
			State:  state,
		}, err
	}
	toProcessing := func(t *store.Task) error { t.Status = task.StatusProcessing; return nil }
	got, err := s.UpdateTaskProjected(ctx(t), tk.ID, toProcessing, project)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != task.StatusProcessing || got.Version != tk.Version+1 {
		t.Fatalf("row %+v", got)
	}
	wantEvent := func(n int) {
		t.Helper()
		page, err := s.ListEvents(ctx(t), tk.ID, store.ListOptions{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != n {
			t.Fatalf("%d events, want %d: %+v", len(page.Items), n, page.Items)
		}
		var p map[string]any
		if err := json.Unmarshal(page.Items[0].Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p["from"] != string(tk.Status) || p["to"] != string(task.StatusProcessing) || p["version"] != float64(got.Version) {
			t.Fatalf("event payload %v: want from %s to processing at version %d", p, tk.Status, got.Version)
		}
	}
	wantState := func() {
		t.Helper()
		raw, _, err := s.GetState(ctx(t), tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		var st map[string]any
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		if st["status"] != string(task.StatusProcessing) || st["version"] != float64(got.Version) {
			t.Fatalf("state %v, want processing at version %d", st, got.Version)
		}
	}
	wantEvent(1)
	wantState()

	// The same update again (a retried activity): the event is there already.
	if _, err := s.UpdateTaskProjected(ctx(t), tk.ID, toProcessing, func(before, after store.Task) (store.Projection, error) {
		p, err := project(before, after)
		p.State = nil // the state document stays as it was
		return p, err
	}); err != nil {
		t.Fatal(err)
	}
	wantEvent(1)
	wantState()

	// A failing or invalid projection writes nothing, the row included.
	boom := errors.New("boom")
	for name, bad := range map[string]store.ProjectFunc{
		"error": func(store.Task, store.Task) (store.Projection, error) { return store.Projection{}, boom },
		"another task's event": func(store.Task, store.Task) (store.Projection, error) {
			return store.Projection{Events: []store.Event{{ID: newID(), TaskID: newID(), Type: "x"}}}, nil
		},
		"malformed event id": func(store.Task, store.Task) (store.Projection, error) {
			return store.Projection{Events: []store.Event{{ID: "nope", TaskID: tk.ID, Type: "x"}}}, nil
		},
		"invalid state": func(store.Task, store.Task) (store.Projection, error) {
			return store.Projection{State: json.RawMessage(`{"status":`)}, nil
		},
	} {
		before, err := s.GetTask(ctx(t), tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateTaskProjected(ctx(t), tk.ID, func(t *store.Task) error { t.Status = task.StatusFailed; return nil }, bad)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if name == "error" && !errors.Is(err, boom) {
			t.Fatalf("%s: %v, want the projection's own error", name, err)
		}
		after, err := s.GetTask(ctx(t), tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Status != before.Status || after.Version != before.Version {
			t.Fatalf("%s: the row changed to %s (version %d -> %d)", name, after.Status, before.Version, after.Version)
		}
		wantEvent(1)
		wantState()
	}
}
