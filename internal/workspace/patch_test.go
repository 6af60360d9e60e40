package workspace

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func files(kv ...string) []File {
	out := make([]File, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, File{Path: kv[i], Content: []byte(kv[i+1])})
	}
	return out
}

func TestGitBlobID(t *testing.T) {
	if got := gitBlobID(nil); got != "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391" {
		t.Fatalf("empty blob id = %s", got)
	}
	if got := gitBlobID([]byte("hello\n")); got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Fatalf("hello blob id = %s", got)
	}
}

func TestDiffCases(t *testing.T) {
	hello, world := gitBlobID([]byte("a\nb\n")), gitBlobID([]byte("a\nB\n"))
	tests := []struct {
		name          string
		before, after []File
		diff          string
		change        Change
	}{
		{
			name:  "added",
			after: files("new.py", "a\nb\n"),
			diff: "diff --git a/new.py b/new.py\nnew file mode 100644\nindex " + nullBlobID + ".." + hello + "\n" +
				"--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,2 @@\n+a\n+b\n",
			change: Change{Path: "new.py", ChangeType: "added", SHA256After: sha256Hex([]byte("a\nb\n")), SizeAfter: 4},
		},
		{
			name:   "removed",
			before: files("old.py", "a\nb\n"),
			diff: "diff --git a/old.py b/old.py\ndeleted file mode 100644\nindex " + hello + ".." + nullBlobID + "\n" +
				"--- a/old.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n",
			change: Change{Path: "old.py", ChangeType: "removed", SHA256Before: sha256Hex([]byte("a\nb\n")), SizeBefore: 4},
		},
		{
			name:   "modified",
			before: files("m.py", "a\nb\n"),
			after:  files("m.py", "a\nB\n"),
			diff: "diff --git a/m.py b/m.py\nindex " + hello + ".." + world + " 100644\n" +
				"--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n",
			change: Change{Path: "m.py", ChangeType: "modified", SHA256Before: sha256Hex([]byte("a\nb\n")),
				SHA256After: sha256Hex([]byte("a\nB\n")), SizeBefore: 4, SizeAfter: 4},
		},
		{
			name:   "newline added at end",
			before: files("n.txt", "a\nb"),
			after:  files("n.txt", "a\nb\n"),
			diff: "diff --git a/n.txt b/n.txt\nindex " + gitBlobID([]byte("a\nb")) + ".." + hello + " 100644\n" +
				"--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n",
			change: Change{Path: "n.txt", ChangeType: "modified", SHA256Before: sha256Hex([]byte("a\nb")),
				SHA256After: sha256Hex([]byte("a\nb\n")), SizeBefore: 3, SizeAfter: 4},
		},
		{
			name:   "no newline on either side",
			before: files("n.txt", "x"),
			after:  files("n.txt", "y"),
			diff: "diff --git a/n.txt b/n.txt\nindex " + gitBlobID([]byte("x")) + ".." + gitBlobID([]byte("y")) + " 100644\n" +
				"--- a/n.txt\n+++ b/n.txt\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+y\n\\ No newline at end of file\n",
			change: Change{Path: "n.txt", ChangeType: "modified", SHA256Before: sha256Hex([]byte("x")),
				SHA256After: sha256Hex([]byte("y")), SizeBefore: 1, SizeAfter: 1},
		},
		{
			name:   "empty file added",
			after:  files("empty", ""),
			diff:   "diff --git a/empty b/empty\nnew file mode 100644\nindex " + nullBlobID + "..e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n",
			change: Change{Path: "empty", ChangeType: "added", SHA256After: sha256Hex(nil)},
		},
		{
			name:   "binary modified",
			before: files("img.png", "\x89PNG\x00\x01"),
			after:  files("img.png", "\x89PNG\x00\x02"),
			diff:   "",
			change: Change{Path: "img.png", ChangeType: "modified", SHA256Before: sha256Hex([]byte("\x89PNG\x00\x01")),
				SHA256After: sha256Hex([]byte("\x89PNG\x00\x02")), SizeBefore: 6, SizeAfter: 6, IsBinary: true},
		},
		{
			name:   "text becomes invalid UTF-8",
			before: files("t.txt", "ok\n"),
			after:  files("t.txt", "\xff\xfe\n"),
			diff:   "",
			change: Change{Path: "t.txt", ChangeType: "modified", SHA256Before: sha256Hex([]byte("ok\n")),
				SHA256After: sha256Hex([]byte("\xff\xfe\n")), SizeBefore: 3, SizeAfter: 3, IsBinary: true},
		},
		{
			name:   "quoted name",
			before: nil,
			after:  files(`say "hi".txt`, "x\n"),
			diff: `diff --git "a/say \"hi\".txt" "b/say \"hi\".txt"` + "\nnew file mode 100644\nindex " + nullBlobID + ".." + gitBlobID([]byte("x\n")) + "\n" +
				"--- /dev/null\n" + `+++ "b/say \"hi\".txt"` + "\n@@ -0,0 +1 @@\n+x\n",
			change: Change{Path: `say "hi".txt`, ChangeType: "added", SHA256After: sha256Hex([]byte("x\n")), SizeAfter: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Diff(tt.before, tt.after)
			if p.Diff != tt.diff {
				t.Fatalf("diff =\n%s\nwant\n%s", p.Diff, tt.diff)
			}
			if len(p.Changes) != 1 || p.Changes[0] != tt.change {
				t.Fatalf("changes = %+v\nwant %+v", p.Changes, tt.change)
			}
		})
	}
}

