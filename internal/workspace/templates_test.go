package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"ai-platform/internal/task"
)

// fixtureFS is a templates root with two templates, caches and a stray file.
func fixtureFS() fstest.MapFS {
	return fstest.MapFS{
		"README.md": {Data: []byte("not a template")},
		"python_cli/template.json": {Data: []byte(`{
			"id": "ignored",
			"description": "A small CLI",
			"clarification_questions": [
				{"id": "cli_name", "text": "What is the command called?"},
				{"text": "Which Output format?", "type": "choice", "choices": ["json", "text"], "required": false, "rationale": "Affects printing."}
			]}`)},
		"python_cli/cli.py":                          {Data: []byte("print('hi')\n")},
		"python_cli/tests/test_cli.py":               {Data: []byte("def test_x():\n    pass\n")},
		"python_cli/__pycache__/cli.cpython-312.pyc": {Data: []byte{0, 1}},
		"python_cli/tests/x.pyc":                     {Data: []byte{0, 2}},
		"python_cli/.pytest_cache/v/cache":           {Data: []byte("{}")},
		"python_cli/sub/template.json":               {Data: []byte("nested files of that name are ordinary files")},
		"python_fastapi/app/main.py":                 {Data: []byte("app = None\n")},
		"python_fastapi/requirements.txt":            {Data: []byte("fastapi\n")},
		".hidden/x.py":                               {Data: []byte("skipped")},
	}
}

func mustLoad(t *testing.T, fsys fs.FS) *Catalog {
	t.Helper()
	c, err := LoadCatalog(fsys)
	if err != nil {
		t.Fatalf("LoadCatalog: %v", err)
	}
	return c
}

func TestLoadCatalog(t *testing.T) {
	c := mustLoad(t, fixtureFS())
	list := c.List()
	if len(list) != 2 || list[0].ID != "python_cli" || list[1].ID != "python_fastapi" {
		t.Fatalf("List = %+v, want python_cli, python_fastapi", list)
	}
	if list[0].Files != nil {
		t.Fatalf("List should not carry file contents")
	}
	cli, ok := c.Get("python_cli")
	if !ok {
		t.Fatal("Get(python_cli) not found")
	}
	if cli.Description != "A small CLI" {
		t.Errorf("Description = %q", cli.Description)
	}
	var paths []string
	for _, f := range cli.Files {
		paths = append(paths, f.Path)
	}
	wantPaths := []string{"cli.py", "sub/template.json", "tests/test_cli.py"}
	if !reflect.DeepEqual(paths, wantPaths) {
		t.Fatalf("files = %v, want %v", paths, wantPaths)
	}
	wantQ := []task.Question{
		{ID: "cli_name", Text: "What is the command called?", Type: "text", Required: true, Rationale: defaultQuestionRationale},
		{ID: "which_output_format", Text: "Which Output format?", Type: "choice", Choices: []string{"json", "text"}, Rationale: "Affects printing."},
	}
	if !reflect.DeepEqual(cli.Questions, wantQ) {
		t.Fatalf("questions =\n%+v\nwant\n%+v", cli.Questions, wantQ)
	}
	fast, _ := c.Get("  python_fastapi ")
	if fast.Description != "" || fast.Questions != nil || len(fast.Files) != 2 {
		t.Fatalf("python_fastapi = %+v", fast)
	}
	sums := c.Summaries()
	if len(sums) != 2 || sums[0] != cli.Summary() {
		t.Fatalf("Summaries = %+v", sums)
	}
}

func TestTemplateHashIsDefinedOverSortedFiles(t *testing.T) {
	c := mustLoad(t, fixtureFS())
	tpl, _ := c.Get("python_fastapi")
	h := sha256.New()
	h.Write([]byte("app/main.py\x00app = None\n\x00requirements.txt\x00fastapi\n\x00"))
	if want := hex.EncodeToString(h.Sum(nil)); tpl.Hash != want {
		t.Fatalf("Hash = %s, want %s", tpl.Hash, want)
	}
}

func TestTemplateHashStabilityAndSensitivity(t *testing.T) {
	base := mustLoad(t, fixtureFS())
	again := mustLoad(t, fixtureFS())
	h := func(c *Catalog, id string) string { tpl, _ := c.Get(id); return tpl.Hash }
	if h(base, "python_cli") != h(again, "python_cli") {
		t.Fatal("same content gave different hashes across loads")
	}
	tests := []struct {
		name   string
		mutate func(fstest.MapFS)
		same   bool
	}{
		{"content change", func(m fstest.MapFS) { m["python_cli/cli.py"] = &fstest.MapFile{Data: []byte("print('ho')\n")} }, false},
		{"rename", func(m fstest.MapFS) {
			m["python_cli/cli2.py"] = m["python_cli/cli.py"]
			delete(m, "python_cli/cli.py")
		}, false},
		{"added file", func(m fstest.MapFS) { m["python_cli/new.py"] = &fstest.MapFile{Data: nil} }, false},
		{"boundary shift", func(m fstest.MapFS) {
			m["python_cli/cli.p"] = &fstest.MapFile{Data: []byte("y" + "print('hi')\n")}
			delete(m, "python_cli/cli.py")
		}, false},
		{"manifest change only", func(m fstest.MapFS) { m["python_cli/template.json"] = &fstest.MapFile{Data: []byte(`{}`)} }, true},
		{"cache change only", func(m fstest.MapFS) { m["python_cli/__pycache__/y.pyc"] = &fstest.MapFile{Data: []byte("z")} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixtureFS()
			tt.mutate(m)
			got := h(mustLoad(t, m), "python_cli")
			if (got == h(base, "python_cli")) != tt.same {
				t.Fatalf("hash equal = %v, want %v", !tt.same, tt.same)
			}
		})
	}
}

