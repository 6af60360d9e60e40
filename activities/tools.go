package activities

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"ai-platform/internal/runner"
)

// Tool is one review check's command, or why it cannot run here.
type Tool struct {
	Name    string   `json:"name"`
	Argv    []string `json:"argv,omitempty"`
	Version string   `json:"version,omitempty"`
	// Reason says why the check is skipped (Argv empty) or what stands in.
	Reason string `json:"reason,omitempty"`
}

// Available reports whether the check can run.
func (t Tool) Available() bool { return len(t.Argv) > 0 }

// Toolbox is what the worker found at start: which linter, compiler and test
// runner it can use through the safe runner, with their versions.
type Toolbox struct {
	Lint          Tool   `json:"lint"`
	Compile       Tool   `json:"compile"`
	Tests         Tool   `json:"tests"`
	PythonVersion string `json:"python_version,omitempty"`
	RuffVersion   string `json:"ruff_version,omitempty"`
	PytestVersion string `json:"pytest_version,omitempty"`
	Sandbox       string `json:"sandbox"`
	SandboxNote   string `json:"sandbox_note,omitempty"`
}

// The platform's lint settings. They are passed on every linter's command
// line, and the linters are told to ignore configuration files, because the
// project is written by the model: a ruff.toml, setup.cfg, tox.ini or .flake8
// it ships (ignore = ["ALL"], extend-ignore, a huge line length) would
// otherwise decide whether its own code passes. The codex has no line-length
// setting; its coder rules ask for "lines of at most 100 characters", and the
// static long-line check uses the same constant.
const (
	lineLength = 100
	// ruffRules are the rules the codex's coder constraints name: pycodestyle
	// errors (E), pyflakes (F) and import order (I), as the templates' own
	// ruff.toml selects them.
	ruffRules = "E,F,I"
	// flake8Rules is what flake8 can check of ruffRules: it has no import
	// order rules.
	flake8Rules = "E,F"
	// lintExclude are the directories the workspace never collects (tool
	// caches, VCS metadata, virtualenvs; see workspace.skipDir). Passing the
	// list replaces each linter's own default, which for ruff also skips
	// build/, dist/ and venv/, where a project could otherwise hide code
	// from lint while still importing it.
	lintExclude = ".git,__pycache__,.pytest_cache,.ruff_cache,.mypy_cache,.venv,node_modules"
)

// pytestBootstrap starts pytest from the interpreter's isolated mode (so the
// pytest package is imported before the workspace is on sys.path and cannot
// be shadowed by a workspace pytest.py or _pytest/), then puts the project
// root first on sys.path so its tests can import its modules, as a pytest.ini
// with "pythonpath = ." did. pytest's own -o pythonpath=. cannot do this: with
// the project's configuration ignored (-c /dev/null) it resolves "." against
// /dev, and with no ini file at all pytest 7 fails an assertion on it.
const pytestBootstrap = "import os, sys, pytest; sys.path.insert(0, os.getcwd()); raise SystemExit(pytest.main())"

// pyModule is the argv that runs a Python tool module in isolated mode. -I
// implies -E (PYTHON* variables ignored) and -s (no user site-packages) and,
// above all, keeps the current directory off sys.path: without it "python3
// -m compileall" in the workspace imports a workspace compileall.py, which
// can print nothing and exit 0 whatever the code looks like.
func pyModule(python, module string, args ...string) []string {
	return append([]string{python, "-I", "-m", module}, args...)
}

// ruffArgv is ruff with the platform's settings only. --isolated ignores
// every pyproject.toml/ruff.toml; --no-respect-gitignore stops a shipped
// .gitignore from hiding files; --ignore-noqa stops "# noqa" and
// "# ruff: noqa" comments from silencing findings (a file-level one is as
// good as ignore = ["ALL"]). --line-length is hidden from ruff check's help
// but accepted by it.
func ruffArgv() []string {
	return []string{"ruff", "check", "--isolated", "--no-cache", "--no-respect-gitignore", "--ignore-noqa",
		"--select=" + ruffRules, "--line-length=" + strconv.Itoa(lineLength), "--exclude=" + lintExclude, "."}
}

// flake8Argv is the stand-in linter with the platform's settings: --isolated
// ignores setup.cfg, tox.ini and .flake8 (and any local plugins they name),
// --disable-noqa ignores "# noqa" and "# flake8: noqa".
func flake8Argv(python string) []string {
	return pyModule(python, "flake8", "--isolated", "--disable-noqa", "--select="+flake8Rules,
		"--max-line-length="+strconv.Itoa(lineLength), "--exclude="+lintExclude, ".")
}

// pyflakesArgv is the last stand-in; pyflakes reads no configuration and has
// no noqa comments.
func pyflakesArgv(python string) []string { return pyModule(python, "pyflakes", ".") }

// compileArgv byte-compiles every file. -f recompiles even where a
// __pycache__ entry looks current: compileall otherwise skips a source whose
// cached .pyc records its size and mtime, and a .pyc found in the workspace
// is not the platform's to trust (a forged one would hide a file that does
// not compile).
func compileArgv(python string) []string { return pyModule(python, "compileall", "-f", "-q", ".") }

