package mockproject

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLoadCatalog(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.IDs(); !slices.Equal(got, []string{"python_cli", "python_fastapi", "python_lib"}) {
		t.Errorf("IDs = %v", got)
	}
	if c.Project("nope").ID != FreeForm || c.Project("").ID != FreeForm || c.Project(FreeForm).ID != FreeForm {
		t.Error("unknown ids must map to the free-form project")
	}
	d := Data{Title: "T", Request: "r", Format: "text"}
	for _, id := range append(c.IDs(), FreeForm) {
		p := c.Project(id)
		first := p.Components[0]
		if first.Files[0].Kind != KindSource {
			t.Errorf("%s: the first component must start with source (the review-fail-once defect)", id)
		}
		for _, comp := range p.Components {
			for _, f := range comp.Files {
				clean, err := c.Render(p, f.Path, d)
				if err != nil {
					t.Fatalf("%s/%s: %v", id, f.Path, err)
				}
				d.Defect = true
				broken, _ := c.Render(p, f.Path, d)
				d.Defect = false
				if (clean != broken) != (f == first.Files[0]) {
					t.Errorf("%s/%s: the defect belongs to the first source file only", id, f.Path)
				}
				if !strings.HasSuffix(clean, "\n") || strings.HasSuffix(clean, "\n\n") {
					t.Errorf("%s/%s: want exactly one trailing newline", id, f.Path)
				}
			}
		}
	}
}

func TestDependencies(t *testing.T) {
	p := &Project{Packages: []string{"fastapi>=0.92", "httpx", "pytest[extra]~=7", "a ; python_version<'3'"}}
	if got := p.Dependencies(); !slices.Equal(got, []string{"fastapi", "httpx", "pytest", "a"}) {
		t.Errorf("Dependencies = %v", got)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		`say "hi" \ bye`:             `say 'hi' / bye`,
		"a\tb\n\nc\r\nd\u2028e":      "a b c d e",
		"zero\u200bwidth \u202eevil": "zerowidth evil",
		"nul\x00 bell\a esc\x1b[0m":  "nul bell esc[0m",
		"bad \xff utf8":              "bad \uFFFD utf8",
		"   ":                        "",
	} {
		if got := Clean(in, 100); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("word ", 100)
	if got := Clean(long, 30); utf8.RuneCountInString(got) > 30 || !strings.HasSuffix(got, "...") {
		t.Errorf("Clean long = %q", got)
	}
	if got := Clean(strings.Repeat("é", 50), 10); utf8.RuneCountInString(got) != 10 || !utf8.ValidString(got) {
		t.Errorf("Clean runes = %q", got)
	}
	if got := Clean("abcdefgh", 3); got != "abc" {
		t.Errorf("Clean tiny max = %q", got)
	}
}

func TestWrapAndPyString(t *testing.T) {
	text := strings.Repeat("alpha beta ", 20) + strings.Repeat("x", 150)
	lines := Wrap(text, 30)
	for _, l := range lines {
		if utf8.RuneCountInString(l) > 30 || l != strings.TrimSpace(l) || l == "" {
			t.Errorf("bad line %q", l)
		}
	}
	if strings.Join(strings.Fields(strings.Join(lines, " ")), "") != strings.ReplaceAll(text, " ", "") {
		t.Error("Wrap lost text")
	}
	lit := pyString(text)
	var joined strings.Builder
	for _, l := range strings.Split(lit, "\n") {
		if utf8.RuneCountInString(l) > 99 {
			t.Errorf("literal line too long: %q", l)
		}
		if strings.HasPrefix(l, `    "`) {
			joined.WriteString(strings.TrimSuffix(strings.TrimPrefix(l, `    "`), `"`))
		}
	}
	if joined.String() != text || !strings.HasPrefix(lit, "(\n") || !strings.HasSuffix(lit, "\n)") {
		t.Errorf("pyString lost text:\n%s", lit)
	}
	if pyString("") != "(\n    \"\"\n)" {
		t.Errorf("empty literal: %q", pyString(""))
	}
}

func TestSentencesAndTitle(t *testing.T) {
	got := Sentences("Add items. Remove them! Why? Version 1.2 works; done.")
	want := []string{"Add items", "Remove them", "Why", "Version 1.2 works", "done"}
	if !slices.Equal(got, want) {
		t.Errorf("Sentences = %q", got)
	}
	if got := Title("build a tool that does one two three four five six. Then more", "x"); got != "Build a tool that does one two three" {
		t.Errorf("Title = %q", got)
	}
	if got := Title(" ... ", "Fallback"); got != "Fallback" {
		t.Errorf("Title fallback = %q", got)
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"a.py": "a", "pkg/sub/mod.py": "pkg.sub.mod", "pkg/__init__.py": "pkg",
		"my-script.py": "", "1abc.py": "", "class.py": "", "pkg/é.py": "", "__init__.py": "",
		strings.Repeat("a", 70) + ".py": "",
	} {
		got, ok := moduleName(in)
		if ok != (want != "") || ok && got != want {
			t.Errorf("moduleName(%q) = %q, %v", in, got, ok)
		}
	}
	if !IsTest("tests/test_x.py") || !IsTest("x_test.py") || IsTest("tests/helper.py") || IsTest("test_x.txt") {
		t.Error("IsTest")
	}
}

func TestBlob(t *testing.T) {
	a, b := Blob(0, 512<<10), Blob(1, 512<<10)
	if len(a) != 512<<10 || len(b) != 512<<10 || a == b || a != Blob(0, 512<<10) {
		t.Fatal("blobs must be exact, distinct and deterministic")
	}
	if !strings.HasSuffix(a, "\n") || strings.ContainsFunc(a, func(r rune) bool { return r != '\n' && (r < ' ' || r > '~') }) {
		t.Error("blob is not printable text")
	}
	if len(Blob(2, 1)) != 1 || Blob(2, 0) != "" || BlobPath(7) != "data/blob_007.txt" {
		t.Error("small blobs or paths")
	}
}
