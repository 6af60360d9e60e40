package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/searchattr"
	"ai-platform/internal/task"
)

const (
	testTemplate = "python_cli"
	testOwner    = "0123456789abcdef0123456789abcdef"
)

// upserts records the search-attribute upserts of a chain of runs, one line
// each ("TaskStatus=processing TaskStage=research"), and the attributes the
// task has after them.
type upserts struct {
	mu    sync.Mutex
	lines []string
	now   map[string]string
}

// watch makes every upsert of h's run go through u.
func (u *upserts) watch(h *harness) {
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		u.mu.Lock()
		defer u.mu.Unlock()
		if u.now == nil {
			u.now = map[string]string{}
		}
		var parts []string
		for _, k := range []temporal.SearchAttributeKeyKeyword{searchattr.Status, searchattr.Stage,
			searchattr.Template, searchattr.Tenant} {
			if v, ok := sa.GetKeyword(k); ok {
				parts = append(parts, k.GetName()+"="+v)
				u.now[k.GetName()] = v
			}
		}
		switch at, ok := sa.GetTime(searchattr.WaitingSince); {
		case ok:
			v := at.UTC().Format(time.RFC3339Nano)
			parts = append(parts, searchattr.NameWaitingSince+"="+v)
			u.now[searchattr.NameWaitingSince] = v
		case unsets(sa, searchattr.NameWaitingSince):
			parts = append(parts, searchattr.NameWaitingSince+"=unset")
			delete(u.now, searchattr.NameWaitingSince)
		}
		u.lines = append(u.lines, strings.Join(parts, " "))
	}).Return(nil)
}

// unsets tells an update that unsets name: the SDK's SearchAttributes keeps
// an unset key with a nil value, which its getters report as absent; only
// its printed form shows the key.
func unsets(sa temporal.SearchAttributes, name string) bool {
	for k := range sa.GetUntypedValues() {
		if k.GetName() == name {
			return false
		}
	}
	return strings.Contains(fmt.Sprintf("%v", sa), name)
}

// attributes are the attributes the task has after the recorded upserts,
// as the next run of a continue-as-new starts with them.
func (u *upserts) attributes(t *testing.T) temporal.SearchAttributes {
	u.mu.Lock()
	defer u.mu.Unlock()
	var ups []temporal.SearchAttributeUpdate
	for _, k := range []temporal.SearchAttributeKeyKeyword{searchattr.Status, searchattr.Stage,
		searchattr.Template, searchattr.Tenant} {
		if v, ok := u.now[k.GetName()]; ok {
			ups = append(ups, k.ValueSet(v))
		}
	}
	if v, ok := u.now[searchattr.NameWaitingSince]; ok {
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			t.Fatal(err)
		}
		ups = append(ups, searchattr.WaitingSince.ValueSet(at))
	}
	return temporal.NewSearchAttributes(ups...)
}

// startedByTheAPI gives h's run the attributes the API starts a task with.
func startedByTheAPI(t *testing.T, h *harness) {
	if err := h.env.SetTypedSearchAttributesOnStart(searchattr.Initial(testTemplate, testOwner).Attributes()); err != nil {
		t.Fatal(err)
	}
}

// mark notes in the lines where a run of a chain starts.
func (u *upserts) mark(run int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lines = append(u.lines, fmt.Sprintf("run %d", run))
}

// started records the attributes a chain's first run starts with.
func (u *upserts) started(v searchattr.Values) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.now = map[string]string{searchattr.NameStatus: string(v.Status), searchattr.NameStage: v.Stage,
		searchattr.NameTemplate: v.Template, searchattr.NameTenant: v.Tenant}
}

