package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// catalogCases are the shipped templates plus the free-form request.
var catalogCases = []struct {
	template    string
	description string
	modules     []string
	// planned files that must be generated (besides README.md)
	want []string
}{
	{"python_cli", "Build a command line tool that counts words in text files. It prints totals.",
		nil, []string{"textkit.py", "tests/test_textkit.py", "formatting.py", "cli.py", "tests/test_cli.py"}},
	{"python_fastapi", "An inventory service; staff add items with tags and look them up by tag.",
		[]string{"fastapi", "httpx"}, []string{"app/store.py", "app/models.py", "app/main.py", "tests/test_main.py"}},
	{"python_lib", "A library to validate and total household expense records!",
		nil, []string{"mylib/validators.py", "mylib/records.py", "mylib/__init__.py", "tests/test_records.py"}},
	{"", "Track my reading list: add books, mark them read and see progress.",
		nil, []string{"tracker.py", "main.py", "tests/test_tracker.py", "requirements.txt", "ruff.toml", "pytest.ini"}},
}

func TestMockProjectsPassPythonChecks(t *testing.T) {
	p := NewMock("gpt-4o-mini")
	for _, tc := range catalogCases {
		t.Run("template="+tc.template, func(t *testing.T) {
			t.Parallel()
			requirePython(t, tc.modules...)
			pr := simulate(t, p, tc.template, tc.description, nil)
			var planned []string
			for _, f := range pr.design.Files {
				planned = append(planned, f.Path)
			}
			if len(planned) < 4 || len(planned) > 8 {
				t.Errorf("planned %d files, want 4..8: %v", len(planned), planned)
			}
			for _, want := range append(tc.want, "README.md") {
				if !slices.Contains(planned, want) {
					t.Errorf("design lacks %s: %v", want, planned)
				}
			}
			// The request shapes the text: docstrings and README carry it.
			for _, path := range []string{"README.md", tc.want[0]} {
				if !strings.Contains(strings.Join(strings.Fields(pr.files[path]), " "), strings.TrimRight(tc.description, ".!")) {
					t.Errorf("%s does not carry the request:\n%s", path, pr.files[path])
				}
			}
			results := requireChecksPass(t, pr.dir)
			if tests := strings.Count(results["pytest"].output, "passed"); tests == 0 {
				t.Errorf("no tests passed: %s", results["pytest"].output)
			}
		})
	}
}

func TestMockAnswersReachTheCode(t *testing.T) {
	requirePython(t)
	p := NewMock("")
	pr := simulate(t, p, "python_cli", "Summarise text [mock:clarify]",
		map[string]any{"output_format": "json", "scope": "extended"})
	if len(pr.research.OpenQuestions) != 0 {
		t.Errorf("answered question asked again: %+v", pr.research.OpenQuestions)
	}
	if !strings.Contains(pr.files["formatting.py"], `DEFAULT_FORMAT = "json"`) {
		t.Errorf("output_format answer ignored:\n%s", pr.files["formatting.py"])
	}
	for _, path := range []string{"README.md", "textkit.py", "cli.py"} {
		if !strings.Contains(pr.files[path], "Chosen scope: extended.") {
			t.Errorf("%s does not name the chosen scope:\n%s", path, pr.files[path])
		}
	}
	if !strings.Contains(pr.files["README.md"], "- output_format: json") {
		t.Errorf("README lacks the answers:\n%s", pr.files["README.md"])
	}
	requireChecksPass(t, pr.dir)
}

func TestMockIsDeterministic(t *testing.T) {
	p := NewMock("m")
	for _, tc := range catalogCases {
		b := Brief{Stage: "design", Description: tc.description + " [mock:big=1]", TemplateID: tc.template}
		design := ask[DesignReply](t, p, b)
		for _, stage := range []string{"research", "design", "code", "review"} {
			b.Stage, b.Architecture, b.TaskType, b.Iteration = stage, &design, TaskImplementComponent, 1
			b.TargetFiles = design.Components[0].Files
			first, err1 := p.Complete(context.Background(), briefRequest(t, b))
			second, err2 := NewMock("m").Complete(context.Background(), briefRequest(t, b))
			if err1 != nil || err2 != nil || first.Text != second.Text || first.Usage != second.Usage {
				t.Errorf("%s/%s: replies differ (%v, %v)", tc.template, stage, err1, err2)
			}
		}
	}
	// Different requests give different code.
	one := ask[CodeReply](t, p, Brief{Stage: "code", Description: "count words", TargetFiles: []string{"tracker.py"}})
	two := ask[CodeReply](t, p, Brief{Stage: "code", Description: "count lines", TargetFiles: []string{"tracker.py"}})
	if one.Files[0].Content == two.Files[0].Content {
		t.Error("the request does not change the generated code")
	}
}