func TestDiffHunksAndStats(t *testing.T) {
	var a, b strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&a, "line %d\n", i)
		switch i {
		case 2:
			b.WriteString("line 2 changed\n")
		case 20:
		default:
			fmt.Fprintf(&b, "line %d\n", i)
		}
	}
	before := files("z.py", a.String(), "same.py", "s\n", "bin", "\x00", "gone.md", "bye\n")
	after := files("z.py", b.String(), "same.py", "s\n", "bin", "\x00\x01", "added.md", "hi\n")
	p := Diff(before, after)
	wantHunks := "@@ -1,5 +1,5 @@\n line 1\n-line 2\n+line 2 changed\n line 3\n line 4\n line 5\n" +
		"@@ -17,7 +17,6 @@\n line 17\n line 18\n line 19\n-line 20\n line 21\n line 22\n line 23\n"
	if !strings.HasSuffix(p.Diff, wantHunks) {
		t.Fatalf("diff does not end with the expected hunks:\n%s", p.Diff)
	}
	var order []string
	for _, c := range p.Changes {
		order = append(order, c.Path+":"+c.ChangeType)
	}
	if want := []string{"added.md:added", "bin:modified", "gone.md:removed", "z.py:modified"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("changes = %v, want %v", order, want)
	}
	wantStats := PatchStats{ChangedTotal: 4, Added: 1, Removed: 1, Modified: 2, TextFiles: 3, BinaryFiles: 1,
		DiffLines: strings.Count(p.Diff, "\n")}
	if p.Stats != wantStats {
		t.Fatalf("stats = %+v, want %+v", p.Stats, wantStats)
	}
	if strings.Index(p.Diff, "a/added.md") > strings.Index(p.Diff, "a/gone.md") {
		t.Fatal("diff is not in path order")
	}
	if again := Diff(before, after); !reflect.DeepEqual(again, p) {
		t.Fatal("Diff is not deterministic")
	}
}

func TestDiffNoChanges(t *testing.T) {
	p := Diff(files("a", "1"), files("a", "1"))
	if p.Diff != "" || p.Changes == nil || len(p.Changes) != 0 || p.Stats != (PatchStats{}) {
		t.Fatalf("Diff of equal sets = %+v", p)
	}
	raw, _ := json.Marshal(p)
	want := `{"diff":"","changed_files":[],"stats":{"changed_total":0,"added":0,"removed":0,"modified":0,"text_files":0,"binary_files":0,"diff_lines":0}}`
	if string(raw) != want {
		t.Fatalf("json = %s\nwant %s", raw, want)
	}
}

// applyCase is one before/after pair checked against real git.
type applyCase struct {
	name          string
	before, after []File
}

func gitApplyCases() []applyCase {
	cases := []applyCase{
		{"mixed", files(
			"README.md", "# Title\n\nSome text\n",
			"app/main.py", "import os\n\n\ndef main():\n    pass\n",
			"old.txt", "remove me\n",
			"noeol.txt", "a\nb",
			"crlf.txt", "one\r\ntwo\r\n",
			"empty_gone", "",
			"dir with space/f.py", "x = 1\n",
		), files(
			"README.md", "# Title\n\nMore text\nAnd more\n",
			"app/main.py", "import os\nimport sys\n\n\ndef main():\n    return 0\n",
			"noeol.txt", "a\nb\nc",
			"crlf.txt", "one\r\n2\r\n",
			"new/deep/file.py", "print('x')",
			"empty_new", "",
			"dir with space/f.py", "x = 2\n",
			`quote"d.txt`, "q\n",
			"unicodé/файл.txt", "u\n",
			"to_empty.txt", "",
		)},
		{"everything removed", files("a.py", "a\n", "b/c.py", "c"), nil},
		{"from nothing", nil, files("a.py", "a\n", "b/c.py", "c")},
		{"file becomes dir", files("x", "file\n"), files("x/y", "nested\n")},
		{"eol toggles", files("f", "a\n"), files("f", "a")},
	}
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 5 {
		var before, after []File
		for j := range 6 {
			p := fmt.Sprintf("pkg%d/f%d.py", j%2, j)
			a := randText(r, 40)
			before = append(before, File{Path: p, Content: []byte(a)})
			if r.IntN(5) > 0 {
				after = append(after, File{Path: p, Content: []byte(mutateText(r, a))})
			}
		}
		cases = append(cases, applyCase{fmt.Sprintf("random %d", i), before, after})
	}
	return cases
}

