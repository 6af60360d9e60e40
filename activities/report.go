package activities

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"ai-platform/internal/runner"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

var (
	lintPathRe    = regexp.MustCompile(`(?m)^(?:\./)?([^\s:]+\.py):\d+(?::\d+)?:?\s`)
	compilePathRe = regexp.MustCompile(`(?m)(?:File "|\*\*\* Error compiling ')(?:\./)?([^"']+\.py)`)
	pytestFailRe  = regexp.MustCompile(`(?m)^(?:FAILED|ERROR) (?:\./)?([^\s:]+\.py)`)
	tracePathRe   = regexp.MustCompile(`(?m)^(?:\./)?([^\s:]+\.py):\d+: `)
	pytestLineRe  = regexp.MustCompile(`(?m)^(FAILED .*|ERROR .*|E {2,}.*)$`)
)

// Bounds on what a review hands back to the workflow and the next prompt.
const (
	maxFindings      = 30
	maxFindingLength = 300
	maxDetailLines   = 15
)

func (r *Report) skip(purpose, tool, reason string) {
	r.Checks = append(r.Checks, Check{Name: purpose, Tool: tool, Status: "skipped", Reason: reason})
	r.Warnings = append(r.Warnings, reason)
}

func (r *Report) addFix(path string) {
	if !slices.Contains(r.FilesToFix, path) {
		r.FilesToFix = append(r.FilesToFix, path)
	}
}

// facts is what the platform knows about the workspace under review
// without running any of it: its paths, to recognise them in tool output,
// and its own count of the tests, to hold pytest's report against.
type facts struct {
	known map[string]bool
	tests testCensus
}

// fold records a command's outcome: a pass, a skip (tool missing or blocked)
// or a failure with the files it points at. A test run passes only if pytest
// exits 0 and its summary accounts for every test the census found.
func (r *Report) fold(purpose string, tool Tool, res runner.Result, p facts) {
	c := Check{Name: purpose, Tool: tool.Name, Command: res.Command, ExitCode: res.ExitCode,
		DurationSeconds: res.DurationSeconds, RunID: res.RunID, Reason: tool.Reason}
	fail := func(msg string) {
		c.Status = "failed"
		r.Errors = append(r.Errors, msg)
	}
	switch {
	case res.TimedOut:
		r.CommandTimeout = true
		fail(fmt.Sprintf("%s timed out after %.0f seconds", tool.Name, res.DurationSeconds))
	case res.Blocked:
		c.Status, c.Reason = "skipped", tool.Name+" is not in ALLOWED_COMMANDS"
		r.Warnings = append(r.Warnings, c.Reason)
	case res.Skipped:
		c.Status, c.Reason = "skipped", firstNonEmpty(res.SkipReason, tool.Name+" is not installed")
		r.Warnings = append(r.Warnings, c.Reason)
	case !res.Ran:
		fail(fmt.Sprintf("%s error: %s", tool.Name, res.Error))
	case res.ExitCode != nil && *res.ExitCode == 0:
		if purpose == "tests" {
			verdict := crossCheckTests(res, p.tests)
			if verdict.warning != "" {
				r.Warnings = append(r.Warnings, verdict.warning)
			}
			if verdict.failure != "" {
				c.Reason = verdict.failure
				fail(verdict.failure)
				p.tests.fixTestFiles(r, p.known)
				break
			}
		}
		c.Status = "passed"
		r.PassedChecks = append(r.PassedChecks, fmt.Sprintf("%s passed", tool.Name))
	case purpose == "tests" && res.ExitCode != nil && *res.ExitCode == pytestNoTestsCollected:
		// The tests check runs only when the project has test files, so
		// collecting nothing from them is a failure, never a skip: an empty
		// or hostile test suite (no test functions, a conftest that
		// deselects everything) must not read as "no tests, nothing failed".
		c.Reason = "pytest collected no tests: " + p.tests.describe()
		fail(c.Reason)
		p.tests.fixTestFiles(r, p.known)
	default:
		code := -1
		if res.ExitCode != nil {
			code = *res.ExitCode
		}
		fail(fmt.Sprintf("%s failed with exit code %d", tool.Name, code))
		out := res.Stdout + "\n" + res.Stderr
		for _, re := range pathPatterns(purpose) {
			for _, m := range re.FindAllStringSubmatch(out, -1) {
				if p.known[m[1]] {
					r.addFix(m[1])
				}
			}
		}
		r.Errors = append(r.Errors, detailLines(purpose, out)...)
	}
	r.Checks = append(r.Checks, c)
}

