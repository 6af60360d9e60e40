package workspace

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// These tests try to get out of a workspace: bad paths, and symlinks planted
// inside it that point outside, to files and to directories.

func TestDirRejectsBadPaths(t *testing.T) {
	e := newTestEnv(t)
	for _, p := range []string{"../x", "/etc/passwd", "a/../../x", `a\..\x`, "../sentinel/x", "..", "", "/", ".git/config", "C:\\x"} {
		t.Run(p, func(t *testing.T) {
			if err := e.dir.Write(p, []byte("x")); !errors.Is(err, ErrInvalidPath) {
				t.Errorf("Write: %v, want ErrInvalidPath", err)
			}
			if _, err := e.dir.Read(p); !errors.Is(err, ErrInvalidPath) {
				t.Errorf("Read: %v, want ErrInvalidPath", err)
			}
			if err := e.dir.Remove(p); !errors.Is(err, ErrInvalidPath) {
				t.Errorf("Remove: %v, want ErrInvalidPath", err)
			}
		})
	}
	e.assertOutsideUntouched(t)
}

func TestDirFileSymlinkCannotEscape(t *testing.T) {
	e := newTestEnv(t)
	link := filepath.Join(e.dir.Path(), "link.txt")
	if err := os.Symlink(e.outside, link); err != nil {
		t.Fatal(err)
	}
	if b, err := e.dir.Read("link.txt"); err == nil {
		t.Fatalf("Read through a symlink to outside returned %q", b)
	}
	if err := e.dir.Write("link.txt", []byte("replaced")); err != nil {
		t.Fatalf("Write over the link: %v", err)
	}
	info, err := os.Lstat(link)
	if err != nil || !info.Mode().IsRegular() {
		t.Fatalf("the link should have been replaced by a regular file: %v, %v", info, err)
	}
	// A relative link that climbs out is refused the same way.
	if err := os.Symlink("../../outside.txt", filepath.Join(e.dir.Path(), "up.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.Read("up.txt"); err == nil {
		t.Fatal("Read through ../ symlink succeeded")
	}
	if err := e.dir.Remove("up.txt"); err != nil {
		t.Fatalf("Remove of a link: %v", err)
	}
	e.assertOutsideUntouched(t)
}

func TestDirDirectorySymlinkCannotEscape(t *testing.T) {
	e := newTestEnv(t)
	if err := os.WriteFile(filepath.Join(e.base, "secret.txt"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"abs": e.sentinel, "rel": "../../sentinel", "base": e.base} {
		if err := os.Symlink(target, filepath.Join(e.dir.Path(), name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"abs/x.py", "rel/x.py", "abs/new/dir/x.py", "base/secret.txt", "base/sentinel/x"} {
		if err := e.dir.Write(p, []byte("x")); err == nil {
			t.Errorf("Write(%q) through a directory symlink succeeded", p)
		}
	}
	for _, p := range []string{"base/secret.txt", "base/outside.txt"} {
		if b, err := e.dir.Read(p); err == nil {
			t.Errorf("Read(%q) through a directory symlink returned %q", p, b)
		}
	}
	if err := e.dir.Remove("base/outside.txt"); err == nil {
		t.Error("Remove through a directory symlink succeeded")
	}
	// Sync replaces the link with a real directory instead of writing through it.
	if _, err := e.dir.Sync(t.Context(), []File{{Path: "abs/x.py", Content: []byte("x")}}); err != nil {
		t.Errorf("Sync over a directory symlink: %v", err)
	}
	if info, err := os.Lstat(filepath.Join(e.dir.Path(), "abs")); err != nil || !info.IsDir() {
		t.Errorf("abs should now be a real directory: %v, %v", info, err)
	}
	os.Remove(filepath.Join(e.base, "secret.txt"))
	e.assertOutsideUntouched(t)
}

func TestDirInsideSymlinkIsNotCollected(t *testing.T) {
	e := newTestEnv(t)
	d := e.dir
	mustWrite(t, d, "real.py", "x = 1\n")
	if err := os.Symlink("real.py", filepath.Join(d.Path(), "alias.py")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read("alias.py"); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Read(alias) = %v, want ErrNotRegular", err)
	}
}

func FuzzDirWrite(f *testing.F) {
	for _, s := range []string{
		"a.py", "../x", "link/x", "up/sentinel/x", "up/../x", "/etc/passwd", `..\x`, "a/../../x",
		"link", "up", "./link/../x", "deep/a/b/c.py", "..%2fx", "link/../../x",
	} {
		f.Add(s, []byte("data"))
	}
	e := newTestEnvIn(f, memTempDir(f))
	// reset empties the workspace and plants two links: one straight to the
	// sentinel and one climbing to its parent.
	reset := func(t testing.TB) {
		ents, err := os.ReadDir(e.dir.Path())
		if err != nil {
			t.Fatal(err)
		}
		for _, ent := range ents {
			if err := os.RemoveAll(filepath.Join(e.dir.Path(), ent.Name())); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(e.sentinel, filepath.Join(e.dir.Path(), "link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../..", filepath.Join(e.dir.Path(), "up")); err != nil {
			t.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, p string, content []byte) {
		reset(t)
		if err := e.dir.Write(p, content); err == nil {
			clean, cerr := CleanPath(p)
			if cerr != nil {
				t.Fatalf("Write(%q) succeeded but CleanPath rejects it: %v", p, cerr)
			}
			got, rerr := e.dir.Read(clean)
			if rerr != nil || !bytes.Equal(got, content) {
				t.Fatalf("Read(%q) after Write = %q, %v", clean, got, rerr)
			}
		}
		e.assertOutsideUntouched(t)
	})
}
