package activities

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/llm"
	"ai-platform/internal/runner"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
)

// fakeExec answers every command with exit 0, except that its fail function
// may turn a run into a sandbox failure (the command never ran).
type fakeExec struct {
	mu   sync.Mutex
	runs []runner.Spec
	fail func(runs int, s runner.Spec) bool
	// exit, when set, is the exit code of a run (0 otherwise); pytestOK
	// makes pytest print its summary for the one test of putProject.
	exit     func(s runner.Spec) int
	pytestOK bool
}

func (e *fakeExec) Run(_ context.Context, s runner.Spec) runner.Result {
	e.mu.Lock()
	e.runs = append(e.runs, s)
	n := len(e.runs)
	e.mu.Unlock()
	if e.fail != nil && e.fail(n, s) {
		return runner.Result{Error: runner.ErrSandboxUnavailable, Stderr: "no sandbox", RunID: s.RunID, Purpose: s.Purpose}
	}
	code := 0
	if e.exit != nil {
		code = e.exit(s)
	}
	out := "ok " + s.RunID
	if e.pytestOK && s.Purpose == "tests" {
		out += "\n============================== 1 passed in 0.01s ==============================\n"
	}
	return runner.Result{Ran: true, Command: strings.Join(s.Argv, " "), ExitCode: &code, Stdout: out,
		RunID: s.RunID, Purpose: s.Purpose, Sandbox: "none"}
}
func (e *fakeExec) Resolve(name string) (string, bool) { return "/usr/bin/" + name, true }
func (e *fakeExec) Sandbox() string                    { return "none" }
func (e *fakeExec) SandboxNote() string                { return "" }

var fakeTools = &Toolbox{
	Lint:    Tool{Name: "ruff", Argv: []string{"ruff", "check", "."}},
	Compile: Tool{Name: "compileall", Argv: []string{"python3", "-m", "compileall", "."}},
	Tests:   Tool{Name: "pytest", Argv: []string{"python3", "-m", "pytest"}},
}