func pathPatterns(purpose string) []*regexp.Regexp {
	switch purpose {
	case "lint":
		return []*regexp.Regexp{lintPathRe}
	case "compile":
		return []*regexp.Regexp{compilePathRe, lintPathRe}
	}
	return []*regexp.Regexp{pytestFailRe, tracePathRe}
}

// detailLines picks the lines of a failing tool's output worth showing the
// coder: lint findings, or pytest's failure summaries and E-lines.
func detailLines(purpose, out string) []string {
	var lines []string
	if purpose == "tests" {
		for _, m := range pytestLineRe.FindAllString(out, -1) {
			lines = append(lines, strings.TrimSpace(m))
		}
	} else {
		for _, l := range strings.Split(out, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Listing ") {
				lines = append(lines, l)
			}
		}
	}
	if len(lines) > maxDetailLines {
		lines = append(lines[:maxDetailLines], fmt.Sprintf("... and %d more lines", len(lines)-maxDetailLines))
	}
	for i, l := range lines {
		lines[i] = purpose + ": " + clip(l, maxFindingLength)
	}
	return lines
}

// finish derives errors, verdict, message and summary.
func (r *Report) finish(now time.Time, files int, planned []task.PlannedFile) {
	r.Errors = append(append([]string{}, r.Issues...), r.Errors...)
	r.Passed = len(r.Errors) == 0 && !r.CommandTimeout
	switch {
	case !r.Passed:
		r.Status, r.Message = "rejected", fmt.Sprintf("Found %d critical issues", len(r.Errors))
	case len(r.Warnings) > 0:
		r.Status, r.Message = "approved_with_warnings", fmt.Sprintf("Approved with %d warnings", len(r.Warnings))
	default:
		r.Status, r.Message = "approved", "All checks passed"
	}
	r.FinishedAt = task.FormatTime(now)
	r.Timestamp = r.FinishedAt
	sources, tested := 0, 0
	for _, p := range planned {
		if p.Kind == "source" && strings.HasSuffix(p.Path, ".py") {
			sources++
			if hasTestFor(p.Path, planned) {
				tested++
			}
		}
	}
	checks := map[string]string{}
	for _, c := range r.Checks {
		checks[c.Name] = c.Status
	}
	r.Summary = map[string]any{
		"total_files": files, "total_issues": len(r.Errors), "total_warnings": len(r.Warnings),
		"test_coverage": fmt.Sprintf("%d/%d files", tested, sources), "checks": checks,
	}
}

// hasTestFor reports whether the plan has a test module named after src.
func hasTestFor(src string, planned []task.PlannedFile) bool {
	base := strings.TrimSuffix(src[strings.LastIndex(src, "/")+1:], ".py")
	for _, p := range planned {
		b := p.Path[strings.LastIndex(p.Path, "/")+1:]
		if b == "test_"+base+".py" || b == base+"_test.py" {
			return true
		}
	}
	return false
}

// findings are the review messages handed to the next coder prompt.
func findings(r *Report) []string {
	var out []string
	for _, e := range r.Errors {
		if len(out) == maxFindings {
			break
		}
		out = append(out, clip(e, maxFindingLength))
	}
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// remarshal converts v to out through JSON (struct to event payload map).
func remarshal(v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	return json.Unmarshal(b, out)
}

// pytestNoTestsCollected is pytest's exit code when it collected no tests
// (pytest.ExitCode.NO_TESTS_COLLECTED), also the code when every collected
// test was deselected.
const pytestNoTestsCollected = 5

// testCensus is the platform's own count of the project's tests, made by
// reading the test files, never by running them: the files pytest's default
// collection picks (pytestArgv has pytest ignore the project's configuration,
// so its defaults are what apply) and the test functions and methods in
// them. It counts only what pytest is sure to collect, so it can fall short
// of pytest's number (parametrize, tests imported from elsewhere, nested
// classes) but should not exceed it. A passing run that reports fewer tests
// than the census means tests were hidden, deselected or never collected.
type testCensus struct {
	Files []string
	Tests int
}

// countTests takes the census of the project's test files.
func countTests(files []store.File) testCensus {
	var c testCensus
	for _, f := range files {
		if collectableTestFile(f.Path) {
			c.Files = append(c.Files, f.Path)
			c.Tests += countTestFunctions(string(f.Content))
		}
	}
	return c
}

// collectableTestFile reports whether pytest, with its default python_files
// and norecursedirs, collects the file at p (a slash-separated project path).
func collectableTestFile(p string) bool {
	if !isTestPath(p) {
		return false
	}
	dirs := strings.Split(p, "/")
	for _, d := range dirs[:len(dirs)-1] {
		if strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".egg") {
			return false
		}
		switch d {
		case "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}":
			return false
		}
	}
	return true
}

