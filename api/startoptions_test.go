package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/searchattr"
	"ai-platform/internal/task"
)

// TestStartOptionsMakeATaskFindable: the API starts a task's workflow with
// its search attributes (queued, initializing, its template, its owner's
// tenant hash), so the Web UI finds it from its first second, and with a
// summary of ids only: the description (user text, here a credential)
// reaches neither the summary nor any attribute, nor does the API key.
func TestStartOptionsMakeATaskFindable(t *testing.T) {
	const secretish = "sk-live-0123456789abcdef"
	f := newFixture(t, nil)
	var opts []client.StartWorkflowOptions
	var inputs []task.Input
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("task-x")
	f.client.On("ExecuteWorkflow", mock.Anything, mock.Anything, task.WorkflowName, mock.Anything).
		Run(func(args mock.Arguments) {
			opts = append(opts, args.Get(1).(client.StartWorkflowOptions))
			inputs = append(inputs, args.Get(3).(task.Input))
		}).Return(run, nil)

	cases := []struct {
		name     string
		body     map[string]any
		template string
		summary  string
	}{
		{"no template", map[string]any{"description": "use the key " + secretish}, "", "Task %s"},
		{"a template", map[string]any{"description": "use the key " + secretish, "template_id": "python_cli"},
			"python_cli", "Task %s · template python_cli"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do("POST", "/api/tasks", "tenant-key", tc.body)
			if w.Code != 200 {
				t.Fatalf("create: %d %s", w.Code, w.Body)
			}
			var out map[string]any
			_ = json.Unmarshal(w.Body.Bytes(), &out)
			id, _ := out["task_id"].(string)
			if len(opts) != i+1 {
				t.Fatalf("%d starts, want %d", len(opts), i+1)
			}
			o, in := opts[i], inputs[i]
			if want := strings.Replace(tc.summary, "%s", id, 1); o.StaticSummary != want {
				t.Errorf("StaticSummary %q, want %q", o.StaticSummary, want)
			}
			sa := o.TypedSearchAttributes
			keywords := []struct {
				key  temporal.SearchAttributeKeyKeyword
				want string
			}{
				{searchattr.Status, string(task.StatusQueued)}, {searchattr.Stage, task.StageInitializing},
				{searchattr.Template, tc.template}, {searchattr.Tenant, in.OwnerKey[:12]},
			}
			all := o.StaticSummary
			for _, k := range keywords {
				got, ok := sa.GetKeyword(k.key)
				if got != k.want || ok != (k.want != "") {
					t.Errorf("%s = %q (set %v), want %q", k.key.GetName(), got, ok, k.want)
				}
				all += " " + got
			}
			if _, ok := sa.GetTime(searchattr.WaitingSince); ok {
				t.Error("a new task has WaitingSince set")
			}
			if len(in.OwnerKey) != 64 {
				t.Fatalf("owner key %q is not the 64-hex HMAC", in.OwnerKey)
			}
			for _, leak := range []string{secretish, "tenant-key", in.OwnerKey} {
				if strings.Contains(all, leak) {
					t.Errorf("the summary or attributes carry %q: %s", leak, all)
				}
			}
		})
	}
}
