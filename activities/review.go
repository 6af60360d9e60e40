package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"ai-platform/internal/agents"
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
	// Reused marks a check answered by an earlier passing run of the same
	// inputs (RunID names it) instead of running again.
	Reused bool `json:"reused,omitempty"`
}

// check is one review command to run (or reuse).
type check struct {
	purpose string
	tool    Tool
	slot    *runner.Result
	// inputs hashes what the command runs on (checkInputs); a run in
	// passed with the same inputs answers it (nil: run it, as a rerun
	// review does).
	inputs string
	passed map[string]runner.Result
}

// Report is the review_report artifact: the shape clients of the earlier
// system read, plus checks, skipped reasons, sandbox and the model's critique.
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
// final reviews) the model critique in one activity, and stores a
// review_report. Runs recorded before the review was split into
// ReviewCritique and ReviewChecks still call it.
func (a *Activities) Review(ctx context.Context, in task.ReviewIn) (task.ReviewOut, error) {
	return a.review(ctx, in, true)
}

// ReviewChecks runs the static checks and the lint/compile/test commands,
// folds in the model's critique when the workflow got one (in.Critique), and
// stores the review_report with its events. It calls no model, so a retry
// never repeats a critique; a retry after the report was stored answers from
// the stored report instead of running the commands again.
func (a *Activities) ReviewChecks(ctx context.Context, in task.ReviewIn) (task.ReviewOut, error) {
	return a.review(ctx, in, false)
}

// ReviewCritique asks the model to review the project against the codex
// checklist (final and rerun reviews). It starts the review: its
// review_started event comes first, and ReviewChecks finishes the review.
func (a *Activities) ReviewCritique(ctx context.Context, in task.ReviewIn) (task.Critique, error) {
	defer a.keepAlive(ctx)()
	t, err := a.getTask(ctx, in.Step.TaskID)
	if err != nil {
		return task.Critique{}, err
	}
	files, err := a.Store.GetFiles(ctx, t.ID)
	if err != nil {
		return task.Critique{}, storeErr(err, "loading files")
	}
	started := task.FormatTime(a.Now())
	if err := a.reviewStarted(ctx, in, started); err != nil {
		return task.Critique{}, err
	}
	reply, call, err := a.critique(ctx, in, t, files)
	if err != nil {
		return task.Critique{}, err
	}
	return task.Critique{Verdict: reply.Verdict, Summary: reply.Summary, Issues: reply.Issues, Warnings: reply.Warnings,
		StartedAt: started, TokensIn: call.Usage.InputTokens, TokensOut: call.Usage.OutputTokens}, nil
}