var (
	// testDefRe matches a function pytest collects by name: the default
	// python_functions is the prefix "test", for plain and async functions.
	testDefRe = regexp.MustCompile(`^(?:async[ \t]+)?def[ \t]+(test\w*)[ \t]*\(`)
	initDefRe = regexp.MustCompile(`^def[ \t]+__init__[ \t]*\(`)
	classRe   = regexp.MustCompile(`^class[ \t]+(\w+)[ \t]*(?:\(([^)]*)\))?[ \t]*:`)
	// fixtureRe matches a fixture decorator (@pytest.fixture or @fixture,
	// with or without arguments) but not @pytest.mark.usefixtures(...).
	fixtureRe = regexp.MustCompile(`^@[ \t]*(?:\w+[ \t]*\.[ \t]*)*fixture\b`)
	// blockRe matches the statements that end a run of decorators.
	blockRe = regexp.MustCompile(`^(?:async[ \t]+def|def|class)\b`)
)

// countTestFunctions counts the tests in one test module the way pytest's
// default collection finds them, by a line scan rather than a parser: test*
// functions at module level, and test* methods directly in a class that
// pytest collects (named Test* without an __init__, or a unittest TestCase).
// Fixtures are not tests, even when named test_*, and a name defined twice
// is one test, as in Python. Anything less certain (a def inside an if or a
// nested class) is left out, which keeps the count at or below pytest's.
func countTestFunctions(src string) int {
	type class struct {
		collect, unittest, hasInit bool
		tests                      map[string]bool
	}
	module := map[string]bool{}
	var classes []*class
	var cur *class   // the class whose body the scan is in, nil at module level
	body := ""       // indentation of cur's body, from its first line
	fixture := false // a fixture decorator precedes the next def or class at this level
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimRight(line, " \t\r")
		text := strings.TrimLeft(line, " \t")
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		indent := line[:len(line)-len(text)]
		if indent == "" {
			if cur != nil {
				cur, body, fixture = nil, "", false
			}
		} else {
			if cur == nil {
				continue
			}
			if body == "" {
				body = indent
			}
			if indent != body {
				continue
			}
		}
		if strings.HasPrefix(text, "@") {
			fixture = fixture || fixtureRe.MatchString(text)
			continue
		}
		// Only a def or class ends a run of decorators; the lines between
		// (such as the closing bracket of a decorator written over several
		// lines) do not.
		isFixture := fixture
		if blockRe.MatchString(text) {
			fixture = false
		}
		if m := testDefRe.FindStringSubmatch(text); m != nil {
			switch {
			case isFixture:
			case cur != nil:
				cur.tests[m[1]] = true
			default:
				module[m[1]] = true
			}
			continue
		}
		if cur != nil {
			cur.hasInit = cur.hasInit || initDefRe.MatchString(text)
			continue
		}
		if m := classRe.FindStringSubmatch(text); m != nil {
			unittest := strings.Contains(m[2], "TestCase")
			cur = &class{collect: unittest || strings.HasPrefix(m[1], "Test"), unittest: unittest, tests: map[string]bool{}}
			classes = append(classes, cur)
		}
	}
	n := len(module)
	for _, c := range classes {
		// pytest skips a Test* class with an __init__ (with a warning); a
		// unittest TestCase is collected by unittest's rules instead.
		if c.collect && (c.unittest || !c.hasInit) {
			n += len(c.tests)
		}
	}
	return n
}

