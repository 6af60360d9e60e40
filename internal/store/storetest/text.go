package storetest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// esc is what a NUL is stored as: visible, never dropped.
const esc = store.NULEscape

// testNULText stores text PostgreSQL cannot hold as is (NUL in text columns,
// \u0000 in jsonb, bytes that are not UTF-8), as command output, model output
// and file metadata carry it, and reads back the same escaped form from
// every store. File contents stay byte-exact.
func testNULText(t *testing.T, s store.Store) {
	t.Run("task", func(t *testing.T) { nulTask(t, s) })
	t.Run("events", func(t *testing.T) { nulEvents(t, s) })
	t.Run("artifacts", func(t *testing.T) { nulArtifacts(t, s) })
	t.Run("documents", func(t *testing.T) { nulDocuments(t, s) })
	t.Run("files", func(t *testing.T) { nulFiles(t, s) })
}

func nulTask(t *testing.T, s store.Store) {
	tk := newTask("o", t0)
	tk.UserID = "user\x00x"
	tk.Description = "print \x00 please"
	tk.PendingQuestions = []task.Question{{ID: "q\x00", Text: "pick \x00", Type: task.QuestionChoice,
		Choices: []string{"a\x00", "b"}, Rationale: "r\x00"}}
	tk.ProvidedAnswers = map[string]any{"k\x00": "v\x00", "list": []any{"x\x00", 1.0}}
	tk.Result = json.RawMessage(`{"out": "r\u0000"}`)
	asked := slices.Clone(tk.PendingQuestions[0].Choices)
	created := mustCreate(t, s, tk)
	if !slices.Equal(tk.PendingQuestions[0].Choices, asked) {
		t.Errorf("the store wrote into the caller's questions: %q", tk.PendingQuestions[0].Choices)
	}

	wantQs := []task.Question{{ID: "q" + esc, Text: "pick " + esc, Type: task.QuestionChoice,
		Choices: []string{"a" + esc, "b"}, Rationale: "r" + esc}}
	wantAnswers := map[string]any{"k" + esc: "v" + esc, "list": []any{"x" + esc, 1.0}}
	for what, got := range map[string]store.Task{"CreateTask": created, "GetTask": mustTask(t, s, tk.ID)} {
		if got.UserID != "user"+esc+"x" || got.Description != "print "+esc+" please" {
			t.Errorf("%s: user %q, description %q", what, got.UserID, got.Description)
		}
		if !reflect.DeepEqual(got.PendingQuestions, wantQs) {
			t.Errorf("%s: questions %+v, want %+v", what, got.PendingQuestions, wantQs)
		}
		if !reflect.DeepEqual(got.ProvidedAnswers, wantAnswers) {
			t.Errorf("%s: answers %#v, want %#v", what, got.ProvidedAnswers, wantAnswers)
		}
		wantJSON(t, got.Result, []byte(`{"out": "r\\x00"}`), what+": result")
	}

	// An error message quoting command output, and bytes that are not UTF-8.
	updated, err := s.UpdateTask(ctx(t), tk.ID, func(row *store.Task) error {
		row.Error = "test printed \x00\x00 then \xff"
		row.CurrentStage = "review\x00"
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateTask with NUL: %v", err)
	}
	wantErrText := "test printed " + esc + esc + " then \uFFFD"
	for what, got := range map[string]store.Task{"UpdateTask": updated, "GetTask": mustTask(t, s, tk.ID)} {
		if got.Error != wantErrText || got.CurrentStage != "review"+esc {
			t.Errorf("%s: error %q, stage %q; want %q, %q", what, got.Error, got.CurrentStage, wantErrText, "review"+esc)
		}
	}

	// A filter spelled with NUL finds the row stored with it.
	page, err := s.ListTasks(ctx(t), store.TaskFilter{OwnerKeyHash: "o", UserID: "user\x00x"})
	if err != nil {
		t.Fatalf("ListTasks by a user id with NUL: %v", err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != tk.ID {
		t.Errorf("ListTasks by a user id with NUL: %d tasks", len(page.Items))
	}
}

// outputPayload is what a command run records: output with NUL (as JSON
// spells it, which jsonb refuses) in values and keys, and an escaped
// backslash followed by the text u0000, which is no NUL and must stay.
var outputPayload = json.RawMessage(`{"command": "pytest", "output": "ok\u0000\u0000done", ` +
	`"k\u0000": ["\u0000"], "literal": "C:\\u0000"}`)

var outputStored = json.RawMessage(`{"command": "pytest", "output": "ok\\x00\\x00done", ` +
	`"k\\x00": ["\\x00"], "literal": "C:\\u0000"}`)

func nulEvents(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	// The common case first: only the payload (command output) holds NUL.
	out := store.Event{ID: newID(), TaskID: tk.ID, Type: "command_output", Payload: outputPayload, CreatedAt: t0}
	typed := store.Event{ID: newID(), TaskID: tk.ID, Type: "odd\x00type", Payload: outputPayload, CreatedAt: t0}
	for _, e := range []store.Event{out, typed} {
		if ok, err := s.AppendEvent(ctx(t), e); err != nil || !ok {
			t.Fatalf("AppendEvent %q with NUL: inserted=%v err=%v", e.Type, ok, err)
		}
	}
	for typ, want := range map[string]string{"command_output": "command_output", "odd\x00type": "odd" + esc + "type"} {
		page, err := s.ListEvents(ctx(t), tk.ID, store.ListOptions{Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 {
			t.Fatalf("ListEvents of type %q: %d events", typ, len(page.Items))
		}
		if got := page.Items[0]; got.Type != want {
			t.Errorf("type %q, want %q", got.Type, want)
		}
		wantJSON(t, page.Items[0].Payload, outputStored, "event payload")
	}
}

func nulArtifacts(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	a := store.Artifact{ID: newID(), TaskID: tk.ID, Type: "review_report\x00", ProducedBy: "runner\x00",
		Payload: outputPayload, CreatedAt: t0}
	if ok, err := s.AppendArtifact(ctx(t), a); err != nil || !ok {
		t.Fatalf("AppendArtifact with NUL: inserted=%v err=%v", ok, err)
	}
	got, err := s.GetArtifact(ctx(t), tk.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := s.LatestArtifact(ctx(t), tk.ID, "review_report\x00")
	if err != nil {
		t.Fatalf("LatestArtifact by a type with NUL: %v", err)
	}
	page, err := s.ListArtifacts(ctx(t), tk.ID, store.ListOptions{Type: "review_report\x00"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("ListArtifacts by a type with NUL: %v, %d", err, len(page.Items))
	}
	for what, art := range map[string]store.Artifact{"GetArtifact": got, "LatestArtifact": latest, "ListArtifacts": page.Items[0]} {
		if art.Type != "review_report"+esc || art.ProducedBy != "runner"+esc {
			t.Errorf("%s: type %q, produced by %q", what, art.Type, art.ProducedBy)
		}
		wantJSON(t, art.Payload, outputStored, what+": payload")
	}
}

func nulDocuments(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	if err := s.PutState(ctx(t), tk.ID, outputPayload); err != nil {
		t.Fatalf("PutState with NUL: %v", err)
	}
	state, _, err := s.GetState(ctx(t), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, state, outputStored, "state")
	if err := s.PutSnapshot(ctx(t), tk.ID, outputPayload); err != nil {
		t.Fatalf("PutSnapshot with NUL: %v", err)
	}
	snap, err := s.GetSnapshot(ctx(t), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, snap, outputStored, "snapshot")

	// Output that is not UTF-8 (json.Valid lets such bytes through inside
	// strings; PostgreSQL refuses them).
	if err := s.PutState(ctx(t), tk.ID, json.RawMessage("{\"raw\": \"a\xffb\"}")); err != nil {
		t.Fatalf("PutState with a byte that is not UTF-8: %v", err)
	}
	state, _, err = s.GetState(ctx(t), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"raw\": \"a\uFFFDb\"}"; canonicalJSON(t, state) != canonicalJSON(t, []byte(want)) || !utf8.Valid(state) {
		t.Errorf("state %q, want %q", state, want)
	}
}

func nulFiles(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	content := []byte{0, 'x', 0, 0xff, '\n'}
	files := []store.File{
		{Path: "out/a\x00.txt", Content: content, MimeType: "text/plain\x00"},
		{Path: "gone\x00.txt", Content: []byte("x")},
	}
	if err := s.PutFiles(ctx(t), tk.ID, files, nil, store.FileLimits{}); err != nil {
		t.Fatalf("PutFiles with NUL in metadata: %v", err)
	}
	if files[0].Path != "out/a\x00.txt" {
		t.Errorf("the store wrote into the caller's files: %q", files[0].Path)
	}
	if err := s.PutFiles(ctx(t), tk.ID, nil, []string{"gone\x00.txt"}, store.FileLimits{}); err != nil {
		t.Fatalf("removing a path with NUL: %v", err)
	}
	list, err := s.ListFiles(ctx(t), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Path != "out/a"+esc+".txt" || list[0].MimeType != "text/plain"+esc {
		t.Fatalf("ListFiles: %+v", list)
	}
	got, err := s.GetFile(ctx(t), tk.ID, "out/a\x00.txt")
	if err != nil {
		t.Fatalf("GetFile by a path with NUL: %v", err)
	}
	all, err := s.GetFiles(ctx(t), tk.ID)
	if err != nil || len(all) != 1 {
		t.Fatalf("GetFiles: %v, %d files", err, len(all))
	}
	for what, f := range map[string]store.File{"GetFile": got, "GetFiles": all[0]} {
		if f.Path != "out/a"+esc+".txt" || !bytes.Equal(f.Content, content) || f.Size != int64(len(content)) ||
			f.SHA256 != store.SHA256Hex(content) {
			t.Errorf("%s: %q %q (%d bytes, sha %s); want the content byte-exact", what, f.Path, f.Content, f.Size, f.SHA256)
		}
	}
}
