package workspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestWriteGitExportZip(t *testing.T) {
	before := files("app.py", "a = 1\n", "logo.png", "\x89PNG\x00")
	after := files("app.py", "a = 2\n", "logo.png", "\x89PNG\x00\x01", "new.md", "# new\n")
	p := Diff(before, after)
	mod := time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC)
	var buf bytes.Buffer
	if err := WriteGitExportZipAt(&buf, testTaskID, p, mod); err != nil {
		t.Fatal(err)
	}
	entries, contents := readZip(t, buf.Bytes())
	dir := "task_" + testTaskID + "/git_export/"
	wantModes := []struct {
		name string
		mode fs.FileMode
	}{
		{dir, fs.ModeDir | 0o755}, {dir + "patch.diff", 0o644}, {dir + "apply.sh", 0o755},
		{dir + "README_APPLY.md", 0o644}, {dir + "changed_files.json", 0o644},
	}
	if len(entries) != len(wantModes) {
		t.Fatalf("%d entries, want %d", len(entries), len(wantModes))
	}
	for i, w := range wantModes {
		if entries[i].Name != w.name || entries[i].Mode() != w.mode || !entries[i].Modified.Equal(mod) {
			t.Errorf("entry %d = %s %v %v, want %s %v %v", i, entries[i].Name, entries[i].Mode(), entries[i].Modified, w.name, w.mode, mod)
		}
	}
	for _, f := range GitExportFiles(p) {
		if !bytes.Equal(contents[dir+f.Path], f.Content) {
			t.Errorf("%s differs from GitExportFiles", f.Path)
		}
	}
	if string(contents[dir+"patch.diff"]) != p.Diff {
		t.Error("patch.diff is not the patch")
	}
	var changes []Change
	if err := json.Unmarshal(contents[dir+"changed_files.json"], &changes); err != nil || !reflect.DeepEqual(changes, p.Changes) {
		t.Fatalf("changed_files.json = %v (%v), want %v", changes, err, p.Changes)
	}
	script := string(contents[dir+"apply.sh"])
	for _, part := range []string{"#!/usr/bin/env bash\n", "set -euo pipefail", "command -v git", "--is-inside-work-tree",
		"git status --porcelain", `git apply --index "${patch_file}"`, `BASH_SOURCE[0]`} {
		if !strings.Contains(script, part) {
			t.Errorf("apply.sh lacks %q", part)
		}
	}
	readme := string(contents[dir+"README_APPLY.md"])
	for _, part := range []string{"git apply --3way", "apply.sh", "`logo.png` (modified)", "git apply --index"} {
		if !strings.Contains(readme, part) {
			t.Errorf("README_APPLY.md lacks %q", part)
		}
	}
	if err := WriteGitExportZip(io.Discard, "nope", p); !errors.Is(err, ErrInvalidTaskID) {
		t.Fatalf("bad task id: %v", err)
	}
}

// extractZip unpacks an archive into dir, keeping the entries' permission bits.
func extractZip(t *testing.T, data []byte, dir string) {
	t.Helper()
	entries, contents := readZip(t, data)
	for _, f := range entries {
		target := filepath.Join(dir, filepath.FromSlash(f.Name))
		if f.Mode().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, contents[f.Name], f.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestApplyScriptWithGit runs the extracted apply.sh against real repositories.
func TestApplyScriptWithGit(t *testing.T) {
	git := requireGit(t)
	if _, err := os.Stat("/usr/bin/env"); err != nil {
		t.Skip("no /usr/bin/env for the script's shebang")
	}
	before := files("README.md", "# demo\n", "app/main.py", "def main():\n    return 1\n", "gone.txt", "bye\n", "img.bin", "\x00")
	after := files("README.md", "# demo\n\nUpdated.\n", "app/main.py", "def main():\n    return 2\n",
		"app/util.py", "X = 1", "img.bin", "\x00\x01")
	var buf bytes.Buffer
	if err := WriteGitExportZipAt(&buf, testTaskID, Diff(before, after), time.Now()); err != nil {
		t.Fatal(err)
	}
	export := t.TempDir()
	extractZip(t, buf.Bytes(), export)
	script := filepath.Join(export, "task_"+testTaskID, "git_export", "apply.sh")
	// The binary file is not in the patch, so the expected tree keeps the old one.
	wantTree := files("README.md", "# demo\n\nUpdated.\n", "app/main.py", "def main():\n    return 2\n",
		"app/util.py", "X = 1", "img.bin", "\x00")

	t.Run("clean repo, from a subdirectory", func(t *testing.T) {
		repo := newGitRepo(t, before)
		out := runIn(t, filepath.Join(repo, "app"), false, script)
		if !strings.Contains(out, "applied and staged") {
			t.Fatalf("output: %s", out)
		}
		assertSameFiles(t, readTree(t, repo), wantTree)
		staged := runIn(t, repo, false, git, "diff", "--cached", "--name-status")
		for _, line := range []string{"M\tREADME.md", "M\tapp/main.py", "A\tapp/util.py", "D\tgone.txt"} {
			if !strings.Contains(staged, line) {
				t.Errorf("staged changes lack %q:\n%s", line, staged)
			}
		}
	})
	t.Run("export unpacked inside the repo", func(t *testing.T) {
		repo := newGitRepo(t, before)
		extractZip(t, buf.Bytes(), repo)
		runIn(t, repo, false, filepath.Join(repo, "task_"+testTaskID, "git_export", "apply.sh"))
		if got := readTree(t, repo); len(got) != len(wantTree)+4 {
			t.Fatalf("tree = %v", filePaths(got))
		}
	})
	t.Run("dirty tree is refused", func(t *testing.T) {
		repo := newGitRepo(t, before)
		writeTestFile(t, filepath.Join(repo, "README.md"), "local edit\n")
		out := runIn(t, repo, true, script)
		if !strings.Contains(out, "uncommitted changes") {
			t.Fatalf("output: %s", out)
		}
		if b, _ := os.ReadFile(filepath.Join(repo, "app", "main.py")); string(b) != "def main():\n    return 1\n" {
			t.Fatal("a refused apply changed files")
		}
	})
	t.Run("outside a work tree", func(t *testing.T) {
		out := runIn(t, t.TempDir(), true, script)
		if !strings.Contains(out, "inside the git work tree") {
			t.Fatalf("output: %s", out)
		}
	})
	t.Run("drifted repo fails cleanly", func(t *testing.T) {
		drifted := files("README.md", "# something else\n", "app/main.py", "print()\n", "gone.txt", "bye\n", "img.bin", "\x00")
		repo := newGitRepo(t, drifted)
		out := runIn(t, repo, true, script)
		if !strings.Contains(out, "--3way") {
			t.Fatalf("output: %s", out)
		}
		assertSameFiles(t, readTree(t, repo), drifted)
	})
	t.Run("empty patch", func(t *testing.T) {
		var empty bytes.Buffer
		if err := WriteGitExportZipAt(&empty, testTaskID, Diff(before, before), time.Now()); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		extractZip(t, empty.Bytes(), dir)
		repo := newGitRepo(t, before)
		out := runIn(t, repo, false, filepath.Join(dir, "task_"+testTaskID, "git_export", "apply.sh"))
		if !strings.Contains(out, "nothing to apply") {
			t.Fatalf("output: %s", out)
		}
	})
}
