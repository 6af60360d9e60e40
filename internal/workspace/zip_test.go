package workspace

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// readZip opens an archive and returns its entries by name, in order.
func readZip(t *testing.T, data []byte) ([]*zip.File, map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a valid zip: %v", err)
	}
	contents := make(map[string][]byte, len(zr.File))
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		contents[f.Name] = b
	}
	return zr.File, contents
}

func TestWriteTaskZip(t *testing.T) {
	mod := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	in := []File{
		{Path: "tests/test_main.py", Content: []byte("def test():\n    pass\n")},
		{Path: "./app/main.py", Content: []byte("print('hi')\n")},
		{Path: "data/blob.bin", Content: []byte{0, 1, 2, 0xff}},
		{Path: "unicodé.md", Content: []byte("é\n")},
		{Path: "empty", Content: nil},
	}
	m := Manifest{TaskID: testTaskID, Status: "completed", CreatedAt: "2025-03-04T04:00:00.000000Z",
		UpdatedAt: "2025-03-04T04:06:07.000000Z", Iterations: 3, FilesCount: 5, ArtifactsCount: 9,
		APIBaseURL: "http://localhost:8000"}
	var buf bytes.Buffer
	if err := WriteTaskZip(&buf, testTaskID, in, m.Map(), mod); err != nil {
		t.Fatal(err)
	}
	entries, contents := readZip(t, buf.Bytes())
	dir := "task_" + testTaskID + "/"
	var names []string
	for _, f := range entries {
		names = append(names, f.Name)
	}
	want := []string{dir, dir + "app/main.py", dir + "data/blob.bin", dir + "empty", dir + "tests/test_main.py",
		dir + "unicodé.md", dir + "manifest.json"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("entries = %v\nwant %v", names, want)
	}
	for _, f := range entries {
		if !f.Modified.Equal(mod) {
			t.Errorf("%s modified = %v, want %v", f.Name, f.Modified, mod.UTC())
		}
		// The legacy MS-DOS fields have no zone; they must hold the UTC wall clock.
		if h, min := f.ModifiedTime>>11, f.ModifiedTime>>5&0x3f; h != 4 || min != 6 {
			t.Errorf("%s MS-DOS time = %02d:%02d, want 04:06 (UTC)", f.Name, h, min)
		}
		if f.NonUTF8 {
			t.Errorf("%s is not flagged as UTF-8", f.Name)
		}
		switch {
		case f.Name == dir:
			if !f.Mode().IsDir() {
				t.Errorf("%s mode = %v, want a directory", f.Name, f.Mode())
			}
		default:
			if f.Mode() != 0o644 {
				t.Errorf("%s mode = %v, want 0644", f.Name, f.Mode())
			}
			if f.Method != zip.Deflate {
				t.Errorf("%s method = %d, want deflate", f.Name, f.Method)
			}
		}
	}
	for _, f := range in {
		clean, _ := CleanPath(f.Path)
		if got := contents[dir+clean]; !bytes.Equal(got, f.Content) {
			t.Errorf("%s = %q, want %q", clean, got, f.Content)
		}
	}
	var got Manifest
	if err := json.Unmarshal(contents[dir+"manifest.json"], &got); err != nil {
		t.Fatal(err)
	}
	m.Files = []ManifestFile{
		{Path: "app/main.py", Size: 12, SHA256: sha256Hex([]byte("print('hi')\n"))},
		{Path: "data/blob.bin", Size: 4, SHA256: sha256Hex([]byte{0, 1, 2, 0xff})},
		{Path: "empty", Size: 0, SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{Path: "tests/test_main.py", Size: 21, SHA256: sha256Hex([]byte("def test():\n    pass\n"))},
		{Path: "unicodé.md", Size: 3, SHA256: sha256Hex([]byte("é\n"))},
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("manifest =\n%+v\nwant\n%+v", got, m)
	}
	var again bytes.Buffer
	if err := WriteTaskZip(&again, testTaskID, in, m.Map(), mod); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Fatalf("same input gave a different archive (err %v)", err)
	}
}

