package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"ai-platform/internal/store"
)

// TestFilesPaging: without limit every file comes back (the reference's
// shape); with limit the pages, followed by next_cursor, cover every path
// once, in order; bad limits are 400s.
func TestFilesPaging(t *testing.T) {
	f := newFixture(t, nil)
	f.expectStart()
	id := f.create("k", "a task")
	var files []store.File
	for i := range 7 {
		files = append(files, store.File{Path: fmt.Sprintf("pkg/m%d.py", i), Content: []byte("x = 1\n")})
	}
	if err := f.store.PutFiles(t.Context(), id, files, nil, store.FileLimits{}); err != nil {
		t.Fatal(err)
	}
	type page struct {
		Total    int                 `json:"total"`
		ByType   map[string][]string `json:"by_type"`
		AllFiles []struct {
			Path string `json:"path"`
		} `json:"all_files"`
		Next *string `json:"next_cursor"`
	}
	get := func(query string) (int, page) {
		w := f.do("GET", "/api/tasks/"+id+"/files"+query, "k", nil)
		var p page
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		return w.Code, p
	}
	if code, all := get(""); code != 200 || all.Total != 7 || len(all.AllFiles) != 7 || all.Next != nil || len(all.ByType["code"]) != 7 {
		t.Fatalf("unpaged: %d %+v", code, all)
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		code, p := get("?limit=3&cursor=" + cursor)
		if code != 200 || p.Total != 7 || pages > 3 {
			t.Fatalf("page %d: %d %+v", pages, code, p)
		}
		for _, f := range p.AllFiles {
			seen = append(seen, f.Path)
		}
		if p.Next == nil {
			break
		}
		cursor = *p.Next
	}
	if strings.Join(seen, ",") != "pkg/m0.py,pkg/m1.py,pkg/m2.py,pkg/m3.py,pkg/m4.py,pkg/m5.py,pkg/m6.py" {
		t.Fatalf("pages covered %v", seen)
	}
	// A page that ends exactly at the last file has no next_cursor.
	if _, p := get("?limit=7"); p.Next != nil || len(p.AllFiles) != 7 {
		t.Fatalf("limit = count: %+v", p)
	}
	for _, bad := range []string{"0", "1001", "x", "-1"} {
		if code, _ := get("?limit=" + bad); code != 400 {
			t.Errorf("limit=%s: %d", bad, code)
		}
	}
	if code, _ := get("?limit=1000"); code != 200 {
		t.Errorf("limit=1000: %d", code)
	}
}