// TestDiffAppliesWithGit checks with real git that the patch applies cleanly
// to the before state and produces exactly the after state.
func TestDiffAppliesWithGit(t *testing.T) {
	git := requireGit(t)
	for _, tc := range gitApplyCases() {
		t.Run(tc.name, func(t *testing.T) {
			repo := newGitRepo(t, tc.before)
			p := Diff(tc.before, tc.after)
			patchFile := filepath.Join(t.TempDir(), "patch.diff")
			if err := os.WriteFile(patchFile, []byte(p.Diff), 0o644); err != nil {
				t.Fatal(err)
			}
			runIn(t, repo, false, git, "apply", "--check", patchFile)
			runIn(t, repo, false, git, "apply", "--index", patchFile)
			assertSameFiles(t, readTree(t, repo), tc.after)
			// The staged change must be exactly what git itself would diff.
			runIn(t, repo, false, git, "apply", "--check", "-R", "--cached", patchFile)
		})
	}
}

func randText(r *rand.Rand, n int) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "line %d %d\n", i, r.IntN(4))
	}
	s := sb.String()
	if r.IntN(3) == 0 {
		s = strings.TrimSuffix(s, "\n")
	}
	return s
}

func mutateText(r *rand.Rand, s string) string {
	lines := strings.SplitAfter(s, "\n")
	for range r.IntN(6) {
		i := r.IntN(len(lines))
		switch r.IntN(3) {
		case 0:
			lines[i] = fmt.Sprintf("changed %d\n", r.IntN(100))
		case 1:
			lines = append(lines[:i], lines[i+1:]...)
			if len(lines) == 0 {
				lines = []string{""}
			}
		default:
			lines = append(lines[:i], append([]string{"inserted\n"}, lines[i:]...)...)
		}
	}
	out := strings.Join(lines, "")
	if r.IntN(4) == 0 {
		out = strings.TrimSuffix(out, "\n")
	}
	return out
}

func BenchmarkDiff(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var before, after []File
	for i := range 20 {
		var sb strings.Builder
		for j := range 200 {
			fmt.Fprintf(&sb, "    value_%d = compute(%d, %d)  # line %d\n", j, i, r.IntN(1000), j)
		}
		a := sb.String()
		before = append(before, File{Path: fmt.Sprintf("pkg/mod_%02d.py", i), Content: []byte(a)})
		after = append(after, File{Path: fmt.Sprintf("pkg/mod_%02d.py", i), Content: []byte(mutateText(r, a))})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Diff(before, after)
	}
}

// TestDiffApplies3WayAfterDrift backs the README's --3way advice: the blob
// ids in the index lines let git merge the patch into a drifted file.
func TestDiffApplies3WayAfterDrift(t *testing.T) {
	git := requireGit(t)
	var base strings.Builder
	for i := range 20 {
		fmt.Fprintf(&base, "line %d\n", i)
	}
	before := files("f.txt", base.String())
	after := files("f.txt", strings.Replace(base.String(), "line 2\n", "line two\n", 1))
	repo := newGitRepo(t, before)
	// The drift touches the hunk's context (line 4), so a plain apply fails.
	drifted := strings.Replace(base.String(), "line 4\n", "line four\n", 1)
	writeTestFile(t, filepath.Join(repo, "f.txt"), drifted)
	runIn(t, repo, false, git, "commit", "-q", "-am", "drift")
	patchFile := filepath.Join(t.TempDir(), "patch.diff")
	if err := os.WriteFile(patchFile, []byte(Diff(before, after).Diff), 0o644); err != nil {
		t.Fatal(err)
	}
	runIn(t, repo, true, git, "apply", "--check", patchFile)
	runIn(t, repo, false, git, "apply", "--3way", patchFile)
	want := strings.Replace(drifted, "line 2\n", "line two\n", 1)
	if got, _ := os.ReadFile(filepath.Join(repo, "f.txt")); string(got) != want {
		t.Fatalf("after --3way:\n%s\nwant\n%s", got, want)
	}
}
