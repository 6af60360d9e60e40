package activities

import (
	"context"
	"log/slog"
	"os"
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

// ProbeTools finds the review tools once per worker, running each probe
// through the runner (so allow-list and sandbox apply) in a scratch dir.
func ProbeTools(ctx context.Context, r *runner.Runner, log *slog.Logger) *Toolbox {
	tb := &Toolbox{Sandbox: r.Sandbox(), SandboxNote: r.SandboxNote()}
	scratch, err := os.MkdirTemp("", "aiplatform-probe-")
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
		if v, ok := run(python, "--version"); ok {
			tb.PythonVersion = v
		}
		tb.Compile = Tool{Name: "compileall", Argv: []string{python, "-m", "compileall", "-q", "."}, Version: tb.PythonVersion}
	} else {
		tb.Compile = Tool{Name: "compileall", Reason: "no python3 or python executable is installed and allowed (ALLOWED_COMMANDS)"}
	}
	tb.Lint = probeLint(r, python, run, &tb.RuffVersion)
	tb.Tests = probeTests(r, python, run, &tb.PytestVersion)
	log.Info("review tools", "lint", tb.Lint.Name, "lint_ready", tb.Lint.Available(), "tests_ready", tb.Tests.Available(),
		"compile_ready", tb.Compile.Available(), "sandbox", tb.Sandbox, "sandbox_note", tb.SandboxNote)
	return tb
}

func probeLint(r *runner.Runner, python string, run func(...string) (string, bool), ruffVersion *string) Tool {
	if _, ok := r.Resolve("ruff"); ok {
		v, _ := run("ruff", "--version")
		*ruffVersion = v
		return Tool{Name: "ruff", Argv: []string{"ruff", "check", "--no-cache", "."}, Version: v}
	}
	reason := "ruff is not installed or not in ALLOWED_COMMANDS"
	if python == "" {
		return Tool{Name: "ruff", Reason: reason}
	}
	// flake8 with E and F selected checks what ruff's E,F rules check; the
	// import-order rules (I) have no stand-in.
	if v, ok := run(python, "-m", "flake8", "--version"); ok {
		return Tool{Name: "flake8", Argv: []string{python, "-m", "flake8", "--select=E,F", "--max-line-length=100",
			"--exclude=.git,__pycache__,.venv,.pytest_cache,.ruff_cache", "."},
			Version: firstLine(v), Reason: reason + "; flake8 (E,F) stands in"}
	}
	if v, ok := run(python, "-m", "pyflakes", "--version"); ok {
		return Tool{Name: "pyflakes", Argv: []string{python, "-m", "pyflakes", "."}, Version: firstLine(v),
			Reason: reason + "; pyflakes (F) stands in"}
	}
	return Tool{Name: "ruff", Reason: reason + ", and neither flake8 nor pyflakes is available"}
}

func probeTests(r *runner.Runner, python string, run func(...string) (string, bool), pytestVersion *string) Tool {
	flags := []string{"-q", "-p", "no:cacheprovider", "--color=no"}
	if _, ok := r.Resolve("pytest"); ok {
		if v, ok := run("pytest", "--version"); ok {
			*pytestVersion = firstLine(v)
			return Tool{Name: "pytest", Argv: append([]string{"pytest"}, flags...), Version: *pytestVersion}
		}
	}
	if python != "" {
		if v, ok := run(python, "-m", "pytest", "--version"); ok {
			*pytestVersion = firstLine(v)
			return Tool{Name: "pytest", Argv: append([]string{python, "-m", "pytest"}, flags...), Version: *pytestVersion}
		}
	}
	return Tool{Name: "pytest", Reason: "pytest is not installed or not in ALLOWED_COMMANDS"}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
