package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ai-platform/templates"
)

// This file simulates the pipeline against the mock and runs the Python
// checks a review runs, so the tests can assert on real generated projects.

const python = "/usr/bin/python3"

// requirePython skips the test when python3 or one of modules is missing,
// except under CI=true, where that is a failure.
func requirePython(t *testing.T, modules ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("python checks skipped in -short mode")
	}
	imports := strings.Join(append([]string{"pytest", "pyflakes", "pycodestyle"}, modules...), ", ")
	out, err := exec.Command(python, "-c", "import "+imports).CombinedOutput()
	if err == nil {
		return
	}
	msg := "needs " + python + " with " + imports + " (Debian: python3-pytest python3-pyflakes " +
		"python3-pycodestyle python3-fastapi python3-httpx): " + strings.TrimSpace(string(out)) + " " + err.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// checkResult is the outcome of one Python check.
type checkResult struct {
	name   string
	ok     bool
	output string
	took   time.Duration
}

// pythonChecks runs compileall, pytest, pyflakes and pycodestyle in dir, and
// ruff too when it is installed; only, when given, picks some of them.
func pythonChecks(t *testing.T, dir string, only ...string) map[string]checkResult {
	t.Helper()
	checks := map[string][]string{
		"compileall":  {python, "-m", "compileall", "-q", "."},
		"pytest":      {python, "-m", "pytest", "-q", "-p", "no:cacheprovider"},
		"pyflakes":    {python, "-m", "pyflakes", "."},
		"pycodestyle": {python, "-m", "pycodestyle", "--max-line-length=100", "."},
	}
	if ruff, err := exec.LookPath("ruff"); err == nil {
		checks["ruff"] = []string{ruff, "check", "--no-cache", "."}
	}
	results := map[string]checkResult{}
	for name, argv := range checks {
		if len(only) > 0 && !slices.Contains(only, name) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "LC_ALL=C.UTF-8"}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		cancel()
		results[name] = checkResult{name: name, ok: err == nil, output: string(out), took: time.Since(start)}
	}
	return results
}

// requireChecksPass fails the test with the output of every failing check.
func requireChecksPass(t *testing.T, dir string) map[string]checkResult {
	t.Helper()
	results := pythonChecks(t, dir)
	for _, name := range []string{"compileall", "pytest", "pyflakes", "pycodestyle", "ruff"} {
		if r, ok := results[name]; ok && !r.ok {
			t.Errorf("%s failed in %s:\n%s", name, dir, r.output)
		}
	}
	if !strings.Contains(results["pytest"].output, " passed") {
		t.Errorf("pytest ran no tests:\n%s", results["pytest"].output)
	}
	return results
}

// briefRequest wraps a brief the way the pipeline does: a system message
// and the brief as the last user message.
func briefRequest(t *testing.T, b Brief) Request {
	t.Helper()
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return Request{
		Stage: b.Stage,
		JSON:  true,
		Messages: []Message{
			{Role: "system", Content: "You are the " + b.Stage + " agent. Reply with one JSON object."},
			{Role: "user", Content: string(raw)},
		},
		Attempt: 1,
	}
}

// ask sends a brief and decodes the reply strictly into T.
func ask[T any](t *testing.T, p Provider, b Brief) T {
	t.Helper()
	resp, err := p.Complete(context.Background(), briefRequest(t, b))
	if err != nil {
		t.Fatalf("%s: %v", b.Stage, err)
	}
	v := decodeStrict[T](t, resp.Text)
	checkRequired(t, v)
	return v
}

// checkRequired fails when a reply lacks a field the pipeline needs.
func checkRequired(t *testing.T, reply any) {
	t.Helper()
	ok := true
	switch r := reply.(type) {
	case ResearchReply:
		ok = r.Summary != "" && len(r.Requirements) > 0 && len(r.UserStories) > 0 && len(r.Assumptions) > 0 &&
			len(r.TechnicalConstraints) > 0
		for i, req := range r.Requirements {
			ok = ok && req.ID == fmt.Sprintf("REQ-%03d", i+1) && req.Text != ""
		}
	case DesignReply:
		ok = r.Summary != "" && len(r.Components) > 0 && len(r.Files) > 0 && len(r.Dependencies) > 0
	case CodeReply:
		ok = r.Summary != "" && len(r.Files) > 0
		for _, f := range r.Files {
			_, clean := cleanPath(f.Path)
			ok = ok && clean && f.Content != ""
		}
	case ReviewReply:
		ok = r.Summary != "" && (r.Verdict == "approve" || r.Verdict == "request_changes")
	}
	if !ok {
		t.Fatalf("reply lacks required fields: %+v", reply)
	}
}

