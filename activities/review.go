package activities

import (
	"context"
	"fmt"
	"strings"

	"ai-platform/internal/llm"
	"ai-platform/internal/runner"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// Check is one review check's outcome.
type Check struct {
	Name            string  `json:"name"`
	Tool            string  `json:"tool"`
	Status          string  `json:"status"` // passed | failed | skipped
	Reason          string  `json:"reason,omitempty"`
	Command         string  `json:"command,omitempty"`
	ExitCode        *int    `json:"exit_code"`
	DurationSeconds float64 `json:"duration_seconds"`
	RunID           string  `json:"run_id,omitempty"`
}

// Report is the review_report artifact: the reference's shape plus checks,
// skipped reasons, sandbox and the model's critique.
type Report struct {
	Kind           string           `json:"kind"`
	Iteration      int              `json:"iteration"`
	RunID          string           `json:"run_id,omitempty"`
	Status         string           `json:"status"`
	Passed         bool             `json:"passed"`
	Message        string           `json:"message"`
	Timestamp      string           `json:"timestamp"`
	StartedAt      string           `json:"started_at"`
	FinishedAt     string           `json:"finished_at"`
	Issues         []string         `json:"issues"`
	Warnings       []string         `json:"warnings"`
	Errors         []string         `json:"errors"`
	PassedChecks   []string         `json:"passed_checks"`
	Checks         []Check          `json:"checks"`
	FilesReviewed  int              `json:"files_reviewed"`
	ChecklistUsed  []string         `json:"checklist_used"`
	Ruff           runner.Result    `json:"ruff"`
	Pytest         runner.Result    `json:"pytest"`
	Compileall     runner.Result    `json:"compileall"`
	CommandTimeout bool             `json:"command_timeout"`
	Sandbox        string           `json:"sandbox"`
	ModelReview    *llm.ReviewReply `json:"model_review,omitempty"`
	Summary        map[string]any   `json:"summary"`
	FilesToFix     []string         `json:"files_to_fix"`
}

// Review runs the static checks, the lint/compile/test commands and (for
// final reviews) the model critique, and stores a review_report.
func (a *Activities) Review(ctx context.Context, in task.ReviewIn) (task.ReviewOut, error) {
	defer a.keepAlive(ctx)()
	t, err := a.getTask(ctx, in.Step.TaskID)
	if err != nil {
		return task.ReviewOut{}, err
	}
	dir, files, err := a.workspace(ctx, t.ID)
	if err != nil {
		return task.ReviewOut{}, err
	}
	defer dir.Close()
	rep := &Report{Kind: in.Kind, Iteration: in.Iteration, RunID: in.RunID, StartedAt: task.FormatTime(a.Now()),
		Issues: []string{}, Warnings: []string{}, Errors: []string{}, PassedChecks: []string{}, Checks: []Check{},
		ChecklistUsed: a.Codex.Checklist, FilesReviewed: len(files), Sandbox: a.Runner.Sandbox(), FilesToFix: []string{}}
	rep.Ruff, rep.Pytest, rep.Compileall = notRun(), notRun(), notRun()
	if err := a.event(ctx, in.Step, "review_started", task.EventReviewStarted, map[string]any{
		"kind": in.Kind, "iteration": in.Iteration, "run_id": in.RunID, "started_at": rep.StartedAt,
	}); err != nil {
		return task.ReviewOut{}, err
	}
	proj := facts{known: staticChecks(rep, files, in.Planned, in.Kind != task.ReviewIteration), tests: countTests(files)}
	hasPy := false
	for _, f := range files {
		hasPy = hasPy || strings.HasSuffix(f.Path, ".py")
	}
	// pytest runs when there are files it would collect; from then on it has
	// to find and run the tests the census counted (see Report.fold).
	hasTests := len(proj.tests.Files) > 0
	tb := a.Tools
	lint := tb.Lint
	steps := []struct {
		purpose string
		tool    Tool
		need    bool
		none    string
		slot    *runner.Result
	}{
		{"lint", lint, hasPy, "Ruff skipped: no Python files", &rep.Ruff},
		{"compile", tb.Compile, hasPy, "Compileall skipped: no Python files", &rep.Compileall},
		{"tests", tb.Tests, hasTests, "Pytest skipped: no tests found", &rep.Pytest},
	}
	if hasPy && lint.Available() && lint.Name != "ruff" {
		// The stand-in linter ran, but ruff itself did not: say so.
		rep.skip("ruff", "ruff", "ruff is not installed or not in ALLOWED_COMMANDS; "+lint.Name+" ran in its place")
	}
	for _, s := range steps {
		if !s.need {
			rep.skip(s.purpose, s.tool.Name, s.none)
			continue
		}
		if err := a.runCheck(ctx, in.Step, dir.Path(), s.purpose, s.tool, rep, s.slot, proj); err != nil {
			return task.ReviewOut{}, err
		}
	}
	out := task.ReviewOut{}
	if in.Kind != task.ReviewIteration {
		if err := a.critique(ctx, in, t, files, rep, &out); err != nil {
			return task.ReviewOut{}, err
		}
	}
	rep.finish(a.Now(), len(files), in.Planned)
	id, err := a.artifact(ctx, in.Step, "review", task.ArtifactReviewReport, task.RoleReviewer, rep)
	if err != nil {
		return task.ReviewOut{}, err
	}
	fin := map[string]any{"kind": in.Kind, "iteration": in.Iteration, "run_id": in.RunID, "passed": rep.Passed,
		"status": rep.Status, "started_at": rep.StartedAt, "finished_at": rep.FinishedAt, "report_id": id}
	if err := a.event(ctx, in.Step, "review_finished", task.EventReviewFinished, fin); err != nil {
		return task.ReviewOut{}, err
	}
	if in.Kind != task.ReviewRerun {
		if err := a.event(ctx, in.Step, "review_result", task.EventReviewResult, map[string]any{
			"status": rep.Status, "issues_count": len(rep.Errors), "kind": in.Kind,
		}); err != nil {
			return task.ReviewOut{}, err
		}
	}
	a.log(ctx, in.Step).Info("review done", "kind", in.Kind, "iteration", in.Iteration, "status", rep.Status,
		"errors", len(rep.Errors), "warnings", len(rep.Warnings), "sandbox", rep.Sandbox)
	out.Passed, out.Status, out.IssuesCount, out.WarningsCount = rep.Passed, rep.Status, len(rep.Errors), len(rep.Warnings)
	out.Findings, out.FilesToFix, out.CommandTimeout, out.ReportID = findings(rep), rep.FilesToFix, rep.CommandTimeout, id
	if limit := max(1, in.Plan.MaxFilesPerIteration); len(out.FilesToFix) > limit {
		out.FilesToFix = out.FilesToFix[:limit]
	}
	return out, a.saveSnapshot(ctx, t.ID, task.StageReview, fmt.Sprintf("%s review: %s", in.Kind, rep.Status), nil)
}

func notRun() runner.Result { return runner.Result{} }

// runCheck runs one command through the safe runner and folds its outcome
// into the report. Every run is an event pair, a command_log artifact and one
// command charge, all keyed by the step so a retried review does not repeat
// them in the store.
func (a *Activities) runCheck(ctx context.Context, step task.Step, dir, purpose string, tool Tool, rep *Report, slot *runner.Result, proj facts) error {
	if !tool.Available() {
		rep.skip(purpose, tool.Name, tool.Reason)
		return nil
	}
	runID := StableID(step.TaskID, step.Key+"/run/"+purpose)
	if err := a.event(ctx, step, "cmd/"+purpose+"/started", task.EventCommandStarted, map[string]any{
		"run_id": runID, "command": strings.Join(tool.Argv, " "), "cwd": ".", "purpose": purpose,
		"started_at": task.FormatTime(a.Now()),
	}); err != nil {
		return err
	}
	if err := a.chargeCommand(ctx, step, purpose); err != nil {
		return err
	}
	res := a.Runner.Run(ctx, runner.Spec{Argv: tool.Argv, Dir: dir, Purpose: purpose, RunID: runID})
	a.observeCommand(purpose, res)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if res.Error == runner.ErrSandboxUnavailable {
		// The command never ran: retry the activity rather than judge the project.
		return fmt.Errorf("running %s: %s", purpose, res.Stderr)
	}
	*slot = res
	payload := map[string]any{}
	if err := remarshal(res, &payload); err != nil {
		return err
	}
	if err := a.event(ctx, step, "cmd/"+purpose+"/finished", task.EventCommandFinished, payload); err != nil {
		return err
	}
	if _, err := a.artifact(ctx, step, "cmd/"+purpose, task.ArtifactCommandLog, task.RoleRunner, res); err != nil {
		return err
	}
	if res.QuotaExceeded {
		// The project outgrew what a command may write: that is the task's
		// storage limit, not a check result, and retrying cannot help.
		return nonRetryable(task.ErrTypeStorageLimit, "the %s command was stopped: %s (COMMAND_WORKSPACE_MAX_MB, COMMAND_WORKSPACE_MAX_FILES); everything it wrote was deleted",
			purpose, res.QuotaDetail)
	}
	rep.fold(purpose, tool, res, proj)
	return nil
}

// critique asks the model to review against the checklist; its findings are
// advisory warnings, recorded with its verdict.
func (a *Activities) critique(ctx context.Context, in task.ReviewIn, t store.Task, files []store.File, rep *Report, out *task.ReviewOut) error {
	started := task.FormatTime(a.Now())
	b, err := a.brief(ctx, t, task.StageReview)
	if err != nil {
		return err
	}
	b.Checklist = a.Codex.Checklist
	b.ExistingFiles = shownFiles(files, task.CodeTask{Type: task.CodeFix}, in.Planned)
	reply, call, err := a.Agents.Review(ctx, b, attempt(ctx), a.quotaGuard(in.Step.OwnerKey))
	if cerr := a.chargeTokens(ctx, in.Step, task.StageReview, call, started); cerr != nil {
		return cerr
	}
	if err != nil {
		return a.llmFailure(ctx, in.Step, task.StageReview, err)
	}
	out.TokensIn, out.TokensOut = call.Usage.InputTokens, call.Usage.OutputTokens
	rep.ModelReview = &reply
	// A model that asks for changes fails the review with its issues; its
	// warnings, and issues under an approval, stay advisory.
	for _, s := range reply.Issues {
		if reply.Verdict == "request_changes" {
			rep.Issues = append(rep.Issues, "model: "+s)
		} else {
			rep.Warnings = append(rep.Warnings, "model: "+s)
		}
	}
	if reply.Verdict == "request_changes" && len(reply.Issues) == 0 {
		rep.Issues = append(rep.Issues, "model: requested changes: "+firstNonEmpty(reply.Summary, "no details given"))
	}
	for _, s := range reply.Warnings {
		rep.Warnings = append(rep.Warnings, "model: "+s)
	}
	return nil
}

// staticChecks adds the checks that need no tools and returns the set of
// project paths (to recognise file names in tool output). Long lines are
// measured against the platform's lineLength, the limit the linters are
// given, never a line-length the project's own ruff.toml or pyproject.toml
// claims: the model writes those files too.
func staticChecks(rep *Report, files []store.File, planned []task.PlannedFile, final bool) map[string]bool {
	known := map[string]bool{}
	for _, f := range files {
		known[f.Path] = true
	}
	if final {
		missing := map[string][]string{}
		var order []string
		for _, p := range planned {
			if !known[p.Path] {
				if _, ok := missing[p.Component]; !ok {
					order = append(order, p.Component)
				}
				missing[p.Component] = append(missing[p.Component], p.Path)
				rep.addFix(p.Path)
			}
		}
		for _, c := range order {
			m := missing[c]
			rep.Issues = append(rep.Issues, fmt.Sprintf("Missing %d files from %s: %s", len(m), c, strings.Join(m[:min(3, len(m))], ", ")))
		}
		if len(order) == 0 && len(planned) > 0 {
			rep.PassedChecks = append(rep.PassedChecks, "All planned files exist")
		}
	}
	tests, docs := false, false
	for _, f := range files {
		tests = tests || isTestPath(f.Path)
		docs = docs || strings.HasSuffix(f.Path, ".md")
		if !strings.HasSuffix(f.Path, ".py") {
			continue
		}
		if len(strings.TrimSpace(string(f.Content))) == 0 && !strings.HasSuffix(f.Path, "__init__.py") {
			rep.Issues = append(rep.Issues, f.Path+": file is empty")
			rep.addFix(f.Path)
		}
		if w := longLines(f, lineLength); w != "" {
			rep.Warnings = append(rep.Warnings, w)
		}
		if !hasModuleDocstring(string(f.Content)) && !strings.HasSuffix(f.Path, "__init__.py") {
			rep.Warnings = append(rep.Warnings, f.Path+": missing module docstring")
		}
	}
	if !tests {
		rep.Warnings = append(rep.Warnings, "No test files found")
	}
	if !docs {
		rep.Warnings = append(rep.Warnings, "No documentation (.md) file found")
	}
	return known
}

func longLines(f store.File, limit int) string {
	var bad []string
	count := 0
	for i, l := range strings.Split(string(f.Content), "\n") {
		if n := len([]rune(l)); n > limit {
			count++
			if len(bad) < 3 {
				bad = append(bad, fmt.Sprintf("line %d(%d chars)", i+1, n))
			}
		}
	}
	if count == 0 {
		return ""
	}
	s := fmt.Sprintf("%s: Lines too long: %s", f.Path, strings.Join(bad, ", "))
	if count > 3 {
		s += fmt.Sprintf(" and %d more", count-3)
	}
	return s
}

func hasModuleDocstring(src string) bool {
	for i, l := range strings.Split(src, "\n") {
		if i >= 5 {
			break
		}
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, `"""`) || strings.HasPrefix(t, `'''`) || strings.HasPrefix(t, `r"""`) {
			return true
		}
	}
	return false
}