// TestSearchAttributesFollowTheTask: the workflow upserts its search
// attributes at each status or stage change and only then (the API set the
// first ones); a wait for answers sets WaitingSince to when the questions
// were asked and the resume unsets it; a failure keeps the stage it failed
// in; a run recorded before the change upserts nothing.
func TestSearchAttributesFollowTheTask(t *testing.T) {
	var askedAt string
	cases := []struct {
		name  string
		setup func(t *testing.T, h *harness)
		fails bool
		want  func() []string
	}{
		{name: "completed", setup: startedByTheAPI, want: func() []string {
			return []string{"TaskStatus=processing", "TaskStage=research", "TaskStage=design",
				"TaskStage=implementation", "TaskStage=review", "TaskStatus=completed"}
		}},
		{name: "asks, waits, resumes", setup: func(t *testing.T, h *harness) {
			startedByTheAPI(t, h)
			h.askOnce(question)
			h.env.RegisterDelayedCallback(func() {
				askedAt = h.query().RequestedAt
				h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "small"}, AutoResume: true})
			}, 30*time.Hour)
		}, want: func() []string {
			at, _ := time.Parse(time.RFC3339Nano, askedAt)
			return []string{"TaskStatus=processing", "TaskStage=research",
				"TaskStatus=needs_input TaskStage=needs_input WaitingSince=" + at.UTC().Format(time.RFC3339Nano),
				"TaskStatus=queued TaskStage=clarification_resume WaitingSince=unset",
				"TaskStatus=processing", "TaskStage=design", "TaskStage=implementation", "TaskStage=review",
				"TaskStatus=completed"}
		}},
		{name: "fails at design", setup: func(t *testing.T, h *harness) {
			startedByTheAPI(t, h)
			h.designFn = func() (task.DesignOut, error) {
				return task.DesignOut{}, temporal.NewNonRetryableApplicationError("bad key", task.ErrTypeLLMProvider, nil)
			}
		}, fails: true, want: func() []string {
			return []string{"TaskStatus=processing", "TaskStage=research", "TaskStage=design", "TaskStatus=failed"}
		}},
		{name: "started by an API from before the attributes", setup: func(*testing.T, *harness) {}, want: func() []string {
			return []string{"TaskStatus=queued TaskStage=initializing TaskTemplate=python_cli TenantHash=0123456789ab",
				"TaskStatus=processing", "TaskStage=research", "TaskStage=design",
				"TaskStage=implementation", "TaskStage=review", "TaskStatus=completed"}
		}},
		{name: "a run from before the change", setup: func(t *testing.T, h *harness) {
			startedByTheAPI(t, h)
			h.env.OnGetVersion(changeBaseline, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			h.env.OnGetVersion(changeSearchAttributes, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}, want: func() []string { return nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var u upserts
			u.watch(h)
			tc.setup(t, h)
			h.run(task.Input{TemplateID: testTemplate, OwnerKey: testOwner, TaskTTLDays: 7})
			if err := h.env.GetWorkflowError(); (err != nil) != tc.fails {
				t.Fatalf("workflow error: %v", err)
			}
			if want := tc.want(); !slices.Equal(u.lines, want) {
				t.Fatalf("upserts\n got %q\nwant %q", u.lines, want)
			}
		})
	}
}

// TestSearchAttributesSurviveContinueAsNewWhileWaiting: a task that
// continues as new while it waits for answers keeps WaitingSince (the next
// run starts with the previous run's attributes and upserts nothing while it
// still waits), and its resume unsets it.
func TestSearchAttributesSurviveContinueAsNewWhileWaiting(t *testing.T) {
	detail := task.Question{ID: "detail", Text: "Any detail?", Type: task.QuestionText, Required: true}
	var u upserts
	startedWaiting := 0
	runs := chain(t, task.Input{TemplateID: testTemplate, OwnerKey: testOwner, ContinueAsNewAfter: 1, TaskTTLDays: 7},
		func(h *harness, run int) {
			if run == 0 {
				startedByTheAPI(t, h)
				u.started(searchattr.Initial(testTemplate, testOwner))
			} else if err := h.env.SetTypedSearchAttributesOnStart(u.attributes(t)); err != nil {
				t.Fatal(err)
			}
			if u.now[searchattr.NameStatus] == string(task.StatusNeedsInput) {
				startedWaiting++
			}
			u.watch(h)
			u.mark(run)
			h.clarify = func(in task.ClarifyIn) []task.Question {
				if slices.Contains(in.Asked, "scope") {
					return nil
				}
				return []task.Question{question, detail}
			}
			h.env.RegisterDelayedCallback(func() {
				st := h.query()
				if st.Status != task.StatusNeedsInput {
					return
				}
				if _, ok := st.ProvidedAnswers["scope"]; !ok {
					h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"scope": "small"}})
					return
				}
				h.env.SignalWorkflow(task.SignalInput, task.InputSignal{Answers: map[string]any{"detail": "more"}, AutoResume: true})
			}, time.Hour)
		})
	if err := runs[len(runs)-1].env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if startedWaiting == 0 {
		t.Fatalf("no run started in needs_input (%d runs): the wait did not span a continue-as-new", len(runs))
	}
	// Run 1 asks; run 2 starts waiting with run 1's attributes, upserts
	// nothing until the answers resume it, and then unsets WaitingSince.
	got := slices.Clone(u.lines)
	for i, l := range got {
		if strings.HasPrefix(l, "TaskStatus=needs_input") {
			got[i] = l[:strings.Index(l, "WaitingSince=")] + "WaitingSince=<asked>"
		}
	}
	wantLines := []string{"run 0", "TaskStatus=processing", "TaskStage=research",
		"run 1", "TaskStatus=needs_input TaskStage=needs_input WaitingSince=<asked>",
		"run 2", "TaskStatus=queued TaskStage=clarification_resume WaitingSince=unset",
		"run 3", "TaskStatus=processing", "TaskStage=design", "run 4", "TaskStage=implementation", "run 5",
		"run 6", "TaskStage=review", "run 7", "TaskStatus=completed"}
	if !slices.Equal(got, wantLines) {
		t.Fatalf("upserts across %d runs\n got %q\nwant %q", len(runs), got, wantLines)
	}
	want := map[string]string{searchattr.NameStatus: string(task.StatusCompleted), searchattr.NameStage: task.StageReview,
		searchattr.NameTemplate: testTemplate, searchattr.NameTenant: testOwner[:12]}
	if !maps.Equal(u.now, want) {
		t.Fatalf("attributes at the end %v, want %v", u.now, want)
	}
}