func TestLoadCatalogRejectsBadManifests(t *testing.T) {
	tests := []struct {
		name, manifest, want string
	}{
		{"syntax", `{"description": `, "unexpected EOF"},
		{"not object", `["x"]`, "must be a JSON object"},
		{"null", `null`, "must be a JSON object"},
		{"wrong type", `{"description": 5}`, "description"},
		{"unknown field", `{"descripton": "x"}`, `unknown field "descripton"`},
		{"trailing data", `{} {}`, "after the JSON object"},
		{"bad type", `{"clarification_questions": [{"id": "a", "type": "radio"}]}`, `type "radio"`},
		{"choice without choices", `{"clarification_questions": [{"id": "a", "type": "choice"}]}`, "needs choices"},
		{"multi without choices", `{"clarification_questions": [{"id": "a", "type": "multi", "choices": []}]}`, "needs choices"},
		{"text with choices", `{"clarification_questions": [{"id": "a", "choices": ["x"]}]}`, "takes no choices"},
		{"no id or text", `{"clarification_questions": [{"type": "text"}]}`, "needs an id or a text"},
		{"duplicate id", `{"clarification_questions": [{"id": "a"}, {"text": "A"}]}`, `duplicate id "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixtureFS()
			m["python_cli/template.json"] = &fstest.MapFile{Data: []byte(tt.manifest)}
			_, err := LoadCatalog(m)
			if err == nil {
				t.Fatal("LoadCatalog accepted a bad template.json")
			}
			for _, part := range []string{`template "python_cli"`, "template.json", tt.want} {
				if !strings.Contains(err.Error(), part) {
					t.Fatalf("error %q does not mention %q", err, part)
				}
			}
		})
	}
}

func TestQuestionDefaults(t *testing.T) {
	m := fstest.MapFS{"t/template.json": {Data: []byte(`{"clarification_questions": [{"id": "q1"}, {"id": "q2", "required": false, "type": "multi", "choices": ["a"]}]}`)}}
	tpl, _ := mustLoad(t, m).Get("t")
	want := []task.Question{
		{ID: "q1", Text: "Provide the missing input.", Type: "text", Required: true, Rationale: "Required to proceed."},
		{ID: "q2", Text: "Provide the missing input.", Type: "multi", Choices: []string{"a"}, Required: false, Rationale: "Required to proceed."},
	}
	if !reflect.DeepEqual(tpl.Questions, want) {
		t.Fatalf("questions = %+v, want %+v", tpl.Questions, want)
	}
}

func TestCatalogGetNeverEscapes(t *testing.T) {
	m := fixtureFS()
	c := mustLoad(t, m)
	for _, id := range []string{"", " ", ".", "..", "../python_cli", "python_cli/..", "python_cli/", `python_cli\`,
		"./python_cli", "python_cli/tests", "x/../python_cli", "..python_cli", ".hidden", "README.md", "missing"} {
		if tpl, ok := c.Get(id); ok {
			t.Errorf("Get(%q) matched %q", id, tpl.ID)
		}
	}
}

func TestCatalogGetReturnsCopies(t *testing.T) {
	c := mustLoad(t, fixtureFS())
	a, _ := c.Get("python_cli")
	a.Files[0].Content[0] = 'X'
	a.Questions[1].Choices[0] = "changed"
	b, _ := c.Get("python_cli")
	if b.Files[0].Content[0] == 'X' || b.Questions[1].Choices[0] == "changed" {
		t.Fatal("mutating a Get result changed the catalog")
	}
}

func TestLoadCatalogRejectsUnusableNames(t *testing.T) {
	for name, m := range map[string]fstest.MapFS{
		"dotdot id": {"a..b/x.py": {Data: []byte("x")}},
		"backslash": {`t/a\b.py`: {Data: []byte("x")}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := LoadCatalog(m); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestLoadCatalogFromDiskSkipsSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	writeTestFile(t, filepath.Join(outside, "secret"), "secret")
	writeTestFile(t, filepath.Join(dir, "tpl", "main.py"), "x = 1\n")
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "tpl", "link.py")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "tpl", "linkdir")); err != nil {
		t.Fatal(err)
	}
	tpl, ok := mustLoad(t, os.DirFS(dir)).Get("tpl")
	if !ok || len(tpl.Files) != 1 || tpl.Files[0].Path != "main.py" {
		t.Fatalf("files = %+v, want only main.py", tpl.Files)
	}
}

func writeTestFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
