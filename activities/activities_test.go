package activities

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/codex"
	"ai-platform/internal/llm"
	"ai-platform/internal/runner"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
	"ai-platform/templates"
)

type fixture struct {
	a     *Activities
	store *store.Memory
	task  store.Task
	step  func(key string) task.Step
}

func newFixture(t *testing.T, desc, templateID string, mutate func(*Deps)) *fixture {
	t.Helper()
	st, err := store.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	cx, err := codex.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := workspace.LoadCatalog(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	wsm, err := workspace.NewManager(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run, err := runner.New(runner.Config{Allowed: []string{"python3", "pytest"}, Timeout: 30 * time.Second,
		MaxOutput: 20000, Sandbox: "none"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := Deps{Store: st, Catalog: cat, Workspaces: wsm, Provider: llm.NewMock("gpt-test"), Runner: run, Codex: cx,
		Logger: log, Tools: &Toolbox{}, Secrets: []string{"super-secret-value"}}
	if mutate != nil {
		mutate(&d)
	}
	a, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := st.CreateTask(context.Background(), store.Task{ID: uuid.NewString(), Status: task.StatusQueued,
		Description: desc, TemplateID: templateID, OwnerKeyHash: "owner", UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{a: a, store: st, task: tk, step: func(key string) task.Step {
		return task.Step{TaskID: tk.ID, Key: key, OwnerKey: "owner"}
	}}
}

func TestGateQuestions(t *testing.T) {
	cases := []struct {
		desc string
		want []string
	}{
		{"Build a tool that counts words in text files", nil},
		{"too short", []string{"task_details"}},
		{"Build a {{Project Name}} service for [[target users]] please", []string{"project_name", "target_users"}},
		{"Build a service whose storage is TBD for now okay", []string{"open_questions"}},
		{"Build a service, storage tbc, details later please", []string{"open_questions"}},
		{"Build a todo app with tags and due dates please", nil},
		{"Build a service: TODO decide the storage layer later", []string{"open_questions"}},
		{"Build a service, which database?? decide later please", []string{"open_questions"}},
		{"Build a {{???}} and a {{???}} thing for everyone here", []string{"placeholder_", "placeholder_", "open_questions"}},
	}
	for _, c := range cases {
		var ids []string
		for _, q := range GateQuestions(c.desc, nil, nil) {
			ids = append(ids, q.ID)
		}
		if len(ids) != len(c.want) {
			t.Errorf("%q: questions %v, want %v", c.desc, ids, c.want)
			continue
		}
		for i := range ids {
			if !strings.HasPrefix(ids[i], c.want[i]) {
				t.Errorf("%q: questions %v, want %v", c.desc, ids, c.want)
			}
		}
	}
	// Symbol-only placeholders get a stable id: the same question every time.
	a := GateQuestions("x {{???}} y z w v", nil, nil)[0].ID
	b := GateQuestions("x {{???}} y z w v", nil, nil)[0].ID
	if a != b {
		t.Fatal("placeholder ids must be stable")
	}
}

func TestOpenQuestionsFiltering(t *testing.T) {
	req := func(id string) task.Question { return task.Question{ID: id, Type: "text", Required: true} }
	opt := func(id string) task.Question { return task.Question{ID: id, Type: "text"} }
	cases := []struct {
		name    string
		qs      []task.Question
		answers map[string]any
		asked   []string
		limit   int
		want    []string
	}{
		{"answered and asked are skipped", []task.Question{req("a"), req("b"), req("c")}, map[string]any{"a": "x"}, []string{"b"}, 3, []string{"c"}},
		{"blank answers do not count", []task.Question{req("a")}, map[string]any{"a": "  "}, nil, 3, []string{"a"}},
		{"falsy but real answers count", []task.Question{req("a"), req("b")}, map[string]any{"a": false, "b": 0.0}, nil, 3, []string{}},
		{"duplicates once", []task.Question{req("a"), req("a")}, nil, nil, 3, []string{"a"}},
		{"optional alone never pauses", []task.Question{opt("o")}, nil, nil, 3, []string{}},
		{"optional rides along", []task.Question{opt("o"), req("r")}, nil, nil, 3, []string{"r", "o"}},
		{"required first under the limit", []task.Question{opt("o1"), opt("o2"), opt("o3"), req("r")}, nil, nil, 3, []string{"r", "o1", "o2"}},
	}
	for _, c := range cases {
		var ids []string
		for _, q := range openQuestions(c.qs, c.answers, c.asked, c.limit) {
			ids = append(ids, q.ID)
		}
		if ids == nil {
			ids = []string{}
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("%s: %v, want %v", c.name, ids, c.want)
		}
	}
}

func TestPrepareSeedsOnceAndChecksTemplate(t *testing.T) {
	f := newFixture(t, "A command line tool for notes", "python_cli", nil)
	ctx := context.Background()
	plan, err := f.a.Prepare(ctx, task.PrepareIn{Step: f.step("s1"), TemplateID: "python_cli"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.MaxIterations != 12 || plan.TemplateHash == "" || plan.CodexHash == "" {
		t.Fatalf("plan %+v", plan)
	}
	first, _ := f.store.ListFiles(ctx, f.task.ID)
	// A retry (same step) and a second prepare (after continue-as-new) neither
	// re-seed nor duplicate the codex_loaded event.
	for i := 0; i < 2; i++ {
		if _, err := f.a.Prepare(ctx, task.PrepareIn{Step: f.step("s1"), TemplateID: "python_cli"}); err != nil {
			t.Fatal(err)
		}
	}
	again, _ := f.store.ListFiles(ctx, f.task.ID)
	if len(first) == 0 || len(first) != len(again) {
		t.Fatalf("seeded %d then %d files", len(first), len(again))
	}
	ev, _ := f.store.ListEvents(ctx, f.task.ID, store.ListOptions{Type: "codex_loaded"})
	if ev.Total != 1 {
		t.Fatalf("codex_loaded events: %d", ev.Total)
	}
	_, err = f.a.Prepare(ctx, task.PrepareIn{Step: f.step("s2"), TemplateID: "nope"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != task.ErrTypeTemplate || !appErr.NonRetryable() {
		t.Fatalf("unknown template: %v", err)
	}
}

func TestQuotaAtTheEdge(t *testing.T) {
	f := newFixture(t, "A command line tool for notes", "", func(d *Deps) { d.MaxTokensPerDay = 100; d.MaxCommandRunsPerDay = 2 })
	ctx := context.Background()
	charge := func(id string, tokens, cmds int64) {
		if _, err := f.store.AddUsage(ctx, store.UsageCharge{ID: uuid.NewSHA1(uuid.Nil, []byte(id)).String(), OwnerKey: "owner",
			Day: time.Now(), TokensIn: tokens, CommandRuns: cmds}); err != nil {
			t.Fatal(err)
		}
	}
	charge("a", 99, 1)
	if err := f.a.checkQuota(ctx, "owner"); err != nil {
		t.Fatalf("99 of 100 tokens must pass: %v", err)
	}
	// Tokens of the running conversation (not charged yet) count too.
	if err := f.a.callGuard(task.Step{OwnerKey: "owner"}, task.StageResearch, false)(ctx, llm.Usage{InputTokens: 1}, llm.Request{}); err == nil {
		t.Fatal("99 charged + 1 pending of 100 tokens must stop the next request")
	}
	if err := f.a.callGuard(task.Step{OwnerKey: "owner"}, task.StageResearch, false)(ctx, llm.Usage{}, llm.Request{}); err != nil {
		t.Fatalf("99 charged + 0 pending: %v", err)
	}
	charge("b", 1, 0)
	err := f.a.checkQuota(ctx, "owner")
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != task.ReasonQuotaExceeded || !strings.Contains(err.Error(), "MAX_TOKENS_PER_DAY=100") {
		t.Fatalf("100 of 100 tokens must stop: %v", err)
	}
	g := newFixture(t, "x", "", func(d *Deps) { d.MaxCommandRunsPerDay = 2 })
	for i, want := range []bool{true, true, false} {
		if err := g.a.checkQuota(ctx, "owner"); (err == nil) != want {
			t.Fatalf("after %d command runs: %v", i, err)
		}
		if err := g.a.chargeCommand(ctx, g.step("r"), string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
		// The same run charged twice counts once.
		if err := g.a.chargeCommand(ctx, g.step("r"), string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.a.checkQuota(ctx, "owner"); err == nil || !strings.Contains(err.Error(), "MAX_COMMAND_RUNS_PER_DAY=2") {
		t.Fatalf("command quota: %v", err)
	}
}

func TestUpdateTaskNeverMovesATerminalTask(t *testing.T) {
	f := newFixture(t, "A command line tool for notes", "", nil)
	ctx := context.Background()
	processing := "research"
	if err := f.a.UpdateTask(ctx, task.Update{Step: f.step("u1"), Status: task.StatusProcessing, Stage: &processing,
		Events: []task.EventSpec{{Type: "StageStarted", Payload: map[string]any{"stage": "research"}}}}); err != nil {
		t.Fatal(err)
	}
	// Replaying the same step (a retried local activity) adds no events.
	_ = f.a.UpdateTask(ctx, task.Update{Step: f.step("u1"), Status: task.StatusProcessing, Stage: &processing,
		Events: []task.EventSpec{{Type: "StageStarted", Payload: map[string]any{"stage": "research"}}}})
	ev, _ := f.store.ListEvents(ctx, f.task.ID, store.ListOptions{Type: "StageStarted"})
	if ev.Total != 1 {
		t.Fatalf("StageStarted events: %d", ev.Total)
	}
	_, _ = f.store.UpdateTask(ctx, f.task.ID, func(row *store.Task) error { row.Status = task.StatusCancelled; return nil })
	if err := f.a.UpdateTask(ctx, task.Update{Step: f.step("u2"), Status: task.StatusProcessing}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.GetTask(ctx, f.task.ID); got.Status != task.StatusCancelled {
		t.Fatalf("terminal task moved to %s", got.Status)
	}
}

func TestReportFoldFindsFilesToFix(t *testing.T) {
	known := map[string]bool{"app/core.py": true, "tests/test_core.py": true, "cli.py": true}
	code := 1
	cases := []struct {
		purpose, out string
		want         []string
	}{
		{"lint", "./app/core.py:3:1: F401 'os' imported but unused\nREADME.md:1:1: nothing\n", []string{"app/core.py"}},
		{"compile", "*** Error compiling './cli.py'...\n  File \"./cli.py\", line 4\n", []string{"cli.py"}},
		{"tests", "FAILED tests/test_core.py::test_add - assert 2 == 3\napp/core.py:12: in add\nE   assert 2 == 3\n",
			[]string{"tests/test_core.py", "app/core.py"}},
		{"tests", "FAILED /etc/passwd.py::x\n", nil},
	}
	for _, c := range cases {
		r := &Report{}
		r.fold(c.purpose, Tool{Name: c.purpose}, runner.Result{Ran: true, ExitCode: &code, Stdout: c.out}, facts{known: known})
		if !slices.Equal(r.FilesToFix, c.want) {
			t.Errorf("%s: files to fix %v, want %v", c.purpose, r.FilesToFix, c.want)
		}
		if len(r.Errors) == 0 || r.Checks[0].Status != "failed" {
			t.Errorf("%s: failure not recorded: %+v", c.purpose, r)
		}
	}
	five := 5
	r := &Report{}
	r.fold("tests", Tool{Name: "pytest"}, runner.Result{Ran: true, ExitCode: &five},
		facts{known: known, tests: testCensus{Files: []string{"tests/test_core.py"}, Tests: 1}})
	if r.Checks[0].Status != "failed" || len(r.Errors) == 0 || !slices.Equal(r.FilesToFix, []string{"tests/test_core.py"}) {
		t.Errorf("pytest exit 5 (no tests collected from existing test files) must be a failure: %+v", r)
	}
	r = &Report{}
	r.fold("lint", Tool{Name: "ruff"}, runner.Result{Skipped: true, SkipReason: "ruff is not installed"}, facts{known: known})
	if r.Checks[0].Status != "skipped" || r.Checks[0].Reason != "ruff is not installed" || len(r.Errors) != 0 {
		t.Errorf("a missing tool is a skip with its reason, never a pass: %+v", r)
	}
	r = &Report{}
	r.fold("tests", Tool{Name: "pytest"}, runner.Result{Ran: true, TimedOut: true, DurationSeconds: 60}, facts{known: known})
	if !r.CommandTimeout || r.Checks[0].Status != "failed" {
		t.Errorf("timeout: %+v", r)
	}
}

func TestArtifactsAndEventsAreRedacted(t *testing.T) {
	f := newFixture(t, "x", "", nil)
	ctx := context.Background()
	if _, err := f.a.artifact(ctx, f.step("s"), "a", "note", "system", map[string]any{"v": "super-secret-value"}); err != nil {
		t.Fatal(err)
	}
	if err := f.a.event(ctx, f.step("s"), "e", "note", map[string]any{"v": "pre super-secret-value post"}); err != nil {
		t.Fatal(err)
	}
	arts, _ := f.store.ListArtifacts(ctx, f.task.ID, store.ListOptions{})
	evs, _ := f.store.ListEvents(ctx, f.task.ID, store.ListOptions{})
	raw, _ := json.Marshal([]any{arts.Items, evs.Items})
	if strings.Contains(string(raw), "super-secret-value") || !strings.Contains(string(raw), "[redacted]") {
		t.Fatalf("secret not redacted: %s", raw)
	}
}

func TestShownFilesBoundsThePrompt(t *testing.T) {
	big := strings.Repeat("x", maxShownFile+1)
	files := []store.File{{Path: "a.py", Content: []byte("a")}, {Path: "b.py", Content: []byte(big)},
		{Path: "c.bin", Content: []byte{0xff}}, {Path: "d.py", Content: []byte("d")}}
	planned := []task.PlannedFile{{Path: "a.py", Component: "A"}, {Path: "b.py", Component: "A"}, {Path: "d.py", Component: "B"}}
	got := shownFiles(files, task.CodeTask{Component: "A", TargetFiles: []string{"c.bin", "a.py"}}, planned)
	var paths []string
	for _, f := range got {
		paths = append(paths, f.Path)
	}
	if !slices.Equal(paths, []string{"a.py", "d.py"}) {
		t.Fatalf("shown %v", paths)
	}
}