func TestWriteTaskZipManifestDefaults(t *testing.T) {
	var buf bytes.Buffer
	in := map[string]any{"files": "overridden", "extra": 1, "task_id": ""}
	if err := WriteTaskZip(&buf, testTaskID, nil, in, time.Time{}); err != nil {
		t.Fatal(err)
	}
	entries, contents := readZip(t, buf.Bytes())
	if len(entries) != 2 {
		t.Fatalf("entries = %d, want dir + manifest", len(entries))
	}
	if want := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC); !entries[0].Modified.Equal(want) {
		t.Fatalf("zero time stored as %v, want %v", entries[0].Modified, want)
	}
	var m map[string]any
	if err := json.Unmarshal(contents["task_"+testTaskID+"/manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m["task_id"] != testTaskID || m["extra"] != float64(1) || !reflect.DeepEqual(m["files"], []any{}) {
		t.Fatalf("manifest = %v", m)
	}
	if in["files"] != "overridden" || in["task_id"] != "" {
		t.Fatalf("WriteTaskZip changed the caller's map: %v", in)
	}
}

func TestWriteTaskZipRejectsBadInput(t *testing.T) {
	tests := []struct {
		name   string
		taskID string
		files  []File
		want   string
	}{
		{"traversal", testTaskID, []File{{Path: "ok.py"}, {Path: "../evil.py"}}, "parent directory"},
		{"absolute", testTaskID, []File{{Path: "/etc/passwd"}}, "absolute"},
		{"backslash", testTaskID, []File{{Path: `a\b`}}, "backslash"},
		{"empty", testTaskID, []File{{Path: ""}}, "empty"},
		{"duplicate", testTaskID, []File{{Path: "a.py"}, {Path: "./a.py"}}, "duplicate"},
		{"file and dir", testTaskID, []File{{Path: "a"}, {Path: "a/b"}}, "both a file and a directory"},
		{"manifest clash", testTaskID, []File{{Path: "manifest.json"}, {Path: "manifest.aiplatform.json"}}, "clash"},
		{"bad task id", "../x", nil, "invalid task id"},
		{"unencodable manifest", testTaskID, nil, "encode manifest"},
		{"other task's manifest", testTaskID, nil, "manifest task_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			manifest := map[string]any{"status": "completed"}
			switch tt.name {
			case "unencodable manifest":
				manifest["bad"] = make(chan int)
			case "other task's manifest":
				manifest["task_id"] = "22222222-2222-4222-8222-222222222222"
			}
			var buf bytes.Buffer
			err := WriteTaskZip(&buf, tt.taskID, tt.files, manifest, time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Fatalf("%d bytes written before the error", buf.Len())
			}
		})
	}
	var buf bytes.Buffer
	err := WriteTaskZip(&buf, testTaskID, []File{{Path: "../x"}}, nil, time.Now())
	if !errors.Is(err, ErrInvalidPath) {
		t.Fatalf("path error %v does not match ErrInvalidPath", err)
	}
}

// TestWriteTaskZipProjectManifest: a project with its own manifest.json keeps
// it; the generated manifest moves aside.
func TestWriteTaskZipProjectManifest(t *testing.T) {
	var buf bytes.Buffer
	own := []byte(`{"manifest_version": 3}`)
	if err := WriteTaskZip(&buf, testTaskID, []File{{Path: "manifest.json", Content: own}}, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got[f.Name], _ = io.ReadAll(rc)
		_ = rc.Close()
	}
	dir := "task_" + testTaskID + "/"
	if !bytes.Equal(got[dir+"manifest.json"], own) {
		t.Fatalf("the project's manifest.json = %q", got[dir+"manifest.json"])
	}
	var m struct {
		TaskID string         `json:"task_id"`
		Files  []ManifestFile `json:"files"`
	}
	if err := json.Unmarshal(got[dir+"manifest.aiplatform.json"], &m); err != nil || m.TaskID != testTaskID ||
		len(m.Files) != 1 || m.Files[0].Path != "manifest.json" {
		t.Fatalf("generated manifest %s (%v)", got[dir+"manifest.aiplatform.json"], err)
	}
}

func BenchmarkWriteTaskZip(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	var in []File
	for i := range 50 {
		var sb strings.Builder
		for sb.Len() < 20_000 { // 50 files x 20 KB = ~1 MB of Python-like text
			fmt.Fprintf(&sb, "def f_%d_%d(x):\n    return x * %d\n\n", i, sb.Len(), r.IntN(1000))
		}
		in = append(in, File{Path: fmt.Sprintf("pkg%d/mod_%02d.py", i%5, i), Content: []byte(sb.String())})
	}
	manifest := Manifest{TaskID: testTaskID, Status: "completed"}.Map()
	mod := time.Now()
	var total int64
	for _, f := range in {
		total += int64(len(f.Content))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteTaskZip(io.Discard, testTaskID, in, manifest, mod); err != nil {
			b.Fatal(err)
		}
	}
}