// review is one review. With inline set it asks the model itself (the
// single Review activity); otherwise it folds in in.Critique.
func (a *Activities) review(ctx context.Context, in task.ReviewIn, inline bool) (task.ReviewOut, error) {
	defer a.keepAlive(ctx)()
	t, err := a.getTask(ctx, in.Step.TaskID)
	if err != nil {
		return task.ReviewOut{}, err
	}
	if !inline {
		if rep, id, ok, err := a.storedReport(ctx, in.Step); err != nil {
			return task.ReviewOut{}, err
		} else if ok {
			return a.reviewRecorded(ctx, in, t, rep, id)
		}
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
	if in.Critique != nil && !inline {
		// The critique started the review and sent review_started.
		rep.StartedAt = in.Critique.StartedAt
	} else if err := a.reviewStarted(ctx, in, rep.StartedAt); err != nil {
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
	// A rerun review, which its owner asked for, runs every command.
	project := projectHash(files)
	var passed map[string]runner.Result
	if in.Kind != task.ReviewRerun {
		if passed, err = a.passedRuns(ctx, t.ID); err != nil {
			return task.ReviewOut{}, err
		}
	}
	for _, s := range steps {
		if !s.need {
			rep.skip(s.purpose, s.tool.Name, s.none)
			continue
		}
		c := check{purpose: s.purpose, tool: s.tool, slot: s.slot, passed: passed,
			inputs: checkInputs(project, s.purpose, s.tool, a.Runner.Sandbox())}
		if err := a.runCheck(ctx, in.Step, dir.Path(), c, rep, proj); err != nil {
			return task.ReviewOut{}, err
		}
	}
	out := task.ReviewOut{}
	switch {
	case inline && in.Kind != task.ReviewIteration:
		reply, call, err := a.critique(ctx, in, t, files)
		if err != nil {
			return task.ReviewOut{}, err
		}
		out.TokensIn, out.TokensOut = call.Usage.InputTokens, call.Usage.OutputTokens
		rep.foldCritique(reply)
	case in.Critique != nil:
		c := in.Critique
		rep.foldCritique(llm.ReviewReply{Verdict: c.Verdict, Summary: c.Summary, Issues: c.Issues, Warnings: c.Warnings})
	}
	rep.finish(a.Now(), len(files), in.Planned)
	id, err := a.artifact(ctx, in.Step, reportSub, task.ArtifactReviewReport, task.RoleReviewer, rep)
	if err != nil {
		return task.ReviewOut{}, err
	}
	res, err := a.reviewRecorded(ctx, in, t, rep, id)
	res.TokensIn, res.TokensOut = out.TokensIn, out.TokensOut
	return res, err
}

// reportSub keys the review_report a review step writes.
const reportSub = "review"

// storedReport loads the review_report this step stored on an earlier
// attempt, if any.
func (a *Activities) storedReport(ctx context.Context, step task.Step) (*Report, string, bool, error) {
	id := StableID(step.TaskID, step.Key+"/art/"+reportSub)
	art, err := a.Store.GetArtifact(ctx, step.TaskID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, storeErr(err, "loading the review report")
	}
	var rep Report
	if err := json.Unmarshal(art.Payload, &rep); err != nil {
		return nil, "", false, fmt.Errorf("decoding the stored review report: %w", err)
	}
	return &rep, id, true, nil
}

// reviewStarted appends the review's review_started event.
func (a *Activities) reviewStarted(ctx context.Context, in task.ReviewIn, at string) error {
	return a.event(ctx, in.Step, "review_started", task.EventReviewStarted, map[string]any{
		"kind": in.Kind, "iteration": in.Iteration, "run_id": in.RunID, "started_at": at,
	})
}

// reviewRecorded appends the events of a stored report, saves the snapshot
// and returns the review's outcome. Every write is keyed by the step, so
// doing it again after a retry changes nothing.
func (a *Activities) reviewRecorded(ctx context.Context, in task.ReviewIn, t store.Task, rep *Report, id string) (task.ReviewOut, error) {
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
	out := task.ReviewOut{Passed: rep.Passed, Status: rep.Status, IssuesCount: len(rep.Errors), WarningsCount: len(rep.Warnings),
		Findings: findings(rep), FilesToFix: rep.FilesToFix, CommandTimeout: rep.CommandTimeout, ReportID: id}
	if limit := max(1, in.Plan.MaxFilesPerIteration); len(out.FilesToFix) > limit {
		out.FilesToFix = out.FilesToFix[:limit]
	}
	return out, a.saveSnapshot(ctx, t.ID, task.StageReview, fmt.Sprintf("%s review: %s", in.Kind, rep.Status), nil)
}

func notRun() runner.Result { return runner.Result{} }

// runCheck runs one command through the safe runner and folds its outcome
// into the report. Every run is an event pair, a command_log artifact and one
// command charge. They are keyed by the step and the attempt: a retried
// review runs its commands again and its report shows those runs, whose
// logs are stored beside the earlier attempt's; the charge is once a step.
func (a *Activities) runCheck(ctx context.Context, step task.Step, dir string, c check, rep *Report, proj facts) error {
	purpose, tool, slot := c.purpose, c.tool, c.slot
	if !tool.Available() {
		rep.skip(purpose, tool.Name, tool.Reason)
		return nil
	}
	key := purpose
	if n := attempt(ctx); n > 1 {
		key += fmt.Sprintf("/a%d", n)
	}
	sub, runID := "cmd/"+key, StableID(step.TaskID, step.Key+"/run/"+key)
	ctx, span := startCommandSpan(ctx, purpose, tool)
	defer span.End() // when a step below fails first; ending twice is harmless
	if prev, ok := c.passed[c.inputs]; ok {
		endCommandSpan(span, prev, true)
		// Nothing runs and nothing is charged; the report shows the
		// earlier run, marked reused.
		if err := a.event(ctx, step, sub+"/reused", task.EventCommandReused, map[string]any{
			"run_id": prev.RunID, "command": prev.Command, "purpose": purpose, "inputs_hash": c.inputs,
		}); err != nil {
			return err
		}
		*slot = prev
		rep.fold(purpose, tool, prev, proj)
		rep.Checks[len(rep.Checks)-1].Reused = true
		return nil
	}
	if err := a.event(ctx, step, sub+"/started", task.EventCommandStarted, map[string]any{
		"run_id": runID, "command": strings.Join(tool.Argv, " "), "cwd": ".", "purpose": purpose,
		"started_at": task.FormatTime(a.Now()),
	}); err != nil {
		return err
	}
	if err := a.chargeCommand(ctx, step, purpose); err != nil {
		return err
	}
	res := a.Runner.Run(ctx, runner.Spec{Argv: tool.Argv, Dir: dir, Purpose: purpose, RunID: runID})
	endCommandSpan(span, res, false)
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
	if err := a.event(ctx, step, sub+"/finished", task.EventCommandFinished, payload); err != nil {
		return err
	}
	log := commandLog{Result: res, InputsHash: c.inputs}
	if !res.QuotaExceeded {
		rep.fold(purpose, tool, res, proj)
		log.Passed = rep.Checks[len(rep.Checks)-1].Status == "passed"
	}
	if _, err := a.artifact(ctx, step, sub, task.ArtifactCommandLog, task.RoleRunner, log); err != nil {
		return err
	}
	if res.QuotaExceeded {
		// The project outgrew what a command may write: that is the task's
		// storage limit, not a check result, and retrying cannot help.
		return nonRetryable(task.ErrTypeStorageLimit, "the %s command was stopped: %s (COMMAND_WORKSPACE_MAX_MB, COMMAND_WORKSPACE_MAX_FILES); everything it wrote was deleted",
			purpose, res.QuotaDetail)
	}
	return nil
}

// critique asks the model to review against the checklist and charges the
// tokens it used.
func (a *Activities) critique(ctx context.Context, in task.ReviewIn, t store.Task, files []store.File) (llm.ReviewReply, agents.Call, error) {
	started := task.FormatTime(a.Now())
	b, err := a.brief(ctx, t, task.StageReview)
	if err != nil {
		return llm.ReviewReply{}, agents.Call{}, err
	}
	b.Checklist = a.Codex.Checklist
	b.ExistingFiles = shownFiles(files, task.CodeTask{Type: task.CodeFix}, in.Planned)
	defer a.liveOutput(&ctx, in.Step, task.StageReview)()
	reply, call, err := a.Agents.Review(ctx, b, a.turn(ctx, in.Step, task.StageReview, in.Kind != task.ReviewRerun))
	if err := a.settleCall(ctx, in.Step, task.StageReview, call, started, err); err != nil {
		return llm.ReviewReply{}, agents.Call{}, err
	}
	return reply, call, nil
}

// foldCritique records the model's verdict: a model that asks for changes
// fails the review with its issues; its warnings, and issues under an
// approval, stay advisory.
func (rep *Report) foldCritique(reply llm.ReviewReply) {
	rep.ModelReview = &reply
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