func putProject(t *testing.T, f *fixture) {
	t.Helper()
	files := []store.File{
		{Path: "app/core.py", Content: []byte("\"\"\"Core.\"\"\"\n\n\ndef add(a, b):\n    return a + b\n")},
		{Path: "tests/test_core.py", Content: []byte("\"\"\"Tests.\"\"\"\nfrom app.core import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n")},
		{Path: "README.md", Content: []byte("# Core\n")},
	}
	if err := f.store.PutFiles(context.Background(), f.task.ID, files, nil, store.FileLimits{MaxFiles: 100, MaxBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
}

func storedReport(t *testing.T, f *fixture) Report {
	t.Helper()
	art, err := f.store.LatestArtifact(context.Background(), f.task.ID, task.ArtifactReviewReport)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(art.Payload, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestCritiqueThenChecks: the critique asks the model, starts the review
// and returns its verdict; the checks fold it into the one report they
// store, without starting the review again.
func TestCritiqueThenChecks(t *testing.T) {
	prov := &scripted{script: func(int, llm.Request) (llm.Response, error) {
		return llm.Response{Text: `{"verdict":"request_changes","issues":["add() accepts strings"],"warnings":["no docs"],"summary":"close"}`,
			Usage: llm.Usage{InputTokens: 40, OutputTokens: 12}}, nil
	}}
	exec := &fakeExec{}
	f := newFixture(t, "A calculator library", "", func(d *Deps) { d.Provider, d.Runner, d.Tools = prov, exec, fakeTools })
	putProject(t, f)
	ctx := context.Background()
	in := task.ReviewIn{Kind: task.ReviewFinal, Iteration: 2, Plan: task.Plan{MaxFilesPerIteration: 5}}
	cin := in
	cin.Step = f.step("g0/s20")
	crit, err := f.a.ReviewCritique(ctx, cin)
	if err != nil {
		t.Fatal(err)
	}
	if crit.Verdict != "request_changes" || crit.TokensIn != 40 || crit.TokensOut != 12 || crit.StartedAt == "" {
		t.Fatalf("critique %+v", crit)
	}
	if len(exec.runs) != 0 {
		t.Fatalf("the critique ran %d commands", len(exec.runs))
	}
	in.Step, in.Critique = f.step("g0/s21"), &crit
	out, err := f.a.ReviewChecks(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if prov.requests() != 1 || len(exec.runs) != 3 {
		t.Fatalf("%d model requests and %d commands, want 1 and 3", prov.requests(), len(exec.runs))
	}
	rep := storedReport(t, f)
	if out.Passed || rep.Passed || rep.ModelReview == nil || rep.ModelReview.Verdict != "request_changes" ||
		!slices.Contains(rep.Issues, "model: add() accepts strings") || !slices.Contains(rep.Warnings, "model: no docs") {
		t.Fatalf("out %+v report issues %v warnings %v model %+v", out, rep.Issues, rep.Warnings, rep.ModelReview)
	}
	if rep.StartedAt != crit.StartedAt || out.TokensIn != 0 {
		t.Fatalf("report started %s (critique %s), checks tokens %d", rep.StartedAt, crit.StartedAt, out.TokensIn)
	}
	for typ, want := range map[string]int{task.EventReviewStarted: 1, task.EventReviewFinished: 1, task.EventReviewResult: 1} {
		if n := len(eventsOf(t, f.store, f.task.ID, typ)); n != want {
			t.Errorf("%d %s events, want %d", n, typ, want)
		}
	}
}

// TestCritiqueFailureIsAnLLMFailure: a provider that refuses the key fails
// the critique as llm_provider_error, like every other LLM stage.
func TestCritiqueFailureIsAnLLMFailure(t *testing.T) {
	prov := &scripted{script: func(int, llm.Request) (llm.Response, error) {
		return llm.Response{}, &llm.Error{Status: 401, Message: "Incorrect API key provided"}
	}}
	f := newFixture(t, "A calculator library", "", func(d *Deps) { d.Provider = prov })
	putProject(t, f)
	_, err := f.a.ReviewCritique(context.Background(), task.ReviewIn{Step: f.step("g0/s20"), Kind: task.ReviewFinal})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != task.ErrTypeLLMProvider || !appErr.NonRetryable() {
		t.Fatalf("error %v, want a non-retryable %s", err, task.ErrTypeLLMProvider)
	}
}

// runChecksWithRetries runs the real ReviewChecks activity in the SDK test
// environment with three attempts.
func runChecksWithRetries(t *testing.T, f *fixture, in task.ReviewIn) (task.ReviewOut, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterActivityWithOptions(f.a.ReviewChecks, activity.RegisterOptions{Name: task.ActReviewChecks})
	wf := func(ctx workflow.Context, in task.ReviewIn) (task.ReviewOut, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
		})
		var out task.ReviewOut
		err := workflow.ExecuteActivity(ctx, task.ActReviewChecks, in).Get(ctx, &out)
		return out, err
	}
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "checks-only"})
	env.ExecuteWorkflow("checks-only", in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var out task.ReviewOut
	if err := env.GetWorkflowError(); err != nil {
		return out, err
	}
	return out, env.GetWorkflowResult(&out)
}

// TestRetriedChecksReportTheirOwnRuns: when the first attempt of the checks
// fails after some commands ran (the sandbox gave out before pytest), the
// retry reuses the passing runs of the unchanged project (lint, compile)
// and runs pytest again under a new run id; the report names exactly those
// runs, each with its stored command_log, the reused ones marked.
func TestRetriedChecksReportTheirOwnRuns(t *testing.T) {
	exec := &fakeExec{fail: func(n int, s runner.Spec) bool { return n == 3 && s.Purpose == "tests" }}
	f := newFixture(t, "A calculator library", "", func(d *Deps) { d.Runner, d.Tools = exec, fakeTools })
	putProject(t, f)
	_, err := runChecksWithRetries(t, f, task.ReviewIn{Step: f.step("g0/s9"), Kind: task.ReviewIteration, Iteration: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(exec.runs) != 4 || exec.runs[3].Purpose != "tests" {
		t.Fatalf("%d command runs, want 3 on the first attempt and pytest again on the second", len(exec.runs))
	}
	logs, err := f.store.ListArtifacts(context.Background(), f.task.ID, store.ListOptions{Type: task.ArtifactCommandLog, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]runner.Result{}
	for _, a := range logs.Items {
		var res runner.Result
		if err := json.Unmarshal(a.Payload, &res); err != nil {
			t.Fatal(err)
		}
		stored[res.RunID] = res
	}
	// Two logs of the first attempt (lint, compile), pytest's of the second.
	if len(stored) != 3 {
		t.Fatalf("%d command logs, want 3", len(stored))
	}
	rep := storedReport(t, f)
	want := map[string]string{"lint": exec.runs[0].RunID, "compile": exec.runs[1].RunID, "tests": exec.runs[3].RunID}
	for _, res := range []runner.Result{rep.Ruff, rep.Compileall, rep.Pytest} {
		log, ok := stored[res.RunID]
		if res.RunID != want[res.Purpose] || !ok || log.Stdout != res.Stdout {
			t.Fatalf("report run %s (%s), want stored run %s", res.RunID, res.Purpose, want[res.Purpose])
		}
	}
	for _, c := range rep.Checks {
		if c.RunID != "" && (c.RunID != want[c.Name] || c.Reused != (c.Name != "tests")) {
			t.Fatalf("check %s names run %s (reused %v)", c.Name, c.RunID, c.Reused)
		}
	}
	if n := len(eventsOf(t, f.store, f.task.ID, task.EventCommandReused)); n != 2 {
		t.Fatalf("%d command_reused events, want 2", n)
	}
}

// TestUnchangedProjectReusesPassingChecks: the final review of a project
// the last iteration's review passed runs no command and charges none; a
// changed file, a failed run or a rerun review runs them again.
func TestUnchangedProjectReusesPassingChecks(t *testing.T) {
	exec := &fakeExec{pytestOK: true}
	f := newFixture(t, "A calculator library", "", func(d *Deps) { d.Runner, d.Tools = exec, fakeTools })
	putProject(t, f)
	ctx := context.Background()
	review := func(key, kind string) *Report {
		t.Helper()
		if _, err := f.a.ReviewChecks(ctx, task.ReviewIn{Step: f.step(key), Kind: kind, Iteration: 1, RunID: key}); err != nil {
			t.Fatal(err)
		}
		var rep Report
		arts, _ := f.store.ListArtifacts(ctx, f.task.ID, store.ListOptions{Type: task.ArtifactReviewReport, Limit: 1})
		if err := json.Unmarshal(arts.Items[0].Payload, &rep); err != nil {
			t.Fatal(err)
		}
		return &rep
	}
	review("g0/s5", task.ReviewIteration)
	final := review("g0/s6", task.ReviewFinal)
	if len(exec.runs) != 3 {
		t.Fatalf("%d runs after the final review, want the iteration's 3 only", len(exec.runs))
	}
	reused := 0
	for _, c := range final.Checks {
		if c.RunID != "" {
			if !c.Reused || c.Status != "passed" {
				t.Fatalf("final check %s: %+v, want a reused pass", c.Name, c)
			}
			reused++
		}
	}
	if reused != 3 {
		t.Fatalf("%d reused checks in the final report, want 3", reused)
	}
	usage, _ := f.store.GetUsage(ctx, "owner", time.Now())
	if usage.CommandRuns != 3 {
		t.Fatalf("%d command runs charged, want 3", usage.CommandRuns)
	}
	// A rerun review, asked for by its owner, runs everything.
	review("review/r1", task.ReviewRerun)
	if len(exec.runs) != 6 {
		t.Fatalf("%d runs after a rerun review, want 6", len(exec.runs))
	}
	// An edited file: the inputs differ, every check runs.
	if err := f.a.putFiles(ctx, f.task.ID, []workspace.File{{Path: "app/core.py", Content: []byte("\"\"\"Core.\"\"\"\n\n\ndef add(a, b):\n    return a + b  # edited\n")}}, nil); err != nil {
		t.Fatal(err)
	}
	review("g0/s8", task.ReviewFinal)
	if len(exec.runs) != 9 {
		t.Fatalf("%d runs after an edit, want 9", len(exec.runs))
	}
	// A failed run is never reused: a project whose tests fail runs them
	// again at the next review.
	exec.exit = func(s runner.Spec) int {
		if s.Purpose == "tests" {
			return 1
		}
		return 0
	}
	if err := f.a.putFiles(ctx, f.task.ID, []workspace.File{{Path: "app/core.py", Content: []byte("def add(a, b):\n    return a - b\n")}}, nil); err != nil {
		t.Fatal(err)
	}
	review("g0/s10", task.ReviewIteration)
	exec.exit = nil
	review("g0/s11", task.ReviewFinal)
	if got := exec.runs[len(exec.runs)-1].Purpose; got != "tests" || len(exec.runs) != 13 {
		t.Fatalf("%d runs, last %s: want the failed tests run again (13 runs)", len(exec.runs), got)
	}
}

// TestChecksAfterTheReportWasStored: a retry of checks whose report is
// already stored answers from that report and runs no command again.
func TestChecksAfterTheReportWasStored(t *testing.T) {
	exec := &fakeExec{}
	f := newFixture(t, "A calculator library", "", func(d *Deps) { d.Runner, d.Tools = exec, fakeTools })
	putProject(t, f)
	in := task.ReviewIn{Step: f.step("g0/s9"), Kind: task.ReviewIteration, Iteration: 1, Plan: task.Plan{MaxFilesPerIteration: 5}}
	first, err := f.a.ReviewChecks(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.a.ReviewChecks(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(exec.runs) != 3 || again.ReportID != first.ReportID || again.Passed != first.Passed || again.Status != first.Status {
		t.Fatalf("%d runs; first %+v again %+v", len(exec.runs), first, again)
	}
	if n := len(eventsOf(t, f.store, f.task.ID, task.EventReviewFinished)); n != 1 {
		t.Fatalf("%d review_finished events", n)
	}
}
