package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testTaskID = "0b9f4a52-7c3e-4f51-9d8a-2f6c1e0a7b11"

// testEnv is a workspace plus a sentinel directory next to the workspace root
// that must never receive anything.
type testEnv struct {
	base     string // parent of both
	sentinel string
	outside  string // a file outside the root with known content
	mgr      *Manager
	dir      *Dir
}

const outsideContent = "outside: must never change"

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	return newTestEnvIn(t, t.TempDir())
}

// newTestEnvIn builds a testEnv below base, which must be an empty directory.
func newTestEnvIn(t testing.TB, base string) *testEnv {
	t.Helper()
	e := &testEnv{base: base, sentinel: filepath.Join(base, "sentinel"), outside: filepath.Join(base, "outside.txt")}
	if err := os.Mkdir(e.sentinel, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.outside, []byte(outsideContent), 0o644); err != nil {
		t.Fatal(err)
	}
	mgr, err := NewManager(filepath.Join(base, "workspaces"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := mgr.Open(testTaskID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	e.mgr, e.dir = mgr, d
	return e
}

// assertOutsideUntouched fails if anything was created in the sentinel
// directory, next to the workspace root, or changed in the outside file.
func (e *testEnv) assertOutsideUntouched(t testing.TB) {
	t.Helper()
	if ents, _ := os.ReadDir(e.sentinel); len(ents) != 0 {
		t.Fatalf("sentinel dir received %d entries, first %q", len(ents), ents[0].Name())
	}
	ents, _ := os.ReadDir(e.base)
	for _, ent := range ents {
		if n := ent.Name(); n != "sentinel" && n != "outside.txt" && n != "workspaces" {
			t.Fatalf("unexpected entry %q next to the workspace root", n)
		}
	}
	ents, _ = os.ReadDir(e.mgr.Root())
	if len(ents) != 1 || ents[0].Name() != testTaskID {
		t.Fatalf("workspace root holds %v, want only the task dir", ents)
	}
	if b, err := os.ReadFile(e.outside); err != nil || string(b) != outsideContent {
		t.Fatalf("outside file changed: %q, %v", b, err)
	}
}

func TestDirWriteReadRemove(t *testing.T) {
	e := newTestEnv(t)
	d := e.dir
	if err := d.Write("app/main.py", []byte("print(1)\n")); err != nil {
		t.Fatal(err)
	}
	if err := d.Write("./app/main.py", []byte("print(2)\n")); err != nil {
		t.Fatal(err)
	}
	if err := d.Write("empty.txt", nil); err != nil {
		t.Fatal(err)
	}
	got, err := d.Read("app/main.py")
	if err != nil || string(got) != "print(2)\n" {
		t.Fatalf("Read = %q, %v", got, err)
	}
	if got, err := d.Read("empty.txt"); err != nil || len(got) != 0 {
		t.Fatalf("Read empty = %q, %v", got, err)
	}
	onDisk, err := os.ReadFile(filepath.Join(d.Path(), "app", "main.py"))
	if err != nil || string(onDisk) != "print(2)\n" {
		t.Fatalf("on disk = %q, %v", onDisk, err)
	}
	if err := d.Remove("app/main.py"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read("app/main.py"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read after Remove: %v, want not-exist", err)
	}
	if err := d.Remove("app/main.py"); err != nil {
		t.Fatalf("second Remove should be a no-op: %v", err)
	}
	if err := d.Remove("app"); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("Remove(dir) = %v, want a directory error", err)
	}
	if err := d.Write("app", []byte("x")); err == nil {
		t.Fatal("writing over a directory should fail")
	}
	if err := d.Write("empty.txt/child", []byte("x")); err == nil {
		t.Fatal("writing below a regular file should fail")
	}
	assertNoTempFiles(t, d.Path())
	e.assertOutsideUntouched(t)
}

func TestDirReadSizes(t *testing.T) {
	d := newTestEnv(t).dir
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 300_001} {
		content := bytes.Repeat([]byte{byte(n % 251)}, n)
		p := fmt.Sprintf("f%d.bin", n)
		if err := d.Write(p, content); err != nil {
			t.Fatal(err)
		}
		got, err := d.Read(p)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("Read of %d bytes returned %d bytes, %v", n, len(got), err)
		}
		if cap(got) > n+1 {
			t.Errorf("Read of %d bytes allocated %d", n, cap(got))
		}
	}
}

func TestDirFilesSkipsCachesAndSymlinks(t *testing.T) {
	e := newTestEnv(t)
	d := e.dir
	for _, p := range []string{
		"app/main.py", "README.md", ".gitignore", "tests/test_main.py",
		"__pycache__/main.cpython-312.pyc", "app/__pycache__/x.py", "app/mod.pyc",
		".pytest_cache/v/x", ".ruff_cache/x", ".mypy_cache/x", ".venv/bin/python", "node_modules/x/index.js",
	} {
		mustWrite(t, d, p, "content of "+p)
	}
	// .git cannot be written through Dir; tools create it directly.
	if err := os.MkdirAll(filepath.Join(d.Path(), ".git", "objects"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(d.Path(), ".git", "HEAD"), "ref: refs/heads/main\n")
	writeTestFile(t, filepath.Join(d.Path(), `bad\name.py`), "unrepresentable")
	writeTestFile(t, filepath.Join(d.Path(), tempPrefix+"leftover"), "crashed write")
	if err := os.Symlink(e.outside, filepath.Join(d.Path(), "out.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(e.base, filepath.Join(d.Path(), "outdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("app", filepath.Join(d.Path(), "appdir")); err != nil {
		t.Fatal(err)
	}
	files, _, err := d.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".gitignore", "README.md", "app/main.py", "tests/test_main.py"}
	if got := filePaths(files); !reflect.DeepEqual(got, want) {
		t.Fatalf("Files = %v, want %v", got, want)
	}
	if string(files[2].Content) != "content of app/main.py" {
		t.Fatalf("content = %q", files[2].Content)
	}
}

func TestDirSyncRoundTrip(t *testing.T) {
	e := newTestEnv(t)
	d := e.dir
	first := []File{
		{Path: "README.md", Content: []byte("# hi\n")},
		{Path: "pkg/a.py", Content: []byte("a = 1\n")},
		{Path: "pkg/sub/b.py", Content: []byte("b = 2\n")},
		{Path: "data.bin", Content: []byte{0, 1, 2, 0xff}},
	}
	rep, err := d.Sync(t.Context(), first)
	if err != nil || rep.Written != 4 || rep.Removed != 0 {
		t.Fatalf("Sync(first) = %+v, %v; want 4 written, 0 removed", rep, err)
	}
	assertFiles(t, d, first)
	if rep, err := d.Sync(t.Context(), first); err != nil || rep.Written != 0 || rep.Removed != 0 {
		t.Fatalf("Sync(same) = %+v, %v; want nothing done", rep, err)
	}
	mustWrite(t, d, "__pycache__/x.pyc", "cache") // not stored, so removed with its directory
	second := []File{
		{Path: "README.md", Content: []byte("# hi\n")},     // unchanged
		{Path: "pkg/a.py", Content: []byte("a = 10\n")},    // modified
		{Path: "pkg/sub", Content: []byte("now a file\n")}, // replaces a directory
		{Path: "./new/c.py", Content: []byte("c = 3\n")},   // added
		{Path: "data.bin", Content: []byte{0, 1, 2, 0xfe}}, // binary modified
		{Path: "empty", Content: nil},                      // empty file
	}
	// Removed: pkg/sub/b.py and pkg/sub, __pycache__/x.pyc and __pycache__.
	rep, err = d.Sync(t.Context(), second)
	if err != nil || rep.Written != 5 || rep.Removed != 4 {
		t.Fatalf("Sync(second) = %+v, %v; want 5 written, 4 removed", rep, err)
	}
	second[3].Path = "new/c.py"
	assertFiles(t, d, second)
	if _, err := os.Lstat(filepath.Join(d.Path(), "__pycache__")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the cache directory was kept: %v", err)
	}
	// Removed: 6 files and the directories pkg and new.
	if rep, err := d.Sync(t.Context(), nil); err != nil || rep.Written != 0 || rep.Removed != 8 {
		t.Fatalf("Sync(nil) = %+v, %v; want 0 written, 8 removed", rep, err)
	}
	if ents, err := os.ReadDir(d.Path()); err != nil || len(ents) != 0 {
		t.Errorf("the workspace still holds %v (%v)", ents, err)
	}
	assertNoTempFiles(t, d.Path())
}

func TestDirSyncValidatesBeforeTouching(t *testing.T) {
	e := newTestEnv(t)
	d := e.dir
	mustWrite(t, d, "keep.py", "k\n")
	for name, files := range map[string][]File{
		"invalid":   {{Path: "ok.py"}, {Path: "../escape.py"}},
		"duplicate": {{Path: "a.py"}, {Path: "./a.py"}},
		"file+dir":  {{Path: "a"}, {Path: "a/b.py"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := d.Sync(t.Context(), files); err == nil {
				t.Fatal("Sync accepted a bad file set")
			}
			assertFiles(t, d, []File{{Path: "keep.py", Content: []byte("k\n")}})
		})
	}
	e.assertOutsideUntouched(t)
}

func TestDirWriteIsAtomicAndLeavesNoTempFiles(t *testing.T) {
	e := newTestEnv(t)
	d := e.dir
	for i := range 50 {
		mustWrite(t, d, fmt.Sprintf("dir%d/f.py", i%5), strings.Repeat("x", i*100))
	}
	// A failing rename (target is a directory) must clean its temp file up.
	if err := os.MkdirAll(filepath.Join(d.Path(), "isdir", "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.Write("isdir", []byte("x")); err == nil {
		t.Fatal("Write over a non-empty directory succeeded")
	}
	assertNoTempFiles(t, d.Path())
	// The replaced file keeps no stale content: Write replaces, never appends or truncates in place.
	mustWrite(t, d, "f.txt", "a long first version\n")
	old, err := os.Open(filepath.Join(d.Path(), "f.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	mustWrite(t, d, "f.txt", "v2\n")
	// A reader that opened the old file still sees the old content whole.
	buf := new(bytes.Buffer)
	if _, err := buf.ReadFrom(old); err != nil || buf.String() != "a long first version\n" {
		t.Fatalf("old reader saw %q, %v", buf, err)
	}
	if got, _ := d.Read("f.txt"); string(got) != "v2\n" {
		t.Fatalf("new content = %q", got)
	}
}

func mustWrite(t *testing.T, d *Dir, p, content string) {
	t.Helper()
	if err := d.Write(p, []byte(content)); err != nil {
		t.Fatal(err)
	}
}

func filePaths(files []File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

func assertFiles(t *testing.T, d *Dir, want []File) {
	t.Helper()
	got, _, err := d.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w := append([]File(nil), want...)
	sortFiles(w)
	if len(got) != len(w) {
		t.Fatalf("Files = %v, want %v", filePaths(got), filePaths(w))
	}
	for i := range w {
		if got[i].Path != w[i].Path || !bytes.Equal(got[i].Content, w[i].Content) {
			t.Fatalf("file %d = %q %q, want %q %q", i, got[i].Path, got[i].Content, w[i].Path, w[i].Content)
		}
	}
}

func assertNoTempFiles(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), tempPrefix) {
			t.Errorf("temp file left behind: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// memTempDir returns an empty directory on tmpfs when /dev/shm exists, so
// that the fsync in every Write costs nothing in fuzzing; else t.TempDir().
func memTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "workspace-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