// nastyDescriptions must all give valid, lint-clean projects.
var nastyDescriptions = []string{
	`"""; import os; os.system("rm -rf /") #`,
	`C:\new\table \x00 \u1234 \\ ends with a backslash \`,
	"Приложение для заметок 📝 with 中文字符, emoji 👩‍💻 and RTL \u202eoverride\u202c text",
	strings.Repeat("very long request ", 400) + strings.Repeat("x", 700),
	`He said "hi" and 'bye' ''' """" " '`,
	`{{.Title}} {{template "x"}} ${HOME} $(whoami) %s %d {0} f"{x}"`,
	"tab\there\nnew line\r\n\x1b[31mred\x07 bell \x00 nul \u2028 sep \ufeff bom",
	"",
	"[mock:clarify][mock:sleepy-tests=0]",
	"invalid utf-8 \xff\xfe bytes \xc3",
	"<script>alert(1)</script> # Heading\n```python\nprint('x')\n```",
	"ends with quote\"",
	"'''",
}

func TestMockNastyDescriptions(t *testing.T) {
	requirePython(t, "fastapi", "httpx")
	p := NewMock("")
	root := t.TempDir()
	ids := []string{"python_cli", "python_fastapi", "python_lib", ""}
	for i, desc := range nastyDescriptions {
		for j, id := range ids {
			// Every combination is linted; pytest runs on one project each.
			pr := simulate(t, p, id, desc, map[string]any{"scope": desc, "output_format": desc})
			for path, content := range pr.files {
				if strings.HasSuffix(path, ".py") && !utf8.ValidString(content) {
					t.Errorf("%q/%s: invalid UTF-8", desc, path)
				}
			}
			name := fmt.Sprintf("case%02d_%d", i, j)
			writeFiles(t, filepath.Join(root, name), pr.files)
			if j == i%len(ids) {
				t.Run(name+"_pytest", func(t *testing.T) {
					results := pythonChecks(t, pr.dir, "pytest")
					if !results["pytest"].ok {
						t.Errorf("description %q: pytest failed:\n%s", desc, results["pytest"].output)
					}
				})
			}
		}
	}
	results := pythonChecks(t, root, "compileall", "pyflakes", "pycodestyle", "ruff")
	for _, name := range []string{"compileall", "pyflakes", "pycodestyle", "ruff"} {
		if r, ok := results[name]; ok && !r.ok {
			t.Errorf("%s failed over all nasty projects:\n%s", name, r.output)
		}
	}
}

func TestMockCodeRespectsMaxFilesAndPaths(t *testing.T) {
	p := NewMock("")
	targets := []string{"textkit.py", "formatting.py", "cli.py", "tests/test_cli.py", "README.md", "a.py", "b.py"}
	for _, tc := range []struct {
		max  int
		want int
	}{{0, 5}, {3, 3}, {1, 1}, {10, 7}} {
		reply := ask[CodeReply](t, p, Brief{Stage: "code", TemplateID: "python_cli", TargetFiles: targets, MaxFiles: tc.max})
		if len(reply.Files) != tc.want {
			t.Errorf("MaxFiles %d: got %d files, want %d", tc.max, len(reply.Files), tc.want)
		}
	}
	bad := []string{"../escape.py", "/etc/passwd", `dir\file.py`, "~/x.py", "C:/x.py", "", ".", "a/../../b.py"}
	reply := ask[CodeReply](t, p, Brief{Stage: "code", TargetFiles: append(bad, "./pkg//ok.py", "pkg/ok.py")})
	var got []string
	for _, f := range reply.Files {
		got = append(got, f.Path)
	}
	if !slices.Equal(got, []string{"pkg/ok.py"}) {
		t.Errorf("unsafe targets not dropped: %v", got)
	}
	// Only unsafe targets: the mock falls back to the next planned files.
	reply = ask[CodeReply](t, p, Brief{Stage: "code", TargetFiles: bad})
	if len(reply.Files) == 0 || reply.Files[0].Path != "tracker.py" {
		t.Errorf("fallback: %+v", reply.Files)
	}
}

func TestMockFallbackTargets(t *testing.T) {
	p := NewMock("")
	design := ask[DesignReply](t, p, Brief{Stage: "design", TemplateID: "python_lib"})
	var existing []FileContent
	for _, f := range design.Components[0].Files {
		existing = append(existing, FileContent{Path: f})
	}
	b := Brief{Stage: "code", TemplateID: "python_lib", Architecture: &design, TaskType: TaskFixReviewIssues,
		ExistingFiles: existing}
	reply := ask[CodeReply](t, p, b)
	if got := paths(reply.Files); !slices.Equal(got, design.Components[1].Files) {
		t.Errorf("target-less task wrote %v, want the next component %v", got, design.Components[1].Files)
	}
	b.Findings = []string{"mylib/validators.py:3:1: 'os' imported but unused"}
	reply = ask[CodeReply](t, p, b)
	if got := paths(reply.Files); !slices.Equal(got, []string{"mylib/validators.py"}) {
		t.Errorf("findings did not pick the file: %v", got)
	}
}

