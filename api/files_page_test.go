package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"ai-platform/internal/store"
)

// filesBody is GET /files decoded with the types clients rely on:
// all_files and by_type hold path strings, files holds metadata objects.
type filesBody struct {
	TaskID   string              `json:"task_id"`
	Total    int                 `json:"total"`
	ByType   map[string][]string `json:"by_type"`
	AllFiles []string            `json:"all_files"`
	Files    []struct {
		Path      string `json:"path"`
		Size      int64  `json:"size"`
		SHA256    string `json:"sha256"`
		MimeType  string `json:"mime_type"`
		Language  string `json:"language"`
		UpdatedAt string `json:"updated_at"`
	} `json:"files"`
	Next *string `json:"next_cursor"`
}

func (b filesBody) paths() []string {
	out := make([]string, 0, len(b.Files))
	for _, f := range b.Files {
		out = append(out, f.Path)
	}
	return out
}

// filesFixture is a task with seven Python files pkg/m0.py..pkg/m6.py.
func filesFixture(t *testing.T) (func(query string) (int, filesBody, string), []string) {
	t.Helper()
	f := newFixture(t, nil)
	f.expectStart()
	id := f.create("k", "a task")
	var files []store.File
	var paths []string
	for i := range 7 {
		p := fmt.Sprintf("pkg/m%d.py", i)
		files = append(files, store.File{Path: p, Content: []byte("x = 1\n")})
		paths = append(paths, p)
	}
	if err := f.store.PutFiles(t.Context(), id, files, nil, store.FileLimits{}); err != nil {
		t.Fatal(err)
	}
	return func(query string) (int, filesBody, string) {
		w := f.do("GET", "/api/tasks/"+id+"/files"+query, "k", nil)
		var b filesBody
		if w.Code == 200 {
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
				t.Fatalf("%s: body %s does not decode into the documented shape: %v", query, w.Body, err)
			}
		}
		return w.Code, b, w.Body.String()
	}, paths
}

// TestFilesIgnoresLimitAndOrder: the parameters that browser clients send
// (limit, order, cursor) never shorten or reorder all_files, by_type or
// files; every list names every file.
func TestFilesIgnoresLimitAndOrder(t *testing.T) {
	get, paths := filesFixture(t)
	for _, q := range []string{"", "?limit=1&order=desc", "?limit=0", "?limit=x&order=sideways", "?cursor=pkg/m3.py&limit=2", "?order=asc"} {
		t.Run(q, func(t *testing.T) {
			code, b, raw := get(q)
			if code != 200 {
				t.Fatalf("status %d: %s", code, raw)
			}
			if b.Total != 7 || !slices.Equal(b.AllFiles, paths) || !slices.Equal(b.ByType["code"], paths) ||
				!slices.Equal(b.paths(), paths) || b.Next != nil {
				t.Fatalf("every list must name every file: %s", raw)
			}
			for _, cat := range []string{"config", "docs", "tests", "other"} {
				if l, ok := b.ByType[cat]; !ok || len(l) != 0 {
					t.Errorf("by_type[%s] = %v (present %v), want an empty list", cat, l, ok)
				}
			}
			m := b.Files[0]
			if m.Size != 6 || len(m.SHA256) != 64 || m.Language != "python" || m.UpdatedAt == "" {
				t.Errorf("file metadata %+v", m)
			}
		})
	}
}

// TestFilesPaging: files_limit pages the files list only; following
// next_cursor through files_cursor covers every path once, in order, while
// all_files, by_type and total stay whole on every page. Bad files_limit
// values are 400s.
func TestFilesPaging(t *testing.T) {
	get, paths := filesFixture(t)
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		code, p, raw := get("?files_limit=3&files_cursor=" + cursor)
		if code != 200 || p.Total != 7 || pages > 3 || len(p.Files) > 3 {
			t.Fatalf("page %d: %d %s", pages, code, raw)
		}
		if !slices.Equal(p.AllFiles, paths) || len(p.ByType["code"]) != 7 {
			t.Fatalf("page %d: all_files and by_type must not page: %s", pages, raw)
		}
		seen = append(seen, p.paths()...)
		if p.Next == nil {
			break
		}
		cursor = *p.Next
	}
	if !slices.Equal(seen, paths) {
		t.Fatalf("pages covered %v", seen)
	}
	cases := []struct {
		query string
		code  int
		files string
		next  string
	}{
		{"?files_limit=7", 200, strings.Join(paths, ","), ""},
		{"?files_limit=1000", 200, strings.Join(paths, ","), ""},
		{"?files_limit=2&files_cursor=pkg/m4.py", 200, "pkg/m5.py,pkg/m6.py", ""},
		{"?files_limit=1&files_cursor=pkg/m4", 200, "pkg/m4.py", "pkg/m4.py"},
		{"?files_cursor=pkg/m5.py", 200, "pkg/m6.py", ""},
		{"?files_limit=2&files_cursor=zzz", 200, "", ""},
		{"?files_limit=0", 400, "", ""},
		{"?files_limit=1001", 400, "", ""},
		{"?files_limit=x", 400, "", ""},
		{"?files_limit=-1", 400, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			code, p, raw := get(tc.query)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, raw)
			}
			if code != 200 {
				if !strings.Contains(raw, "files_limit must be a whole number between 1 and 1000") {
					t.Fatalf("400 must name the parameter: %s", raw)
				}
				return
			}
			if got := strings.Join(p.paths(), ","); got != tc.files {
				t.Errorf("files %q, want %q", got, tc.files)
			}
			next := ""
			if p.Next != nil {
				next = *p.Next
			}
			if next != tc.next {
				t.Errorf("next_cursor %q, want %q", next, tc.next)
			}
			if p.Total != 7 || len(p.AllFiles) != 7 {
				t.Errorf("total %d, all_files %d: both stay the task's whole file set", p.Total, len(p.AllFiles))
			}
		})
	}
}
