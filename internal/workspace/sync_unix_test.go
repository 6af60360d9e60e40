//go:build unix

package workspace

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestSyncRemovesEverythingNotStored(t *testing.T) {
	e := newTestEnv(t)
	d := e.dir
	stored := []File{
		{Path: "a.py", Content: []byte("a = 1\n")},
		{Path: "pkg/b.py", Content: []byte("b = 2\n")},
		{Path: "pkg/sub/c.py", Content: []byte("c = 3\n")},
		{Path: "pkg/d.py", Content: []byte("d = 4\n")},
	}
	if _, err := d.Sync(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	root := d.Path()
	at := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	for _, rel := range []string{
		"notes.txt", "pkg/extra.py", "build/lib/x.so", "empty/", "__pycache__/a.cpython-312.pyc",
		"pkg/__pycache__/b.cpython-312.pyc", ".pytest_cache/v/cache/nodeids", ".ruff_cache/0.1/x",
		".venv/bin/python", "node_modules/left/index.js", tempPrefix + "crashed", "pkg/" + tempPrefix + "crashed",
		".git/HEAD", `odd\name.py`,
	} {
		if filepath.Base(rel) == "empty" {
			if err := os.MkdirAll(at(rel), 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		writeTestFile(t, at(rel), "leftover")
	}
	// Symlinks: loose ones pointing outside and in, and at stored paths.
	for link, target := range map[string]string{
		"out.txt": e.outside, "outdir": e.base, "loop": "loop", "self": ".", "pkg/up": "../..",
		"a.py": e.outside, "pkg/sub": e.sentinel,
	} {
		if err := os.Remove(at(link)); err != nil && !os.IsNotExist(err) {
			if err := os.RemoveAll(at(link)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(target, at(link)); err != nil {
			t.Fatal(err)
		}
	}
	// FIFOs: a loose one, and one at a stored path, which must not be opened
	// (that would block with no writer).
	for _, rel := range []string{"pipe", "pkg/b.py"} {
		os.Remove(at(rel))
		if err := syscall.Mkfifo(at(rel), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	// A device, where the test may make one (root outside a user namespace).
	if err := syscall.Mknod(at("pkg/null"), syscall.S_IFCHR|0o666, 0x0103); err != nil {
		t.Logf("no device node: %v", err)
	}
	done := make(chan error, 1)
	var rep Report
	go func() {
		var err error
		rep, err = d.Sync(t.Context(), stored)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sync blocked")
	}
	t.Logf("report: %+v", rep)
	if rep.Written != 3 { // a.py, pkg/b.py, pkg/sub/c.py
		t.Errorf("written %d, want 3", rep.Written)
	}
	assertExactly(t, d, stored)
	e.assertOutsideUntouched(t)
	if info, err := os.Stat(e.base); err != nil || !info.IsDir() {
		t.Fatalf("the directory a link pointed to is gone: %v", err)
	}
}

// TestSyncRemovesLockedDirectories checks that generated code cannot keep
// junk by taking permissions away from its own directories. Root ignores
// those permissions, so the test needs another user.
func TestSyncRemovesLockedDirectories(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("permissions do not apply to root")
	}
	d := newTestEnv(t).dir
	stored := []File{{Path: "pkg/a.py", Content: []byte("a\n")}}
	root := d.Path()
	for _, rel := range []string{"junk/x", "ro/y", "pkg/hidden/z", "pkg/ro/w"} {
		writeTestFile(t, filepath.Join(root, filepath.FromSlash(rel)), "leftover")
	}
	for rel, mode := range map[string]os.FileMode{"junk": 0, "ro": 0o500, "pkg/hidden": 0o100, "pkg/ro": 0o555} {
		if err := os.Chmod(filepath.Join(root, filepath.FromSlash(rel)), mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, rel := range []string{"junk", "ro", "pkg/hidden", "pkg/ro"} {
			os.Chmod(filepath.Join(root, filepath.FromSlash(rel)), 0o755)
		}
	})
	if _, err := d.Sync(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	assertExactly(t, d, stored)
}
