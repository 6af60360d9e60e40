package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"ai-platform/internal/store"
)

// docKind adapts PutState/GetState and PutSnapshot/GetSnapshot to one shape.
type docKind struct {
	put func(taskID string, doc json.RawMessage) error
	get func(taskID string) (json.RawMessage, error)
}

func checkDoc(t *testing.T, s store.Store, k docKind) {
	tk := mustCreate(t, s, newTask("o", t0))
	_, err := k.get(tk.ID)
	wantErr(t, err, store.ErrNotFound, "get before any put")
	for _, doc := range []string{`{"stage": "design", "n": [1, 2]}`, `{"stage": "review"}`, `[]`} {
		if err := k.put(tk.ID, json.RawMessage(doc)); err != nil {
			t.Fatalf("put %s: %v", doc, err)
		}
		got, err := k.get(tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantJSON(t, got, []byte(doc), "document")
	}
	for _, bad := range []string{"", "{", "nope"} {
		if err := k.put(tk.ID, json.RawMessage(bad)); err == nil {
			t.Errorf("put %q accepted", bad)
		}
	}
	if err := k.put(tk.ID, nil); err == nil {
		t.Error("put nil accepted")
	}
	got, _ := k.get(tk.ID)
	wantJSON(t, got, []byte(`[]`), "document after rejected puts")
	for _, id := range append([]string{newID()}, malformed...) {
		wantErr(t, k.put(id, json.RawMessage(`{}`)), store.ErrNotFound, "put for task "+id)
		_, err := k.get(id)
		wantErr(t, err, store.ErrNotFound, "get for task "+id)
	}
}

func testState(t *testing.T, s store.Store) {
	var at time.Time
	checkDoc(t, s, docKind{
		put: func(id string, d json.RawMessage) error { return s.PutState(ctx(t), id, d) },
		get: func(id string) (json.RawMessage, error) {
			d, ts, err := s.GetState(ctx(t), id)
			if err == nil {
				at = ts
			}
			return d, err
		},
	})
	if time.Since(at) > time.Minute || at.Location() != time.UTC {
		t.Errorf("state time %v is not about now in UTC", at)
	}
}

func testSnapshot(t *testing.T, s store.Store) {
	checkDoc(t, s, docKind{
		put: func(id string, d json.RawMessage) error { return s.PutSnapshot(ctx(t), id, d) },
		get: func(id string) (json.RawMessage, error) { return s.GetSnapshot(ctx(t), id) },
	})
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func file(path, content string) store.File {
	return store.File{Path: path, Content: []byte(content), MimeType: "text/plain"}
}

// wantFiles checks ListFiles, GetFiles, GetFile and the task counters
// against want (path -> content).
func wantFiles(t *testing.T, s store.Store, taskID string, want map[string]string, order []string) {
	t.Helper()
	list, err := s.ListFiles(ctx(t), taskID)
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.GetFiles(ctx(t), taskID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(want) || len(all) != len(want) {
		t.Fatalf("ListFiles %d, GetFiles %d files, want %d", len(list), len(all), len(want))
	}
	var total int64
	for i, f := range list {
		content := want[f.Path]
		if f.Path != order[i] || all[i].Path != order[i] {
			t.Errorf("file %d is %q/%q, want %q (sorted by path, byte-wise)", i, f.Path, all[i].Path, order[i])
		}
		if f.Content != nil {
			t.Errorf("ListFiles returned content for %s", f.Path)
		}
		if f.Size != int64(len(content)) || f.SHA256 != sum([]byte(content)) || f.UpdatedAt.IsZero() {
			t.Errorf("%s: size %d sha %s updated %v", f.Path, f.Size, f.SHA256, f.UpdatedAt)
		}
		if !bytes.Equal(all[i].Content, []byte(content)) {
			t.Errorf("GetFiles %s: content %q, want %q", f.Path, all[i].Content, content)
		}
		one, err := s.GetFile(ctx(t), taskID, f.Path)
		if err != nil || !bytes.Equal(one.Content, []byte(content)) || one.SHA256 != f.SHA256 || one.MimeType != f.MimeType {
			t.Errorf("GetFile %s: %+v %v", f.Path, one, err)
		}
		total += int64(len(content))
	}
	tk := mustTask(t, s, taskID)
	if tk.FilesCount != len(want) || tk.FilesBytes != total {
		t.Errorf("task counters %d files %d bytes, want %d and %d", tk.FilesCount, tk.FilesBytes, len(want), total)
	}
}

func testFiles(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	wantFiles(t, s, tk.ID, map[string]string{}, nil)

	put := []store.File{file("a.txt", "alpha"), file("B.txt", "beta"), file("dir/z.go", "package z\n"), file("empty", "")}
	put[2].MimeType = "text/x-go"
	if err := s.PutFiles(ctx(t), tk.ID, put, nil, store.FileLimits{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a.txt": "alpha", "B.txt": "beta", "dir/z.go": "package z\n", "empty": ""}
	wantFiles(t, s, tk.ID, want, []string{"B.txt", "a.txt", "dir/z.go", "empty"})
	if f, _ := s.GetFile(ctx(t), tk.ID, "dir/z.go"); f.MimeType != "text/x-go" {
		t.Errorf("mime type %q", f.MimeType)
	}
	if v := mustTask(t, s, tk.ID).Version; v != tk.Version+1 {
		t.Errorf("Version %d after PutFiles, want %d", v, tk.Version+1)
	}

	// Replace, remove (also a path that does not exist), the last of two
	// puts of one path wins, and a removed path put again in the same call
	// stays.
	err := s.PutFiles(ctx(t), tk.ID,
		[]store.File{file("a.txt", "alpha, longer"), file("new", "v1"), file("new", "v2"), file("empty", "back")},
		[]string{"B.txt", "missing", "empty"}, store.FileLimits{})
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"a.txt": "alpha, longer", "dir/z.go": "package z\n", "new": "v2", "empty": "back"}
	wantFiles(t, s, tk.ID, want, []string{"a.txt", "dir/z.go", "empty", "new"})

	_, err = s.GetFile(ctx(t), tk.ID, "B.txt")
	wantErr(t, err, store.ErrNotFound, "removed file")
	if err := s.PutFiles(ctx(t), tk.ID, nil, []string{"a.txt", "dir/z.go", "empty", "new"}, store.FileLimits{}); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, s, tk.ID, map[string]string{}, nil)
}

func testFilesBinary(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	all := make([]byte, 0, 512)
	for i := range 256 {
		all = append(all, byte(i))
	}
	all = append(all, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0xed, 0xa0, 0x80) // invalid UTF-8 and NULs
	given := store.File{Path: "bin/blob.dat", Content: all, MimeType: "application/octet-stream"}
	if err := s.PutFiles(ctx(t), tk.ID, []store.File{given}, nil, store.FileLimits{}); err != nil {
		t.Fatal(err)
	}
	all[0] = 42 // the store must have kept its own copy
	f, err := s.GetFile(ctx(t), tk.ID, "bin/blob.dat")
	if err != nil {
		t.Fatal(err)
	}
	all[0] = 0
	if !bytes.Equal(f.Content, all) || f.Size != int64(len(all)) || f.SHA256 != sum(all) {
		t.Errorf("binary content did not round-trip: %d bytes, sha %s", len(f.Content), f.SHA256)
	}
	files, err := s.GetFiles(ctx(t), tk.ID)
	if err != nil || len(files) != 1 || !bytes.Equal(files[0].Content, all) {
		t.Errorf("GetFiles: binary content did not round-trip (%v)", err)
	}
}

func testFilesUnknownTask(t *testing.T, s store.Store) {
	tk := mustCreate(t, s, newTask("o", t0))
	_, err := s.GetFile(ctx(t), tk.ID, "nope")
	wantErr(t, err, store.ErrNotFound, "GetFile of a missing path")
	for _, id := range append([]string{newID()}, malformed...) {
		wantErr(t, s.PutFiles(ctx(t), id, []store.File{file("a", "b")}, nil, store.FileLimits{}), store.ErrNotFound, "PutFiles "+id)
		_, err := s.ListFiles(ctx(t), id)
		wantErr(t, err, store.ErrNotFound, "ListFiles "+id)
		_, err = s.GetFiles(ctx(t), id)
		wantErr(t, err, store.ErrNotFound, "GetFiles "+id)
		_, err = s.GetFile(ctx(t), id, "a")
		wantErr(t, err, store.ErrNotFound, "GetFile "+id)
	}
}

func sized(path string, n int) store.File {
	return store.File{Path: path, Content: bytes.Repeat([]byte("x"), n)}
}

func testFileLimits(t *testing.T, s store.Store) {
	cases := []struct {
		name    string
		setup   []store.File
		put     []store.File
		remove  []string
		lim     store.FileLimits
		wantErr string
	}{
		{name: "count at the limit", put: []store.File{sized("a", 1), sized("b", 1), sized("c", 1)},
			lim: store.FileLimits{MaxFiles: 3}},
		{name: "count one over", setup: []store.File{sized("a", 1), sized("b", 1), sized("c", 1)}, put: []store.File{sized("d", 1)},
			lim: store.FileLimits{MaxFiles: 3}, wantErr: "Task file count limit exceeded (4 > 3)"},
		{name: "count over in one call", put: []store.File{sized("a", 1), sized("b", 1), sized("c", 1)},
			lim: store.FileLimits{MaxFiles: 2}, wantErr: "Task file count limit exceeded (3 > 2)"},
		{name: "replacing does not count", setup: []store.File{sized("a", 1), sized("b", 1), sized("c", 1)}, put: []store.File{sized("c", 2)},
			lim: store.FileLimits{MaxFiles: 3}},
		{name: "remove makes room", setup: []store.File{sized("a", 1), sized("b", 1), sized("c", 1)}, put: []store.File{sized("d", 1)},
			remove: []string{"a"}, lim: store.FileLimits{MaxFiles: 3}},
		{name: "bytes at the limit", setup: []store.File{sized("a", 6)}, put: []store.File{sized("b", 4)},
			lim: store.FileLimits{MaxBytes: 10}},
		{name: "bytes one over", setup: []store.File{sized("a", 6), sized("b", 4)}, put: []store.File{sized("c", 1)},
			lim: store.FileLimits{MaxBytes: 10}, wantErr: "Task storage limit exceeded (11 > 10 bytes)"},
		{name: "replacement counts the new size only", setup: []store.File{sized("a", 6), sized("b", 4)}, put: []store.File{sized("a", 6)},
			lim: store.FileLimits{MaxBytes: 10}},
		{name: "replacement growing over", setup: []store.File{sized("a", 6), sized("b", 4)}, put: []store.File{sized("a", 7)},
			lim: store.FileLimits{MaxBytes: 10}, wantErr: "Task storage limit exceeded (11 > 10 bytes)"},
		{name: "shrinking under", setup: []store.File{sized("a", 6), sized("b", 4)}, put: []store.File{sized("a", 1), sized("c", 5)},
			lim: store.FileLimits{MaxBytes: 10}},
		{name: "count is checked before bytes", setup: []store.File{sized("a", 5)}, put: []store.File{sized("b", 50)},
			lim: store.FileLimits{MaxFiles: 1, MaxBytes: 10}, wantErr: "Task file count limit exceeded (2 > 1)"},
		{name: "zero and negative limits are off", put: []store.File{sized("a", 100), sized("b", 100)},
			lim: store.FileLimits{MaxFiles: 0, MaxBytes: -1}},
	}
	for _, c := range cases {
		tk := mustCreate(t, s, newTask("o", t0))
		if err := s.PutFiles(ctx(t), tk.ID, c.setup, nil, store.FileLimits{}); err != nil {
			t.Fatalf("%s: setup: %v", c.name, err)
		}
		before := mustTask(t, s, tk.ID)
		beforeFiles, _ := s.GetFiles(ctx(t), tk.ID)
		err := s.PutFiles(ctx(t), tk.ID, c.put, c.remove, c.lim)
		if c.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var le *store.LimitError
		if !errors.As(err, &le) {
			t.Errorf("%s: got %v, want a *store.LimitError", c.name, err)
			continue
		}
		// Unwrapped: the message becomes the task's failure text verbatim.
		if err.Error() != c.wantErr {
			t.Errorf("%s: error %q, want %q", c.name, err.Error(), c.wantErr)
		}
		after := mustTask(t, s, tk.ID)
		afterFiles, _ := s.GetFiles(ctx(t), tk.ID)
		if after.FilesCount != before.FilesCount || after.FilesBytes != before.FilesBytes || after.Version != before.Version ||
			fmt.Sprint(afterFiles) != fmt.Sprint(beforeFiles) {
			t.Errorf("%s: a refused PutFiles wrote something", c.name)
		}
	}
}

func testFileLimitsConcurrent(t *testing.T, s store.Store) {
	cases := []struct {
		name string
		lim  store.FileLimits
		size int
	}{
		{"files", store.FileLimits{MaxFiles: 5}, 1},
		{"bytes", store.FileLimits{MaxBytes: 50}, 10},
	}
	const writers = 16
	const fits = 5
	for _, c := range cases {
		tk := mustCreate(t, s, newTask("o", t0))
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, limited := 0, 0
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				err := s.PutFiles(ctx(t), tk.ID, []store.File{sized(fmt.Sprintf("f%02d", i), c.size)}, nil, c.lim)
				var le *store.LimitError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.As(err, &le):
					limited++
				default:
					t.Errorf("%s: PutFiles: %v", c.name, err)
				}
			})
		}
		close(start)
		wg.Wait()
		files, _ := s.ListFiles(ctx(t), tk.ID)
		got := mustTask(t, s, tk.ID)
		if ok != fits || limited != writers-fits || len(files) != fits || got.FilesCount != fits || got.FilesBytes != int64(fits*c.size) {
			t.Errorf("%s: %d ok, %d limited, %d files, counters %d/%d; want %d ok, %d limited, %d files",
				c.name, ok, limited, len(files), got.FilesCount, got.FilesBytes, fits, writers-fits, fits)
		}
	}
}
