package activities

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"ai-platform/internal/runner"
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

// fold records a command's outcome: a pass, a skip (tool missing, blocked,
// no tests collected) or a failure with the files it points at.
func (r *Report) fold(purpose string, tool Tool, res runner.Result, known map[string]bool) {
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
		c.Status = "passed"
		r.PassedChecks = append(r.PassedChecks, fmt.Sprintf("%s passed", tool.Name))
	case purpose == "tests" && res.ExitCode != nil && *res.ExitCode == 5:
		c.Status, c.Reason = "skipped", "Pytest skipped: no tests collected"
		r.Warnings = append(r.Warnings, c.Reason)
	default:
		code := -1
		if res.ExitCode != nil {
			code = *res.ExitCode
		}
		fail(fmt.Sprintf("%s failed with exit code %d", tool.Name, code))
		out := res.Stdout + "\n" + res.Stderr
		for _, re := range pathPatterns(purpose) {
			for _, m := range re.FindAllStringSubmatch(out, -1) {
				if known[m[1]] {
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
