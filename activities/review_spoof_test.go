package activities

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ai-platform/internal/runner"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
	"ai-platform/templates"
)

// needPythonTools skips a test that runs the real review tools on a machine
// without Debian's python3, pytest and flake8; in CI, which installs them,
// their absence is a failure.
func needPythonTools(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-I", "-c", "import pytest, flake8").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with pytest and flake8 is required in CI: %v", err)
		}
		t.Skip("needs python3-pytest and flake8 (apt-get install python3-pytest flake8)")
	}
}

// The argv of every Python tool starts the interpreter isolated, and the
// linters are told to ignore configuration files and noqa comments, with the
// platform's rules and line length on the command line.
func TestToolArgvKeepTheWorkspaceOut(t *testing.T) {
	cases := []struct {
		name     string
		argv     []string
		prefix   []string
		required []string
	}{
		{"compileall", compileArgv("python3"), []string{"python3", "-I", "-m", "compileall"}, []string{"-f", "."}},
		{"flake8", flake8Argv("python3"), []string{"python3", "-I", "-m", "flake8"},
			[]string{"--isolated", "--disable-noqa", "--select=E,F", "--max-line-length=100", "."}},
		{"pyflakes", pyflakesArgv("python3"), []string{"python3", "-I", "-m", "pyflakes"}, []string{"."}},
		{"ruff", ruffArgv(), []string{"ruff", "check"},
			[]string{"--isolated", "--no-respect-gitignore", "--ignore-noqa", "--select=E,F,I", "--line-length=100", "--no-cache", "."}},
		{"pytest", pytestArgv("python3"), []string{"python3", "-I", "-B", "-c", pytestBootstrap},
			[]string{"/dev/null", "--rootdir=.", "--confcutdir=.", "no:cacheprovider"}},
	}
	for _, c := range cases {
		if !slices.Equal(c.argv[:min(len(c.prefix), len(c.argv))], c.prefix) {
			t.Errorf("%s: argv %q does not start with %q", c.name, c.argv, c.prefix)
		}
		for _, flag := range c.required {
			if !slices.Contains(c.argv, flag) {
				t.Errorf("%s: argv %q lacks %q", c.name, c.argv, flag)
			}
		}
	}
}

// ProbeTools hands out those argv: ruff when it is installed (a stand-in
// executable here), flake8 otherwise, and pytest only as a module of the
// isolated interpreter.
func TestProbeToolsUsesIsolatedArgv(t *testing.T) {
	needPythonTools(t)
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "ruff"), []byte("#!/bin/sh\necho ruff 0.0.0-test\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cases := []struct {
		name     string
		path     string
		wantLint []string
	}{
		{"ruff installed", bin + ":" + runner.DefaultPath, ruffArgv()},
		{"flake8 stands in", runner.DefaultPath, flake8Argv("python3")},
	}
	for _, c := range cases {
		r, err := runner.New(runner.Config{Allowed: []string{"python3", "ruff", "pytest"}, Timeout: 30 * time.Second,
			MaxOutput: 20000, Sandbox: "none", Path: c.path})
		if err != nil {
			t.Fatal(err)
		}
		tb := ProbeTools(context.Background(), r, "", log)
		if !slices.Equal(tb.Lint.Argv, c.wantLint) {
			t.Errorf("%s: lint argv %q, want %q", c.name, tb.Lint.Argv, c.wantLint)
		}
		if !slices.Equal(tb.Compile.Argv, compileArgv("python3")) || !slices.Equal(tb.Tests.Argv, pytestArgv("python3")) {
			t.Errorf("%s: compile argv %q, tests argv %q", c.name, tb.Compile.Argv, tb.Tests.Argv)
		}
	}
}

var (
	spoofToolsOnce sync.Once
	spoofRunner    *runner.Runner
	spoofTools     *Toolbox
	spoofErr       error
)