// decodeStrict decodes text into T, refusing unknown fields and null slices.
func decodeStrict[T any](t *testing.T, text string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("reply does not decode into %T: %v\n%s", v, err, text)
	}
	var generic any
	if err := json.Unmarshal([]byte(text), &generic); err != nil || hasNull(generic) {
		t.Fatalf("reply has null fields (want empty arrays) or is not JSON (%v): %s", err, text)
	}
	return v
}

func hasNull(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, x := range v {
			if hasNull(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if hasNull(x) {
				return true
			}
		}
	}
	return false
}

// loadTemplate returns the template's files (without template.json) and its
// brief.
func loadTemplate(t *testing.T, id string) (map[string]string, *TemplateBrief) {
	t.Helper()
	files := map[string]string{}
	brief := &TemplateBrief{ID: id}
	err := fs.WalkDir(templates.FS, id, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(templates.FS, p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, id+"/")
		if rel == "template.json" {
			var m struct {
				Description string `json:"description"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			brief.Description = m.Description
			return nil
		}
		files[rel] = string(raw)
		brief.Files = append(brief.Files, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(brief.Files)
	return files, brief
}

// project is the outcome of a simulated pipeline run.
type project struct {
	dir      string
	files    map[string]string
	research ResearchReply
	design   DesignReply
	codes    []CodeReply
}

// simulate runs research, design and one code call per component (the
// pipeline's order, at most 5 files each), reviews the result and writes
// template plus generated files to a fresh directory.
func simulate(t *testing.T, p Provider, templateID, description string, answers map[string]any) *project {
	t.Helper()
	pr := &project{dir: t.TempDir(), files: map[string]string{}}
	var tb *TemplateBrief
	if templateID != "" {
		pr.files, tb = loadTemplate(t, templateID)
	}
	base := Brief{Description: description, TemplateID: templateID, Template: tb, Answers: answers}

	b := base
	b.Stage, b.MaxQuestions = "research", 3
	pr.research = ask[ResearchReply](t, p, b)
	if len(pr.research.Requirements) == 0 || pr.research.Summary == "" {
		t.Fatalf("empty research: %+v", pr.research)
	}

	b = base
	b.Stage, b.Requirements = "design", pr.research.Requirements
	pr.design = ask[DesignReply](t, p, b)
	checkDesign(t, pr.design)

	for i, comp := range pr.design.Components {
		b = base
		b.Stage, b.Requirements, b.Architecture = "code", pr.research.Requirements, &pr.design
		b.Iteration, b.TaskType, b.TargetFiles, b.MaxFiles = i+1, TaskImplementComponent, comp.Files, 5
		for _, f := range comp.Files {
			if content, ok := pr.files[f]; ok {
				b.ExistingFiles = append(b.ExistingFiles, FileContent{Path: f, Content: content})
			}
		}
		code := ask[CodeReply](t, p, b)
		var got []string
		for _, f := range code.Files {
			got = append(got, f.Path)
			pr.files[f.Path] = f.Content
		}
		if !slices.Equal(got, comp.Files) {
			t.Fatalf("component %q: code reply wrote %v, want %v", comp.Name, got, comp.Files)
		}
		pr.codes = append(pr.codes, code)
	}

	b = base
	b.Stage, b.Architecture = "review", &pr.design
	b.Checklist = []string{"tests pass", "code is lint clean", "docstrings everywhere"}
	for _, path := range sortedKeys(pr.files) {
		b.ExistingFiles = append(b.ExistingFiles, FileContent{Path: path, Content: pr.files[path]})
	}
	review := ask[ReviewReply](t, p, b)
	if review.Verdict != "approve" || len(review.Warnings) != 0 {
		t.Errorf("review: %+v", review)
	}
	writeFiles(t, pr.dir, pr.files)
	return pr
}

// checkDesign asserts the shape the pipeline relies on.
func checkDesign(t *testing.T, d DesignReply) {
	t.Helper()
	var listed []string
	for _, c := range d.Components {
		if c.Name == "" || len(c.Files) == 0 || len(c.Files) > 5 {
			t.Errorf("component %+v: want a name and 1..5 files", c)
		}
		listed = append(listed, c.Files...)
	}
	var planned []string
	for _, f := range d.Files {
		planned = append(planned, f.Path)
		if !slices.Contains([]string{"source", "test", "docs", "config"}, f.Kind) || f.Purpose == "" {
			t.Errorf("planned file %+v: bad kind or no purpose", f)
		}
		if _, ok := cleanPath(f.Path); !ok {
			t.Errorf("planned file %q is not a clean relative path", f.Path)
		}
	}
	if !slices.Equal(listed, planned) {
		t.Errorf("components list %v, files list %v", listed, planned)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for path, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
