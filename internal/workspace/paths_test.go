package workspace

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanPathAccepts(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"a.py", "a.py"},
		{"a/b.py", "a/b.py"},
		{"./a/b.py", "a/b.py"},
		{"././a.py", "a.py"},
		{"tests/test_main.py", "tests/test_main.py"},
		{".gitignore", ".gitignore"},
		{".github/workflows/ci.yml", ".github/workflows/ci.yml"},
		{"a/.git.txt", "a/.git.txt"},
		{"a..b/c", "a..b/c"},
		{"...", "..."},
		{"dir with space/file name.md", "dir with space/file name.md"},
		{"unicodé/файл.py", "unicodé/файл.py"},
		{"ab:c", "ab:c"}, // a colon after the second byte is an ordinary Linux name
		{strings.Repeat("x", 255), strings.Repeat("x", 255)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CleanPath(tt.in)
			if err != nil {
				t.Fatalf("CleanPath(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("CleanPath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCleanPathRejects(t *testing.T) {
	tests := []struct {
		in, reason string
	}{
		{"", "empty"},
		{".", "workspace root"},
		{"./", "trailing"},
		{"./.", "workspace root"},
		{"..", "parent directory"},
		{"../x", "parent directory"},
		{"a/../../x", "parent directory"},
		{"a/..", "parent directory"},
		{"a/b/../c", "parent directory"},
		{"/x", "absolute"},
		{"/etc/passwd", "absolute"},
		{"//server/share/x", "UNC"},
		{`\\server\share\x`, "UNC"},
		{`\x`, "backslash"},
		{`a\..\x`, "backslash"},
		{`a\b.py`, "backslash"},
		{`C:\x`, "drive"},
		{"C:/x", "drive"},
		{"c:x", "drive"},
		{"./A:", "drive"},
		{"././c:/x", "drive"},
		{"a/", "trailing"},
		{"a/b/", "trailing"},
		{"a//b", "empty path segments"},
		{"a/./b", "'.' segments"},
		{"a/.", "'.' segments"},
		{"a\x00b", "control"},
		{"a\nb", "control"},
		{"a\tb", "control"},
		{"a\x7fb", "control"},
		{"a\u0085b", "control"},
		{"bad\xffutf8", "UTF-8"},
		{".git", ".git"},
		{".git/config", ".git"},
		{"sub/.git/hooks/pre-commit", ".git"},
		{".GIT/config", ".git"},
		{strings.Repeat("x", 256), "segment is longer"},
		{strings.Repeat("a/", 600) + "x", "longer than 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CleanPath(tt.in)
			if err == nil {
				t.Fatalf("CleanPath(%q) = %q, want an error", tt.in, got)
			}
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("error %v does not match ErrInvalidPath", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("error %q does not mention %q", err, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "Invalid file path: ") {
				t.Fatalf("error %q lacks the API prefix", err)
			}
		})
	}
}

func TestCleanPathErrorMessage(t *testing.T) {
	_, err := CleanPath("../x")
	want := `Invalid file path: "../x": parent directory segments are not allowed`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

// checkCleanResult asserts the invariants every accepted path must keep.
func checkCleanResult(t *testing.T, in, got string) {
	t.Helper()
	if got == "" || strings.HasPrefix(got, "/") || filepath.IsAbs(got) {
		t.Fatalf("CleanPath(%q) = %q: not relative", in, got)
	}
	if strings.ContainsRune(got, '\\') {
		t.Fatalf("CleanPath(%q) = %q: contains a backslash", in, got)
	}
	for _, seg := range strings.Split(got, "/") {
		if seg == ".." || seg == "." || seg == "" {
			t.Fatalf("CleanPath(%q) = %q: bad segment %q", in, got, seg)
		}
	}
	if path.Clean(got) != got {
		t.Fatalf("CleanPath(%q) = %q: path.Clean gives %q", in, got, path.Clean(got))
	}
	root := filepath.FromSlash("/srv/workspaces/task")
	joined := filepath.Join(root, filepath.FromSlash(got))
	if !strings.HasPrefix(joined, root+string(filepath.Separator)) {
		t.Fatalf("CleanPath(%q) = %q: joined %q escapes %q", in, got, joined, root)
	}
	again, err := CleanPath(got)
	if err != nil || again != got {
		t.Fatalf("CleanPath not idempotent on %q: %q, %v", got, again, err)
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{
		"a/b.py", "./a/b.py", "../x", "/etc/passwd", `a\..\x`, "C:\\x", "a//b",
		"a/./b", ".git/config", "..", ".", "", "a\x00b", "x/", "....//", "./../a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CleanPath(in)
		if err != nil {
			if got != "" {
				t.Fatalf("CleanPath(%q) returned %q with error %v", in, got, err)
			}
			return
		}
		checkCleanResult(t, in, got)
	})
}

func BenchmarkCleanPath(b *testing.B) {
	inputs := []string{
		"app/main.py", "./tests/test_main.py", "a/b/c/d/e/f/g.py", "../etc/passwd", `a\b`,
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = CleanPath(inputs[i%len(inputs)])
	}
}
