package workspace

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// requireGit returns the git binary, skipping the test when it is missing
// unless CI=true, where a missing git is a failure.
func requireGit(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git is required in CI: %v", err)
		}
		t.Skipf("git not installed: %v", err)
	}
	return p
}

// gitEnv isolates git from the user's configuration and gives commits an author.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com",
	)
}

// runIn runs a command in dir and returns its combined output, failing the
// test when wantErr does not match the outcome.
func runIn(t *testing.T, dir string, wantErr bool, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if (err != nil) != wantErr {
		t.Fatalf("%s %v in %s: err=%v, want error=%v\n%s", name, args, dir, err, wantErr, out)
	}
	return string(out)
}

// newGitRepo creates a repository whose first commit holds files.
func newGitRepo(t *testing.T, files []File) string {
	t.Helper()
	git := requireGit(t)
	dir := t.TempDir()
	runIn(t, dir, false, git, "init", "-q")
	for _, f := range files {
		writeTestFile(t, filepath.Join(dir, filepath.FromSlash(f.Path)), string(f.Content))
	}
	runIn(t, dir, false, git, "add", "-A")
	runIn(t, dir, false, git, "commit", "-q", "--allow-empty", "-m", "before")
	return dir
}

// readTree collects the regular files of dir, without .git, sorted by path.
func readTree(t *testing.T, dir string) []File {
	t.Helper()
	var files []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, File{Path: filepath.ToSlash(rel), Content: b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sortFiles(files)
	return files
}

// assertSameFiles compares two file sets by path and content.
func assertSameFiles(t *testing.T, got, want []File) {
	t.Helper()
	w := append([]File(nil), want...)
	sortFiles(w)
	if len(got) != len(w) {
		t.Fatalf("files = %v, want %v", filePaths(got), filePaths(w))
	}
	for i := range w {
		if got[i].Path != w[i].Path || !bytes.Equal(got[i].Content, w[i].Content) {
			t.Fatalf("file %q = %q, want %q = %q", got[i].Path, got[i].Content, w[i].Path, w[i].Content)
		}
	}
}