// pytestArgv runs the project's tests under the platform's pytest settings:
//   - -I and the bootstrap (see pytestBootstrap): the workspace cannot shadow
//     pytest; -B replaces PYTHONDONTWRITEBYTECODE, which -I ignores, so
//     assertion rewriting leaves no __pycache__ in the workspace.
//   - -c /dev/null: the project's pytest.ini, pyproject.toml, tox.ini and
//     setup.cfg are not read, so they cannot add options (addopts = --co,
//     -k, --deselect, -p some_workspace_module) or redefine what a test is
//     (python_files, python_functions), which would let the cross-check in
//     Report.fold count helper functions as tests. Collection therefore uses
//     pytest's defaults, the same rules testCensus applies.
//   - --rootdir=. and --confcutdir=.: with -c /dev/null pytest would take
//     /dev as both, and conftest.py files above the workspace would be read.
//   - -p no:cacheprovider: no .pytest_cache in the workspace.
//   - --disable-warnings: the warnings summary can be long; dropping it keeps
//     the final summary line, which the cross-check reads, inside the
//     runner's output cap.
//
// What this cannot stop: conftest.py and every module the tests import run
// inside this pytest process, so they can rewrite the outcome; see the
// comment on crossCheckTests.
func pytestArgv(python string) []string {
	return []string{python, "-I", "-B", "-c", pytestBootstrap,
		"-c", "/dev/null", "--rootdir=.", "--confcutdir=.", "-p", "no:cacheprovider",
		"-q", "--color=no", "--disable-warnings"}
}

// ProbeTools finds the review tools once per worker, running each probe
// through the runner (so allow-list and sandbox apply) in a scratch dir. The
// probes use the same isolated invocation as the checks, so a tool that is
// only reachable without -I (through PYTHONPATH, the user site, or an
// interpreter that has no -I) is reported as missing rather than failing
// every review.
//
// The probes run in a scratch directory made under scratchParent (empty: the
// system's temporary directory). A worker that sends commands to the sandbox
// service passes its workspace root: the service runs commands only in a
// directory directly under that root.
func ProbeTools(ctx context.Context, r runner.Executor, scratchParent string, log *slog.Logger) *Toolbox {
	tb := &Toolbox{Sandbox: r.Sandbox(), SandboxNote: r.SandboxNote()}
	scratch, err := os.MkdirTemp(scratchParent, "aiplatform-probe-")
	if err != nil {
		log.Warn("tool probe: no scratch dir", "error", err)
		return tb
	}
	defer os.RemoveAll(scratch)
	run := func(argv ...string) (string, bool) {
		res := r.Run(ctx, runner.Spec{Argv: argv, Dir: scratch, Purpose: "probe"})
		out := strings.TrimSpace(res.Stdout + " " + res.Stderr)
		return out, res.Ran && res.ExitCode != nil && *res.ExitCode == 0
	}
	python := ""
	for _, name := range []string{"python3", "python"} {
		if _, ok := r.Resolve(name); ok {
			python = name
			break
		}
	}
	if python != "" {
		// An interpreter without -I (Python 2) fails here and is not used.
		if v, ok := run(python, "-I", "--version"); ok {
			tb.PythonVersion = v
		} else {
			log.Warn("tool probe: python does not run in isolated mode", "python", python, "output", firstLine(v))
			python = ""
		}
	}
	if python != "" {
		tb.Compile = Tool{Name: "compileall", Argv: compileArgv(python), Version: tb.PythonVersion}
	} else {
		tb.Compile = Tool{Name: "compileall", Reason: "no python3 or python executable that runs in isolated mode (-I) is installed and allowed (ALLOWED_COMMANDS)"}
	}
	tb.Lint = probeLint(r, python, run, &tb.RuffVersion)
	tb.Tests = probeTests(python, run, &tb.PytestVersion)
	log.Info("review tools", "lint", tb.Lint.Name, "lint_ready", tb.Lint.Available(), "tests_ready", tb.Tests.Available(),
		"compile_ready", tb.Compile.Available(), "sandbox", tb.Sandbox, "sandbox_note", tb.SandboxNote)
	return tb
}

func probeLint(r runner.Executor, python string, run func(...string) (string, bool), ruffVersion *string) Tool {
	// ruff is a native executable found on the runner's own PATH, never in
	// the workspace, so it needs no isolation from sys.path.
	if _, ok := r.Resolve("ruff"); ok {
		v, _ := run("ruff", "--version")
		*ruffVersion = v
		return Tool{Name: "ruff", Argv: ruffArgv(), Version: v}
	}
	reason := "ruff is not installed or not in ALLOWED_COMMANDS"
	if python == "" {
		return Tool{Name: "ruff", Reason: reason}
	}
	// flake8 with E and F selected checks what ruff's E,F rules check; the
	// import-order rules (I) have no stand-in.
	if v, ok := run(pyModule(python, "flake8", "--version")...); ok {
		return Tool{Name: "flake8", Argv: flake8Argv(python), Version: firstLine(v), Reason: reason + "; flake8 (E,F) stands in"}
	}
	if v, ok := run(pyModule(python, "pyflakes", "--version")...); ok {
		return Tool{Name: "pyflakes", Argv: pyflakesArgv(python), Version: firstLine(v),
			Reason: reason + "; pyflakes (F) stands in"}
	}
	return Tool{Name: "ruff", Reason: reason + ", and neither flake8 nor pyflakes is available"}
}

// probeTests looks for pytest as a module of the isolated interpreter only.
// A bare pytest executable is not used: it cannot be given -I or the
// bootstrap that makes the project importable under -c /dev/null.
func probeTests(python string, run func(...string) (string, bool), pytestVersion *string) Tool {
	if python != "" {
		if v, ok := run(pyModule(python, "pytest", "--version")...); ok {
			*pytestVersion = firstLine(v)
			return Tool{Name: "pytest", Argv: pytestArgv(python), Version: *pytestVersion}
		}
	}
	return Tool{Name: "pytest", Reason: "pytest is not importable by an allowed python3 in isolated mode (python3 -I -m pytest)"}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