// describe says what the census found, for failure messages.
func (c testCensus) describe() string {
	if len(c.Files) == 0 {
		return "the platform found no test files that pytest collects"
	}
	shown := c.Files[:min(3, len(c.Files))]
	s := fmt.Sprintf("the platform found %d test functions in %d test files (%s", c.Tests, len(c.Files), strings.Join(shown, ", "))
	if len(c.Files) > len(shown) {
		s += fmt.Sprintf(" and %d more", len(c.Files)-len(shown))
	}
	return s + ")"
}

// fixTestFiles points the next iteration at the test files when the test
// run as a whole is wrong rather than one test failing.
func (c testCensus) fixTestFiles(r *Report, known map[string]bool) {
	for _, f := range c.Files {
		if known[f] {
			r.addFix(f)
		}
	}
}

var (
	// pytestSummaryRe matches pytest's final line, e.g. "3 passed in 0.02s",
	// "1 failed, 2 passed, 1 deselected, 3 warnings in 1.20s (0:00:01)" or
	// "no tests ran in 0.01s", once its "=" framing is trimmed.
	pytestSummaryRe = regexp.MustCompile(`^(?:no tests ran|\d+ [a-z]+(?:, \d+ [a-z]+)*) in \d+(?:\.\d+)?s\b`)
	pytestCountRe   = regexp.MustCompile(`(\d+) ([a-z]+)`)
)

// pytestSummary finds pytest's final summary line in out (the last one that
// looks like it) and returns it with its counts, keyed by outcome in the
// singular: passed, failed, error, skipped, xfailed, xpassed, deselected,
// warning.
func pytestSummary(out string) (string, map[string]int, bool) {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(strings.Trim(strings.TrimSpace(lines[i]), "="))
		if !pytestSummaryRe.MatchString(l) {
			continue
		}
		counts := map[string]int{}
		head, _, _ := strings.Cut(l, " in ")
		for _, m := range pytestCountRe.FindAllStringSubmatch(head, -1) {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				continue
			}
			word := m[2]
			if word == "errors" || word == "warnings" {
				word = strings.TrimSuffix(word, "s")
			}
			counts[word] += n
		}
		return l, counts, true
	}
	return "", nil, false
}

// testVerdict is the cross-check's outcome: a failure replaces the pass, a
// warning is added to it.
type testVerdict struct{ failure, warning string }

// crossCheckTests holds a pytest run that exited 0 against the census: its
// summary must account for every test the platform found, run (passed, or
// xfailed/xpassed) or skipped by the tests' own markers. Deselected tests,
// files pytest was told to ignore and tests it never collected do not count.
//
// What this cannot catch: conftest.py, and every module a test imports, run
// inside the pytest process, so they can rewrite test reports (a
// pytest_runtest_makereport hook turning failures into passes), the summary
// line and the exit status, or print a summary of their own and exit 0. The
// count only stops a run that collects, selects or reports fewer tests than
// the files define; it does not prove that the tests passed. The sandbox
// bounds what such a fake gains: the code runs without network, secrets or
// any writable place but its own workspace, so a forged pass can only
// mislead the verdict on that one task's own project, which its owner
// receives and can run; it cannot reach the platform, other tasks or the
// other checks, which run in separate processes with the tools' own code.
func crossCheckTests(res runner.Result, census testCensus) testVerdict {
	line, counts, ok := pytestSummary(res.Stdout)
	if !ok {
		why := "pytest exited 0 without its final summary line"
		if res.StdoutTruncated {
			why += " (its output was cut off at the runner's limit)"
		}
		return testVerdict{failure: why + ", so the platform cannot tell which tests ran"}
	}
	if bad := counts["failed"] + counts["error"]; bad > 0 {
		return testVerdict{failure: fmt.Sprintf("pytest exited 0 yet reported %d failed or erroring tests (%q)", bad, clip(line, 120))}
	}
	ran := counts["passed"] + counts["skipped"] + counts["xfailed"] + counts["xpassed"]
	if ran < census.Tests {
		return testVerdict{failure: fmt.Sprintf("pytest accounted for %d tests (%q), fewer than %s; "+
			"every test must be collected and run, none deselected or hidden", ran, clip(line, 120), census.describe())}
	}
	if n := counts["skipped"] + counts["xfailed"]; n > 0 {
		return testVerdict{warning: fmt.Sprintf("pytest: %d of %d tests were skipped or expected to fail", n, ran)}
	}
	return testVerdict{}
}
