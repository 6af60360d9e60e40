package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewManagerCreatesPrivateRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "ws")
	m, err := NewManager(root)
	if err != nil {
		t.Fatal(err)
	}
	if m.Root() != root {
		t.Fatalf("Root = %q, want %q", m.Root(), root)
	}
	info, err := os.Stat(root)
	if err != nil || !info.IsDir() || info.Mode().Perm() != 0o700 {
		t.Fatalf("root = %v, %v; want a 0700 directory", info, err)
	}
	if _, err := NewManager(""); err == nil {
		t.Fatal("empty root accepted")
	}
	file := filepath.Join(t.TempDir(), "file")
	writeTestFile(t, file, "x")
	if _, err := NewManager(file); err == nil {
		t.Fatal("a regular file accepted as root")
	}
}

func TestManagerOpenRejectsNonUUIDs(t *testing.T) {
	m, err := NewManager(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{
		"", "abc", "..", "../x", "/tmp", "a/b",
		"0B9F4A52-7C3E-4F51-9D8A-2F6C1E0A7B11",          // upper case
		"{0b9f4a52-7c3e-4f51-9d8a-2f6c1e0a7b11}",        // braces
		"urn:uuid:0b9f4a52-7c3e-4f51-9d8a-2f6c1e0a7b11", // URN
		"0b9f4a527c3e4f519d8a2f6c1e0a7b11",              // no dashes
		"0b9f4a52-7c3e-4f51-9d8a-2f6c1e0a7b1",           // short
		testTaskID + "/..",
	} {
		if _, err := m.Open(id); !errors.Is(err, ErrInvalidTaskID) {
			t.Errorf("Open(%q) = %v, want ErrInvalidTaskID", id, err)
		}
		if m.Exists(id) {
			t.Errorf("Exists(%q) = true", id)
		}
		if err := m.Remove(id); !errors.Is(err, ErrInvalidTaskID) {
			t.Errorf("Remove(%q) = %v, want ErrInvalidTaskID", id, err)
		}
	}
	if ents, _ := os.ReadDir(m.Root()); len(ents) != 0 {
		t.Fatalf("invalid ids created %v", ents)
	}
}

func TestManagerOpenExistsRemove(t *testing.T) {
	m, err := NewManager(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if m.Exists(testTaskID) {
		t.Fatal("Exists before Open")
	}
	d, err := m.Open(testTaskID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Path() != filepath.Join(m.Root(), testTaskID) {
		t.Fatalf("Path = %q", d.Path())
	}
	mustWrite(t, d, "a/b.py", "x")
	d.Close()
	d2, err := m.Open(testTaskID) // reopening keeps the content
	if err != nil {
		t.Fatal(err)
	}
	if b, err := d2.Read("a/b.py"); err != nil || string(b) != "x" {
		t.Fatalf("Read after reopen = %q, %v", b, err)
	}
	d2.Close()
	if !m.Exists(testTaskID) {
		t.Fatal("Exists after Open = false")
	}
	if err := m.Remove(testTaskID); err != nil {
		t.Fatal(err)
	}
	if m.Exists(testTaskID) {
		t.Fatal("Exists after Remove = true")
	}
	if err := m.Remove(testTaskID); err != nil {
		t.Fatalf("Remove of a missing workspace: %v", err)
	}
}

func TestManagerOpenRefusesSymlinkedTaskDir(t *testing.T) {
	m, err := NewManager(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(m.Root(), testTaskID)); err != nil {
		t.Fatal(err)
	}
	if d, err := m.Open(testTaskID); err == nil {
		d.Close()
		t.Fatal("Open followed a symlinked task directory")
	}
	if m.Exists(testTaskID) {
		t.Fatal("Exists reports a symlink as a workspace")
	}
	if err := m.Remove(testTaskID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("Remove deleted the link target: %v", err)
	}
}

func TestManagerCleanup(t *testing.T) {
	base := t.TempDir()
	m, err := NewManager(filepath.Join(base, "ws"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	const (
		oldID   = "11111111-1111-4111-8111-111111111111"
		newID   = "22222222-2222-4222-8222-222222222222"
		linkID  = "33333333-3333-4333-8333-333333333333"
		fileID  = "44444444-4444-4444-8444-444444444444"
		otherID = "not-a-task"
	)
	for _, id := range []string{oldID, newID} {
		d, err := m.Open(id)
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, d, "pkg/a.py", "a")
		d.Close()
	}
	// The link target lives outside the root, holds data, and is itself old.
	target := filepath.Join(base, "precious")
	writeTestFile(t, filepath.Join(target, "data.txt"), "keep me")
	if err := os.Symlink(target, filepath.Join(m.Root(), linkID)); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(m.Root(), fileID), "stray")
	writeTestFile(t, filepath.Join(m.Root(), otherID, "x"), "not ours")
	past, future := now.Add(-48*time.Hour), now.Add(48*time.Hour)
	for name, mt := range map[string]time.Time{
		oldID: past, newID: future, fileID: past, otherID: past, target: past,
	} {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(m.Root(), name)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	// The link itself was just created, so its own mtime (now) is before the
	// cut-off while the new workspace's (future) is not.
	removed, err := m.Cleanup(now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{oldID, linkID, fileID}; !reflect.DeepEqual(removed, want) {
		t.Fatalf("removed = %v, want %v", removed, want)
	}
	for _, gone := range []string{oldID, linkID, fileID} {
		if _, err := os.Lstat(filepath.Join(m.Root(), gone)); !os.IsNotExist(err) {
			t.Errorf("%s still present: %v", gone, err)
		}
	}
	if !m.Exists(newID) {
		t.Error("recent workspace was removed")
	}
	if _, err := os.Stat(filepath.Join(m.Root(), otherID, "x")); err != nil {
		t.Errorf("non-task entry was removed: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "data.txt")); err != nil || string(b) != "keep me" {
		t.Fatalf("symlink target damaged: %q, %v", b, err)
	}
	// Nothing older than a long-past cut-off: nothing removed.
	removed, err = m.Cleanup(now.Add(-24 * 365 * time.Hour))
	if err != nil || len(removed) != 0 {
		t.Fatalf("Cleanup(long ago) = %v, %v", removed, err)
	}
}

func TestManagerOpenTouchesMtime(t *testing.T) {
	m, err := NewManager(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := m.Open(testTaskID)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	p := filepath.Join(m.Root(), testTaskID)
	old := time.Now().Add(-72 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	d, err = m.Open(testTaskID)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	removed, err := m.Cleanup(time.Now().Add(-time.Hour))
	if err != nil || len(removed) != 0 {
		t.Fatalf("a just-opened workspace was cleaned up: %v, %v", removed, err)
	}
	if err := ValidTaskID(strings.ToUpper(testTaskID)); !errors.Is(err, ErrInvalidTaskID) {
		t.Fatalf("ValidTaskID(upper) = %v", err)
	}
}