func TestMockWriteTestsTargetsTheTestFile(t *testing.T) {
	p := NewMock("")
	design := ask[DesignReply](t, p, Brief{Stage: "design", TemplateID: "python_lib"})
	core := "def normalize(text):\n    return text\n"
	coreTest := "from mylib.core import normalize\n"
	reply := ask[CodeReply](t, p, Brief{Stage: "code", TemplateID: "python_lib", Architecture: &design,
		TaskType:      TaskWriteTests,
		TargetFiles:   []string{"mylib/records.py", "mylib/core.py", "pkg/helper.py", "tests/test_x.py"},
		ExistingFiles: []FileContent{{Path: "mylib/core.py", Content: core}, {Path: "tests/test_core.py", Content: coreTest}}})
	want := []string{"tests/test_records.py", "tests/test_core.py", "tests/test_helper.py", "tests/test_x.py"}
	if got := paths(reply.Files); !slices.Equal(got, want) {
		t.Fatalf("write_tests wrote %v, want %v", got, want)
	}
	if !strings.Contains(reply.Files[0].Content, "from mylib.records import Record, RecordSet") {
		t.Errorf("records test is not the catalog's:\n%s", reply.Files[0].Content)
	}
	if reply.Files[1].Content != coreTest {
		t.Errorf("the template's own test was replaced:\n%s", reply.Files[1].Content)
	}
	if !strings.Contains(reply.Files[2].Content, "from pkg.helper import PURPOSE, describe") {
		t.Errorf("helper test does not import the module:\n%s", reply.Files[2].Content)
	}
}

func TestMockGenericFiles(t *testing.T) {
	requirePython(t)
	p := NewMock("")
	b := Brief{Stage: "code", Description: `odd "files" \ request`, MaxFiles: 10, TargetFiles: []string{
		"pkg/helper.py", "tests/test_helper.py", "tests/unit/test_orphan.py", "docs/guide.md",
		"config.json", "notes.txt", "setup.cfg", "pytest.ini", "my-script.py",
	}}
	reply := ask[CodeReply](t, p, b)
	files := map[string]string{}
	for _, f := range reply.Files {
		files[f.Path] = f.Content
	}
	if len(files) != len(b.TargetFiles) {
		t.Fatalf("got %d files, want %d", len(files), len(b.TargetFiles))
	}
	if !strings.Contains(files["tests/test_helper.py"], "from pkg.helper import PURPOSE, describe") {
		t.Errorf("test of a generic module does not import it:\n%s", files["tests/test_helper.py"])
	}
	var cfg map[string]string
	if err := json.Unmarshal([]byte(files["config.json"]), &cfg); err != nil || cfg["description"] == "" {
		t.Errorf("config.json: %v %q", err, files["config.json"])
	}
	dir := t.TempDir()
	writeFiles(t, dir, files)
	results := requireChecksPass(t, dir)
	if !strings.Contains(results["pytest"].output, "4 passed") {
		t.Errorf("want the 2 module tests and 2 smoke tests to pass:\n%s", results["pytest"].output)
	}
}

func TestMockUsageAndModel(t *testing.T) {
	p := NewMock("gpt-4o-mini")
	if p.Name() != "mock" || p.Model() != "gpt-4o-mini" || NewMock("").Model() != "mock" {
		t.Fatalf("name %q model %q", p.Name(), p.Model())
	}
	req := briefRequest(t, Brief{Stage: "research", Description: "two words"})
	resp, err := p.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	in := int64(len(strings.Fields(req.Messages[0].Content)) + len(strings.Fields(req.Messages[1].Content)))
	out := int64(len(strings.Fields(resp.Text)))
	if resp.Usage != (Usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}) || resp.Model != "gpt-4o-mini" {
		t.Errorf("usage %+v model %q, want in %d out %d", resp.Usage, resp.Model, in, out)
	}
}

func TestMockRejectsRequestsWithoutBrief(t *testing.T) {
	p := NewMock("")
	for name, msgs := range map[string][]Message{
		"none":          nil,
		"prose":         {{Role: "user", Content: "write me an app"}},
		"no stage":      {{Role: "user", Content: `{"description": "x"}`}},
		"only system":   {{Role: "system", Content: `{"stage": "research"}`}},
		"unknown stage": {{Role: "user", Content: `{"stage": "deploy"}`}},
	} {
		_, err := p.Complete(context.Background(), Request{Messages: msgs})
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Retryable {
			t.Errorf("%s: got %v, want a non-retryable 400 *Error", name, err)
		}
	}
	// A brief wrapped in prose or a code fence is still found.
	resp, err := p.Complete(context.Background(), Request{Messages: []Message{
		{Role: "user", Content: "Brief:\n```json\n{\"stage\": \"review\"}\n```"}}})
	if err != nil || !strings.Contains(resp.Text, `"verdict":"approve"`) {
		t.Errorf("wrapped brief: %v %s", err, resp.Text)
	}
}

func paths(files []FileContent) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}
