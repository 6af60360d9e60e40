package mockproject

import (
	"encoding/json"
	"path"
	"strings"
)

// IsTest reports whether p names a pytest test module.
func IsTest(p string) bool {
	base := path.Base(p)
	return strings.HasSuffix(base, ".py") &&
		(strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py"))
}

// isKeyword reports whether s is a Python keyword (not usable as a module
// name).
func isKeyword(s string) bool {
	switch s {
	case "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
		"continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
		"if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
		"try", "while", "with", "yield":
		return true
	}
	return false
}

// moduleName returns the dotted import name of a .py path, or false when the
// path cannot be imported by that name (or would make an over-long line).
func moduleName(p string) (string, bool) {
	parts := strings.Split(strings.TrimSuffix(p, ".py"), "/")
	if parts[len(parts)-1] == "__init__" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) == 0 {
		return "", false
	}
	for _, part := range parts {
		if part == "" || isKeyword(part) || part[0] >= '0' && part[0] <= '9' {
			return "", false
		}
		for _, r := range part {
			if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return "", false
			}
		}
	}
	name := strings.Join(parts, ".")
	return name, len(name) <= 60
}

// generic renders a file the catalog does not know, by extension.
func (c *Catalog) generic(p *Project, filePath string, d Data) (string, error) {
	d.Module = Clean(filePath, 80)
	d.Purpose = "supporting file of the project"
	for _, f := range d.Plan {
		if f.Path == filePath && Clean(f.Purpose, 80) != "" {
			d.Purpose = Clean(f.Purpose, 80)
		}
	}
	switch ext := path.Ext(filePath); {
	case ext == ".py" && IsTest(filePath):
		return c.genericTest(p, filePath, d)
	case ext == ".py":
		if m, ok := moduleName(filePath); ok {
			d.Module = m
		}
		return execute(c.tmpl.Lookup("generic/module.py.tmpl"), d)
	case ext == ".md":
		return execute(c.tmpl.Lookup("generic/doc.md.tmpl"), d)
	case ext == ".json":
		raw, err := json.MarshalIndent(map[string]string{
			"description": d.Request,
			"purpose":     d.Purpose,
		}, "", "  ")
		return string(raw) + "\n", err
	}
	return execute(c.tmpl.Lookup("generic/note.txt.tmpl"), d)
}

// genericTest picks the best test for an unknown test path: the catalog's
// test of a catalog module with the same name, the file's present content
// (a template's own test), an import test of a module the mock writes
// generically, or else a smoke test that compiles the project.
func (c *Catalog) genericTest(p *Project, filePath string, d Data) (string, error) {
	name := strings.TrimSuffix(path.Base(filePath), ".py")
	name = strings.TrimSuffix(strings.TrimPrefix(name, "test_"), "_test")
	for _, comp := range p.Components {
		for _, f := range comp.Files {
			if f.Kind == KindTest && path.Base(f.Path) == "test_"+name+".py" {
				return execute(c.lookup(p, f.Path), d)
			}
		}
	}
	if content := d.Existing[filePath]; content != "" {
		return content, nil
	}
	for _, k := range d.known() {
		if path.Base(k) != name+".py" || IsTest(k) || c.Has(p, k) {
			continue
		}
		if content := d.Existing[k]; content != "" && !strings.Contains(content, "def describe(") {
			continue
		}
		if m, ok := moduleName(k); ok {
			d.Module = m
			return execute(c.tmpl.Lookup("generic/test_module.py.tmpl"), d)
		}
	}
	d.Depth = strings.Count(filePath, "/")
	return execute(c.tmpl.Lookup("generic/test_smoke.py.tmpl"), d)
}
