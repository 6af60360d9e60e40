package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// These tests play generated code that attacks the sync between reviews:
// files too big to read, trees too deep to walk, floods of entries, and
// entries that are not what their path says.

const (
	hugeSize = 2 << 30 // sparse: the tests write no data
	deepTree = 15_000
	// syncBudget is far above what a linear sync of deepTree levels needs
	// (about a second with -race on a loaded two-core machine) and far below
	// the minutes the quadratic walk took.
	syncBudget = 15 * time.Second
	// allocBudget bounds what a sync may allocate next to a 2 GiB file.
	allocBudget = 64 << 20
)

// makeSparse creates a file of size bytes at rel below dir without writing
// any data.
func makeSparse(t testing.TB, dir, rel string, size int64) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// makeDeep creates rel (parents included) and below it a chain of depth
// directories named d, with a file at the bottom. Every level is made
// relative to the one above it, so building the tree is itself linear.
func makeDeep(t testing.TB, dir, rel string, depth int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(rel)), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenRoot(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	for range depth {
		if err := r.Mkdir("d", 0o755); err != nil {
			r.Close()
			t.Fatal(err)
		}
		next, err := r.OpenRoot("d")
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		r = next
	}
	defer r.Close()
	if err := r.WriteFile("bottom.txt", []byte("deep"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// makeWide creates dirs directories of files files each below rel.
func makeWide(t *testing.T, dir, rel string, dirs, files int) {
	t.Helper()
	for i := range dirs {
		sub := filepath.Join(dir, filepath.FromSlash(rel), fmt.Sprintf("d%03d", i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for j := range files {
			writeTestFile(t, filepath.Join(sub, fmt.Sprintf("f%03d.py", j)), "x = 1\n")
		}
	}
}

// assertExactly fails unless the workspace holds exactly the stored files
// (as regular files with their content) and the directories leading to
// them: nothing else of any kind.
func assertExactly(t testing.TB, d *Dir, stored []File) {
	t.Helper()
	want := map[string]bool{}
	for _, f := range stored {
		clean, err := CleanPath(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		want[clean] = true
		for dir := filepath.ToSlash(filepath.Dir(clean)); dir != "."; dir = filepath.ToSlash(filepath.Dir(dir)) {
			want[dir+"/"] = true
		}
		got, err := os.ReadFile(filepath.Join(d.Path(), filepath.FromSlash(clean)))
		if err != nil || !bytes.Equal(got, f.Content) {
			t.Errorf("%s = %q, %v; want %q", clean, got, err, f.Content)
		}
	}
	var extra []string
	err := filepath.WalkDir(d.Path(), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.Path(), p)
		if rel == "." {
			return nil
		}
		key := filepath.ToSlash(rel)
		switch {
		case e.IsDir():
			key += "/"
		case !e.Type().IsRegular():
			key += " (" + e.Type().String() + ")"
		}
		if !want[key] {
			extra = append(extra, key)
		}
		if e.IsDir() && !want[key] {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(extra) > 0 {
		if len(extra) > 10 {
			extra = append(extra[:10], "…")
		}
		t.Errorf("left in the workspace: %v", extra)
	}
}

// timedSync runs Sync and fails the test if it takes longer than budget.
func timedSync(t testing.TB, ctx context.Context, d *Dir, files []File, budget time.Duration) (Report, error) {
	t.Helper()
	start := time.Now()
	rep, err := d.Sync(ctx, files)
	took := time.Since(start)
	t.Logf("sync took %v: %+v", took, rep)
	if took > budget {
		t.Errorf("sync took %v, over %v", took, budget)
	}
	return rep, err
}

func TestSyncNeverReadsHugeFiles(t *testing.T) {
	stored := []File{
		{Path: "app/main.py", Content: []byte("print(1)\n")},
		{Path: "data.bin", Content: []byte("small")},
	}
	for _, tc := range []struct {
		name string
		huge string // where the 2 GiB file goes
	}{
		{"unknown file", "dump.bin"},
		{"in a stored directory", "app/dump.bin"},
		{"in an unknown directory", "cache/x/dump.bin"},
		{"at a stored path", "data.bin"},
		{"tool cache", "__pycache__/main.cpython-312.pyc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestEnv(t).dir
			if _, err := d.Sync(t.Context(), stored); err != nil {
				t.Fatal(err)
			}
			makeSparse(t, d.Path(), tc.huge, hugeSize)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rep, err := timedSync(t, t.Context(), d, stored, syncBudget)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > allocBudget {
				t.Errorf("sync allocated %d MiB next to a 2 GiB file", grew>>20)
			}
			if rep.Oversized != 1 || !slices.Contains(rep.Examples, tc.huge) {
				t.Errorf("report = %+v, want the 2 GiB file counted and named", rep)
			}
			assertExactly(t, d, stored)
		})
	}
}

func TestFilesSkipsHugeFiles(t *testing.T) {
	d := newTestEnv(t).dir
	mustWrite(t, d, "app/main.py", "print(1)\n")
	makeSparse(t, d.Path(), "app/dump.bin", hugeSize)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	files, rep, err := d.Files(t.Context())
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > allocBudget {
		t.Errorf("Files allocated %d MiB next to a 2 GiB file", grew>>20)
	}
	if got := filePaths(files); !slices.Equal(got, []string{"app/main.py"}) {
		t.Errorf("Files = %v, want only app/main.py", got)
	}
	if rep.Oversized != 1 || !slices.Equal(rep.Examples, []string{"app/dump.bin"}) {
		t.Errorf("report = %+v, want app/dump.bin as oversized", rep)
	}
}

func TestFilesSizeLimitBoundary(t *testing.T) {
	d := newTestEnv(t).dir
	d.Limits.MaxFileSize = 10
	mustWrite(t, d, "at.txt", strings.Repeat("a", 10))
	mustWrite(t, d, "over.txt", strings.Repeat("o", 11))
	files, rep, err := d.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := filePaths(files); !slices.Equal(got, []string{"at.txt"}) || rep.Oversized != 1 {
		t.Errorf("Files = %v, %+v; want at.txt kept and over.txt skipped", got, rep)
	}
}

func TestSyncRemovesDeepTrees(t *testing.T) {
	stored := []File{
		{Path: "pkg/a.py", Content: []byte("a = 1\n")},
		{Path: "README.md", Content: []byte("# hi\n")},
	}
	for _, tc := range []struct {
		name, at string
		depth    int
	}{
		{"unknown top-level directory", "deep", deepTree},
		{"at a stored file's path", "README.md", deepTree},
		// The same removal as above; shallower to keep the test quick.
		{"inside a stored directory", "pkg/deep", 1_000},
		{"in a tool cache", ".pytest_cache", 1_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// On tmpfs, so that the time measured is the walk's, not the disk's.
			d := newTestEnvIn(t, memTempDir(t)).dir
			if _, err := d.Sync(t.Context(), stored); err != nil {
				t.Fatal(err)
			}
			if tc.at == "README.md" {
				if err := os.Remove(filepath.Join(d.Path(), "README.md")); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			makeDeep(t, d.Path(), tc.at, tc.depth)
			t.Logf("making %d levels took %v", tc.depth, time.Since(start))
			rep, err := timedSync(t, t.Context(), d, stored, syncBudget)
			if err != nil {
				t.Fatal(err)
			}
			// The chain, its file and the directory it hangs from.
			if rep.TooDeep != 1 || rep.Removed != tc.depth+2 || rep.Examples[0] != tc.at {
				t.Errorf("report = %+v, want one too-deep tree of %d entries at %s", rep, tc.depth+2, tc.at)
			}
			assertExactly(t, d, stored)
		})
	}
}

func TestFilesStopsAtTheDepthCap(t *testing.T) {
	d := newTestEnvIn(t, memTempDir(t)).dir
	mustWrite(t, d, "top.py", "x\n")
	// A file at the deepest valid path is collected; below it, nothing.
	deepest := strings.Repeat("d/", maxDepth-1) + "f.py"
	mustWrite(t, d, deepest, "deep\n")
	makeDeep(t, d.Path(), "deep", deepTree)
	start := time.Now()
	files, rep, err := d.Files(t.Context())
	took := time.Since(start)
	t.Logf("Files over a %d-deep tree took %v", deepTree, took)
	if err != nil {
		t.Fatal(err)
	}
	if took > syncBudget {
		t.Errorf("Files took %v, over %v", took, syncBudget)
	}
	if got := filePaths(files); !slices.Equal(got, []string{deepest, "top.py"}) {
		t.Errorf("Files = %v", got)
	}
	atCap := "deep" + strings.Repeat("/d", maxDepth-1)
	if rep.TooDeep != 1 || !slices.Equal(rep.Examples, []string{atCap}) {
		t.Errorf("report = %+v, want %s named", rep, atCap)
	}
	if _, err := d.Sync(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
}

// cancelAfter is a context whose Err turns to Canceled on its n+1st call,
// so a walk can be stopped at a known point without racing a timer.
type cancelAfter struct {
	context.Context
	left atomic.Int64
}

func (c *cancelAfter) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestSyncStopsWhenCancelled(t *testing.T) {
	stored := []File{{Path: "pkg/a.py", Content: []byte("a = 1\n")}}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithTimeout(context.Background(), -time.Second)
	defer cancel2()
	countdown := func(n int64) func(*testing.T) context.Context {
		return func(*testing.T) context.Context {
			c := &cancelAfter{Context: context.Background()}
			c.left.Store(n)
			return c
		}
	}
	wide := func(t *testing.T, d *Dir) int {
		makeWide(t, d.Path(), "pkg/junk", 20, 250)
		return 20*251 + 1
	}
	deep := func(depth int) func(*testing.T, *Dir) int {
		return func(t *testing.T, d *Dir) int {
			makeDeep(t, d.Path(), "pkg/junk", depth)
			return depth + 2
		}
	}
	const timer = 20 * time.Millisecond
	for _, tc := range []struct {
		name    string
		tree    func(*testing.T, *Dir) int // returns its number of entries
		ctx     func(*testing.T) context.Context
		want    error
		budget  time.Duration
		midWalk bool // some but not all of the tree went
	}{
		{"cancelled before/wide", wide, func(*testing.T) context.Context { return cancelled }, context.Canceled, time.Second, false},
		{"cancelled before/deep", deep(3_000), func(*testing.T) context.Context { return cancelled }, context.Canceled, time.Second, false},
		{"deadline passed/deep", deep(3_000), func(*testing.T) context.Context { return expired }, context.DeadlineExceeded, time.Second, false},
		// Three checks pass, the fourth (after ctxEvery*3 entries) fails.
		{"cancelled while walking/wide", wide, countdown(3), context.Canceled, syncBudget, true},
		{"cancelled while walking/deep", deep(3_000), countdown(3), context.Canceled, syncBudget, true},
		// A real timer: removing the whole tree takes far longer than it.
		{"timed out while walking/deep", deep(deepTree), func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), timer)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded, timer + 2*time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestEnvIn(t, memTempDir(t)).dir
			if _, err := d.Sync(t.Context(), stored); err != nil {
				t.Fatal(err)
			}
			total := tc.tree(t, d)
			rep, err := timedSync(t, tc.ctx(t), d, stored, tc.budget)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Sync = %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "sync: ") {
				t.Errorf("error %q is not wrapped with context", err)
			}
			if tc.midWalk {
				if rep.Removed == 0 || rep.Removed >= total {
					t.Errorf("removed %d of %d entries, want it stopped midway", rep.Removed, total)
				}
			} else if rep.Removed != 0 {
				t.Errorf("removed %d entries after cancellation", rep.Removed)
			}
			if _, err := os.Lstat(filepath.Join(d.Path(), "pkg", "junk")); err != nil {
				t.Errorf("the tree should still be there: %v", err)
			}
			// The next sync with a live context finishes the job.
			if _, err := d.Sync(t.Context(), stored); err != nil {
				t.Fatal(err)
			}
			assertExactly(t, d, stored)
		})
	}
}

func TestFilesStopsWhenCancelled(t *testing.T) {
	d := newTestEnv(t).dir
	makeWide(t, d.Path(), "junk", 4, 250)
	c := &cancelAfter{Context: context.Background()}
	c.left.Store(1)
	if _, _, err := d.Files(c); !errors.Is(err, context.Canceled) {
		t.Fatalf("Files = %v, want Canceled", err)
	}
}

func TestSyncComparesContent(t *testing.T) {
	const stored = "x = 1\n"
	for _, tc := range []struct {
		name, onDisk string
		maxSize      int64
		rewritten    bool
		oversized    int
	}{
		{"equal", stored, 0, false, 0},
		{"same size, one byte differs", "x = 2\n", 0, true, 0},
		{"same size, last byte differs", "x = 1\r", 0, true, 0},
		{"shorter", "x = \n", 0, true, 0},
		{"longer", "x = 10\n", 0, true, 0},
		{"empty", "", 0, true, 0},
		{"over the size limit", stored + stored, int64(len(stored)), true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestEnv(t).dir
			d.Limits.MaxFileSize = tc.maxSize
			files := []File{{Path: "pkg/a.py", Content: []byte(stored)}}
			mustWrite(t, d, "pkg/a.py", tc.onDisk)
			before, err := os.Stat(filepath.Join(d.Path(), "pkg", "a.py"))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := d.Sync(t.Context(), files)
			if err != nil {
				t.Fatal(err)
			}
			after, err := os.Stat(filepath.Join(d.Path(), "pkg", "a.py"))
			if err != nil {
				t.Fatal(err)
			}
			if rewritten := !os.SameFile(before, after); rewritten != tc.rewritten || (rep.Written == 1) != tc.rewritten {
				t.Errorf("rewritten = %v (report %+v), want %v", rewritten, rep, tc.rewritten)
			}
			if rep.Oversized != tc.oversized || rep.Removed != 0 {
				t.Errorf("report = %+v, want %d oversized and nothing removed", rep, tc.oversized)
			}
			assertExactly(t, d, files)
		})
	}
}

func TestSyncReplacesWrongKinds(t *testing.T) {
	e := newTestEnv(t)
	d := e.dir
	stored := []File{
		{Path: "a.py", Content: []byte("a\n")},
		{Path: "pkg/b.py", Content: []byte("b\n")},
		{Path: "pkg/sub/c.py", Content: []byte("c\n")},
		{Path: "tests/test_a.py", Content: []byte("t\n")},
	}
	root := d.Path()
	// A directory where a file is stored, a file where a directory is, and
	// links where both are, pointing outside.
	if err := os.MkdirAll(filepath.Join(root, "a.py", "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(root, "a.py", "inner", "x"), "x")
	writeTestFile(t, filepath.Join(root, "tests"), "not a directory")
	if err := os.MkdirAll(filepath.Join(root, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(e.outside, filepath.Join(root, "pkg", "b.py")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(e.sentinel, filepath.Join(root, "pkg", "sub")); err != nil {
		t.Fatal(err)
	}
	rep, err := d.Sync(t.Context(), stored)
	if err != nil {
		t.Fatal(err)
	}
	// a.py/inner/x, a.py/inner, a.py, tests, pkg/b.py, pkg/sub.
	if rep.Removed != 6 || rep.Written != 4 {
		t.Errorf("report = %+v, want 6 removed and 4 written", rep)
	}
	assertExactly(t, d, stored)
	e.assertOutsideUntouched(t)
}

func TestSyncEntryCap(t *testing.T) {
	t.Run("stored set over the cap", func(t *testing.T) {
		d := newTestEnv(t).dir
		d.Limits.MaxEntries = 10
		mustWrite(t, d, "keep.py", "k\n")
		var files []File
		for i := range 6 {
			files = append(files, File{Path: fmt.Sprintf("p%d/f.py", i), Content: []byte("x")})
		}
		_, err := d.Sync(t.Context(), files)
		if !errors.Is(err, ErrTooManyEntries) || !strings.Contains(err.Error(), "cap of 10") {
			t.Fatalf("Sync = %v, want ErrTooManyEntries naming the cap", err)
		}
		assertExactly(t, d, []File{{Path: "keep.py", Content: []byte("k\n")}})
	})
	t.Run("pollution over the cap is still cleaned", func(t *testing.T) {
		d := newTestEnv(t).dir
		d.Limits.MaxEntries = 10
		stored := []File{{Path: "pkg/a.py", Content: []byte("a\n")}}
		makeWide(t, d.Path(), "junk", 4, 250)
		makeWide(t, d.Path(), "pkg", 2, 250)
		for i := range 300 {
			writeTestFile(t, filepath.Join(d.Path(), fmt.Sprintf("loose%03d.txt", i)), "x")
		}
		rep, err := d.Sync(t.Context(), stored)
		if err != nil {
			t.Fatal(err)
		}
		if want := 4*251 + 1 + 2*251 + 300; rep.Removed != want {
			t.Errorf("removed %d, want %d", rep.Removed, want)
		}
		assertExactly(t, d, stored)
	})
}

func TestFilesEntryCap(t *testing.T) {
	d := newTestEnv(t).dir
	d.Limits.MaxEntries = 50
	makeWide(t, d.Path(), "junk", 2, 30)
	_, _, err := d.Files(t.Context())
	if !errors.Is(err, ErrTooManyEntries) || !strings.Contains(err.Error(), "cap of 50") {
		t.Fatalf("Files = %v, want ErrTooManyEntries naming the cap", err)
	}
	d.Limits.MaxEntries = 63 // junk, 2 directories, 60 files
	if files, _, err := d.Files(t.Context()); err != nil || len(files) != 60 {
		t.Fatalf("Files at the cap = %d files, %v", len(files), err)
	}
}

func TestCleanPathDepthCap(t *testing.T) {
	atCap := strings.Repeat("d/", maxDepth-1) + "f.py"
	if _, err := CleanPath(atCap); err != nil {
		t.Errorf("CleanPath(%d segments) = %v", maxDepth, err)
	}
	if _, err := CleanPath("./" + atCap); err != nil {
		t.Errorf("CleanPath(./ + %d segments) = %v", maxDepth, err)
	}
	if _, err := CleanPath("d/" + atCap); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("CleanPath(%d segments) = %v, want ErrInvalidPath", maxDepth+1, err)
	}
}

func TestReportExamples(t *testing.T) {
	var r Report
	for i := range maxExamples + 2 {
		r.note(fmt.Sprintf("junk%d", i), false)
	}
	r.note("big.bin", true)
	r.note(strings.Repeat("é", maxExampleLen), true)
	if len(r.Examples) != maxExamples || r.Examples[0] != "big.bin" || r.Examples[2] != "junk0" {
		t.Fatalf("examples = %q, want notable ones first, then the earliest others", r.Examples)
	}
	if long := r.Examples[1]; len(long) > maxExampleLen+len("…") || !strings.HasSuffix(long, "…") || !strings.HasPrefix(long, "éé") {
		t.Errorf("long example kept as %q", long)
	}
	for range maxExamples {
		r.note("more.bin", true)
	}
	if len(r.Examples) != maxExamples || r.Examples[0] != "big.bin" {
		t.Errorf("examples = %q after many notable ones", r.Examples)
	}
	r.Written, r.Removed, r.Oversized = 1, 2, 3
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("synced", "sync", r)
	for _, want := range []string{"sync.written=1", "sync.removed=2", "sync.oversized=3", "sync.too_deep=0", "big.bin"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %q lacks %q", buf.String(), want)
		}
	}
}