// reviewTools is one runner (bubblewrap where it works, as in production)
// and its probed toolbox, shared by the review tests.
func reviewTools(t *testing.T) (*runner.Runner, *Toolbox) {
	t.Helper()
	needPythonTools(t)
	spoofToolsOnce.Do(func() {
		spoofRunner, spoofErr = runner.New(runner.Config{Allowed: []string{"python3", "ruff"}, Timeout: 60 * time.Second,
			MaxOutput: 20000, Sandbox: "auto"})
		if spoofErr == nil {
			spoofTools = ProbeTools(context.Background(), spoofRunner, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
		}
	})
	if spoofErr != nil {
		t.Fatal(spoofErr)
	}
	if !spoofTools.Lint.Available() || !spoofTools.Compile.Available() || !spoofTools.Tests.Available() {
		t.Fatalf("review tools missing: %+v", spoofTools)
	}
	t.Logf("sandbox %s (%s), lint with %s", spoofRunner.Sandbox(), spoofRunner.SandboxNote(), spoofTools.Lint.Name)
	return spoofRunner, spoofTools
}

// templateFiles is a template's seed files, the project a task starts from.
func templateFiles(t *testing.T, id string) map[string]string {
	t.Helper()
	cat, err := workspace.LoadCatalog(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, ok := cat.Get(id)
	if !ok {
		t.Fatalf("no template %q", id)
	}
	out := map[string]string{}
	for _, f := range tmpl.Files {
		out[f.Path] = string(f.Content)
	}
	return out
}

// reviewWorkspace runs an iteration review over files with the real tools
// and returns the stored review_report.
func reviewWorkspace(t *testing.T, files map[string]string) (task.ReviewOut, Report) {
	t.Helper()
	run, tools := reviewTools(t)
	f := newFixture(t, "A project under review", "", func(d *Deps) { d.Runner, d.Tools = run, tools })
	ctx := context.Background()
	var put []store.File
	for p, content := range files {
		put = append(put, store.File{Path: p, Content: []byte(content)})
	}
	if err := f.store.PutFiles(ctx, f.task.ID, put, nil, store.FileLimits{MaxFiles: 1000, MaxBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	out, err := f.a.ReviewChecks(ctx, task.ReviewIn{Step: f.step("review-1"), Kind: task.ReviewIteration, Iteration: 1, RunID: "run-1"})
	if err != nil {
		t.Fatal(err)
	}
	art, err := f.store.LatestArtifact(ctx, f.task.ID, "review_report")
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(art.Payload, &rep); err != nil {
		t.Fatal(err)
	}
	return out, rep
}

func with(base map[string]string, add map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range add {
		out[k] = v
	}
	return out
}

// ignoreEverything is every lint configuration file a project could ship to
// silence ruff or flake8.
var ignoreEverything = map[string]string{
	"ruff.toml":      "line-length = 1000\n\n[lint]\nselect = []\nignore = [\"ALL\"]\nexclude = [\"*\"]\n",
	"pyproject.toml": "[tool.ruff]\nline-length = 1000\n\n[tool.ruff.lint]\nignore = [\"ALL\"]\n",
	"setup.cfg":      "[flake8]\nextend-ignore = E,F,W\nmax-line-length = 1000\nexclude = *\n",
	".flake8":        "[flake8]\nextend-ignore = E,F,W\nmax-line-length = 1000\nexclude = *\n",
	"tox.ini":        "[flake8]\nignore = E,F,W\nmax-line-length = 1000\n",
	".gitignore":     "*.py\n",
}

// lintError is a module with an unused import (F401) and a 130-character
// line (E501).
const lintError = "\"\"\"Helpers.\"\"\"\n\nimport os\n\nMESSAGE = \"" + "x" + "\"\nLONG = \"" +
	"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567" + "\"\n"

// Each spoof here passed review before the checks ran isolated with the
// platform's own settings, and each must fail now; the templates, the
// projects tasks start from, must still pass every check.
func TestReviewChecksCannotBeSpoofed(t *testing.T) {
	lib := templateFiles(t, "python_lib")
	cases := []struct {
		name  string
		files map[string]string
		// want maps a check to its status; wantError, if set, must appear in
		// one of the report's errors.
		want      map[string]string
		wantError string
	}{
		{"python_lib template passes", lib,
			map[string]string{"lint": "passed", "compile": "passed", "tests": "passed"}, ""},
		{"python_cli template passes", templateFiles(t, "python_cli"),
			map[string]string{"lint": "passed", "compile": "passed", "tests": "passed"}, ""},
		{"python_fastapi template passes", templateFiles(t, "python_fastapi"),
			map[string]string{"lint": "passed", "compile": "passed", "tests": "passed"}, ""},
		{"a workspace compileall.py does not replace compileall", with(lib, map[string]string{
			"compileall.py":   "\"\"\"Shadow.\"\"\"\n\nraise SystemExit(0)\n",
			"mylib/broken.py": "\"\"\"Broken.\"\"\"\n\ndef broken(:\n    return 1\n",
		}), map[string]string{"compile": "failed"}, "mylib/broken.py"},
		{"a workspace flake8.py does not replace the linter", with(lib, map[string]string{
			"flake8.py":      "\"\"\"Shadow.\"\"\"\n\nraise SystemExit(0)\n",
			"pyflakes.py":    "\"\"\"Shadow.\"\"\"\n\nraise SystemExit(0)\n",
			"mylib/extra.py": lintError,
		}), map[string]string{"lint": "failed", "compile": "passed", "tests": "passed"}, "imported but unused"},
		{"lint configuration files that ignore everything are not read", with(with(lib, ignoreEverything), map[string]string{
			"mylib/extra.py": lintError,
		}), map[string]string{"lint": "failed"}, "imported but unused"},
		{"noqa comments do not silence lint", with(lib, map[string]string{
			"mylib/extra.py": "# flake8: noqa\n# ruff: noqa\n" + strings.Replace(lintError, "import os", "import os  # noqa", 1),
		}), map[string]string{"lint": "failed"}, "imported but unused"},
		{"a project line-length does not stretch the lint limit", with(lib, map[string]string{
			"ruff.toml":      "line-length = 1000\n",
			"mylib/extra.py": strings.Replace(lintError, "import os\n", "", 1),
		}), map[string]string{"lint": "failed"}, "E501"},
		{"test files without tests fail", with(lib, map[string]string{
			"tests/test_core.py": "\"\"\"No tests here.\"\"\"\n\n\ndef helper():\n    \"\"\"Not a test.\"\"\"\n    return 1\n",
		}), map[string]string{"tests": "failed"}, "pytest collected no tests"},
		{"a conftest that deselects everything fails", with(lib, map[string]string{
			"conftest.py": "\"\"\"Deselect all.\"\"\"\n\n\ndef pytest_collection_modifyitems(config, items):\n" +
				"    \"\"\"Drop every test.\"\"\"\n    config.hook.pytest_deselected(items=list(items))\n    items[:] = []\n",
		}), map[string]string{"tests": "failed"}, "pytest collected no tests"},
		{"a conftest that deselects the failing test fails", with(lib, map[string]string{
			"tests/test_more.py": "\"\"\"More tests.\"\"\"\n\n\ndef test_fails():\n    \"\"\"Fails.\"\"\"\n    assert False\n",
			"conftest.py": "\"\"\"Deselect failures.\"\"\"\n\n\ndef pytest_collection_modifyitems(config, items):\n" +
				"    \"\"\"Drop the tests that would fail.\"\"\"\n    bad = [i for i in items if \"fails\" in i.name]\n" +
				"    config.hook.pytest_deselected(items=bad)\n    items[:] = [i for i in items if i not in bad]\n",
		}), map[string]string{"tests": "failed"}, "fewer than the platform found 4 test functions"},
		{"a pytest.ini that redefines tests is not read", with(lib, map[string]string{
			"pytest.ini": "[pytest]\npythonpath = .\ntestpaths = tests\npython_functions = check_*\n",
			"tests/test_more.py": "\"\"\"More tests.\"\"\"\n\n\ndef test_fails():\n    \"\"\"Fails.\"\"\"\n    assert False\n\n\n" +
				"def check_pad():\n    \"\"\"Padding.\"\"\"\n\n\ndef check_pad2():\n    \"\"\"Padding.\"\"\"\n\n\n" +
				"def check_pad3():\n    \"\"\"Padding.\"\"\"\n\n\ndef check_pad4():\n    \"\"\"Padding.\"\"\"\n",
		}), map[string]string{"tests": "failed"}, "test_fails"},
		{"a workspace pytest.py does not replace pytest", with(lib, map[string]string{
			"pytest.py":          "\"\"\"Shadow.\"\"\"\n\nprint(\"9 passed in 0.01s\")\nraise SystemExit(0)\n",
			"tests/test_more.py": "\"\"\"More tests.\"\"\"\n\n\ndef test_fails():\n    \"\"\"Fails.\"\"\"\n    assert False\n",
		}), map[string]string{"tests": "failed"}, "test_fails"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, rep := reviewWorkspace(t, c.files)
			got := map[string]string{}
			for _, ch := range rep.Checks {
				got[ch.Name] = ch.Status
			}
			for name, status := range c.want {
				if got[name] != status {
					t.Errorf("check %s is %q, want %q; errors: %q", name, got[name], status, rep.Errors)
				}
			}
			wantPass := true
			for _, status := range c.want {
				wantPass = wantPass && status == "passed"
			}
			if out.Passed != wantPass {
				t.Errorf("review passed = %v, want %v; errors: %q", out.Passed, wantPass, rep.Errors)
			}
			if c.wantError != "" && !slices.ContainsFunc(rep.Errors, func(e string) bool { return strings.Contains(e, c.wantError) }) {
				t.Errorf("no error mentions %q: %q", c.wantError, rep.Errors)
			}
		})
	}
}

func TestCountTestFunctions(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want int
	}{
		{"module functions", "def test_a():\n    pass\n\n\nasync def test_b():\n    pass\n\ndef testing_prefix():\n    pass\n", 3},
		{"helpers are not tests", "def helper():\n    pass\n\ndef _test_x():\n    pass\n\nTEST = 1\n", 0},
		{"redefined name is one test", "def test_a():\n    pass\n\ndef test_a():\n    pass\n", 1},
		{"nested functions are not tests", "def test_a():\n    def test_inner():\n        pass\n", 1},
		{"fixtures named test_ are not tests",
			"import pytest\n\n@pytest.fixture\ndef test_client():\n    return 1\n\n@pytest.mark.slow\ndef test_a(test_client):\n    pass\n", 1},
		{"Test class methods", "class TestThing:\n    \"\"\"Doc.\"\"\"\n\n    def test_a(self):\n        pass\n\n    async def test_b(self):\n" +
			"        pass\n\n    def helper(self):\n        def test_nested():\n            pass\n", 2},
		{"fixture decorator over several lines", "@pytest.fixture(\n    scope=\"module\",\n)\ndef test_data():\n    return 1\n\n" +
			"@pytest.mark.parametrize(\n    \"x\", [1, 2]\n)\ndef test_a(x, test_data):\n    pass\n", 1},
		{"usefixtures marks a test", "@pytest.mark.usefixtures(\"db\")\ndef test_a():\n    pass\n", 1},
		{"fixture method in a Test class", "class TestThing:\n    @pytest.fixture\n    def test_data(self):\n        return 1\n\n" +
			"    def test_a(self, test_data):\n        pass\n", 1},
		{"class with __init__ is not collected", "class TestThing:\n    def __init__(self):\n        pass\n\n    def test_a(self):\n        pass\n", 0},
		{"non-Test class is not collected", "class Helper:\n    def test_a(self):\n        pass\n\ndef test_b():\n    pass\n", 1},
		{"unittest TestCase of any name", "import unittest\n\nclass Checks(unittest.TestCase):\n    def test_a(self):\n        pass\n" +
			"\n    def test_b(self):\n        pass\n", 2},
		{"class ends at the next module statement", "class TestA:\n    def test_a(self):\n        pass\n\nX = 1\n\n    # stray\ndef test_b():\n    pass\n", 2},
		{"conditional definitions are left out", "import sys\n\nif sys.version_info > (3,):\n    def test_a():\n        pass\n", 0},
		{"tabs and CRLF", "class TestA:\r\n\tdef test_a(self):\r\n\t\tpass\r\n", 1},
	}
	for _, c := range cases {
		if got := countTestFunctions(c.src); got != c.want {
			t.Errorf("%s: %d tests, want %d", c.name, got, c.want)
		}
	}
}

func TestCollectableTestFile(t *testing.T) {
	cases := map[string]bool{
		"tests/test_a.py": true, "test_a.py": true, "pkg/a_test.py": true, "tests/conftest.py": false,
		"tests/helpers.py": false, ".hidden/test_a.py": false, "build/test_a.py": false, "venv/lib/test_a.py": false,
		"pkg.egg/test_a.py": false, "tests/test_a.txt": false,
	}
	for p, want := range cases {
		if got := collectableTestFile(p); got != want {
			t.Errorf("%s: collectable %v, want %v", p, got, want)
		}
	}
}

func TestCrossCheckTests(t *testing.T) {
	census := testCensus{Files: []string{"tests/test_a.py"}, Tests: 3}
	cases := []struct {
		name                   string
		stdout                 string
		truncated              bool
		wantFailure, wantWarns string
	}{
		{"all ran", "...                                   [100%]\n3 passed in 0.02s\n", false, "", ""},
		{"parametrize makes more", "4 passed in 0.02s\n", false, "", ""},
		{"framed summary", "============ 2 passed, 1 skipped, 2 warnings in 1.20s (0:00:01) ============\n", false, "",
			"1 of 3 tests were skipped"},
		{"xfail counts as run", "2 passed, 1 xfailed in 0.1s\n", false, "", "1 of 3"},
		{"deselected do not count", "2 passed, 1 deselected in 0.02s\n", false, "pytest accounted for 2 tests", ""},
		{"collect only", "3 tests collected in 0.01s\n", false, "without its final summary line", ""},
		{"no summary", "hello\n", false, "without its final summary line", ""},
		{"cut off", "....", true, "cut off", ""},
		{"no tests ran", "no tests ran in 0.01s\n", false, "pytest accounted for 0 tests", ""},
		{"failures with exit 0", "1 failed, 2 passed in 0.1s\n", false, "1 failed or erroring", ""},
		{"last summary wins", "3 passed in 0.1s\nnoise\n1 passed, 2 deselected in 0.1s\n", false, "accounted for 1 tests", ""},
	}
	for _, c := range cases {
		v := crossCheckTests(runner.Result{Stdout: c.stdout, StdoutTruncated: c.truncated}, census)
		if (v.failure == "") != (c.wantFailure == "") || !strings.Contains(v.failure, c.wantFailure) {
			t.Errorf("%s: failure %q, want one containing %q", c.name, v.failure, c.wantFailure)
		}
		if (v.warning == "") != (c.wantWarns == "") || !strings.Contains(v.warning, c.wantWarns) {
			t.Errorf("%s: warning %q, want one containing %q", c.name, v.warning, c.wantWarns)
		}
	}
}
