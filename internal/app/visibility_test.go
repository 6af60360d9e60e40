package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/durationpb"

	"ai-platform/api"
	"ai-platform/internal/app"
	"ai-platform/internal/app/apptest"
	"ai-platform/internal/searchattr"
	"ai-platform/internal/task"
)

// TestVisibilityQueriesFindTasks is the operator's console: on a dev server
// that has none of the search attributes, the platform registers them at
// start-up; tasks of two tenants are parked in needs_input, fail or
// complete; the queries docs/OPERATIONS.md lists (in the Web UI and with
// `temporal workflow list --query`) then return exactly the expected
// workflows, a resumed task leaves the needs_input queries, and a task's
// timeline carries readable activity and timer summaries.
func TestVisibilityQueriesFindTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	srv := apptest.DevServer(t, "")
	if missing := ourAttributes(t, srv.Client(), "default"); len(missing) != 0 {
		t.Fatalf("a fresh dev server already has %v", missing)
	}
	p := apptest.Start(t, apptest.Options{Temporal: srv.FrontendHostPort(),
		Env: map[string]string{"TEMPORAL_TASK_QUEUE": "visibility-test", "MAX_CONCURRENT_TASKS": "4", "TASK_TTL_DAYS": "7"}})
	if got := ourAttributes(t, srv.Client(), "default"); len(got) != len(searchattr.Definitions()) {
		t.Fatalf("after start-up the namespace has %v of the platform's attributes", got)
	}
	tenantB := "visibility-tenant-b"
	hasher := api.NewKeyHasher(p.App.Config.APIKeyHashSecret)
	hashA := searchattr.TenantHash(hasher.Hash("apikey", p.APIKey))
	hashB := searchattr.TenantHash(hasher.Hash("apikey", tenantB))

	create := func(key string, body map[string]any) string {
		t.Helper()
		var out struct {
			TaskID string `json:"task_id"`
		}
		if code, raw := p.DoKey(t, key, "POST", "/api/tasks", body, &out); code != 200 {
			t.Fatalf("create: %d %s", code, raw)
		}
		return out.TaskID
	}
	desc := "A command line tool that converts temperatures between Celsius and Fahrenheit"
	waitA := create(p.APIKey, map[string]any{"description": desc + " [mock:clarify]", "template_id": "python_cli"})
	p.WaitStatus(t, waitA, 2*time.Minute, "needs_input")
	// The cut-off between the two waits stands for "a day ago".
	time.Sleep(50 * time.Millisecond)
	cut := time.Now().UTC()
	time.Sleep(50 * time.Millisecond)
	waitB := create(tenantB, map[string]any{"description": desc + " [mock:clarify]"})
	failA := create(p.APIKey, map[string]any{"description": desc + " [mock:llm-error]", "template_id": "python_cli"})
	failB := create(tenantB, map[string]any{"description": desc + " [mock:llm-error]"})
	doneA := create(p.APIKey, map[string]any{"description": desc, "template_id": "python_cli"})
	p.WaitStatus(t, failA, 2*time.Minute, "failed")
	p.WaitStatus(t, doneA, 3*time.Minute, "completed")
	waitAs(t, p, tenantB, failB, "failed")
	waitAs(t, p, tenantB, waitB, "needs_input")

	queries := []struct {
		name  string
		query string
		want  []string
	}{
		{"parked in needs_input since before the cut-off",
			fmt.Sprintf("TaskStatus = 'needs_input' AND WaitingSince < '%s'", cut.Format(time.RFC3339Nano)), []string{waitA}},
		{"parked in needs_input", "TaskStatus = 'needs_input'", []string{waitA, waitB}},
		{"failed tasks of tenant A", fmt.Sprintf("TaskStatus = 'failed' AND TenantHash = '%s'", hashA), []string{failA}},
		{"failed tasks of tenant B", fmt.Sprintf("TaskStatus = 'failed' AND TenantHash = '%s'", hashB), []string{failB}},
		{"failed in the code stage", "TaskStatus = 'failed' AND TaskStage = 'implementation'", []string{failA, failB}},
		{"every task of tenant A", fmt.Sprintf("TenantHash = '%s'", hashA), []string{waitA, failA, doneA}},
		{"a template's completed tasks", "TaskTemplate = 'python_cli' AND TaskStatus = 'completed'", []string{doneA}},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) { expectWorkflows(t, p.Client, q.query, q.want) })
	}

	// An answer resumes tenant A's task: it leaves the needs_input queries
	// and its WaitingSince is unset.
	answer(t, p, waitA, "scope", "minimal", http.StatusOK)
	p.WaitStatus(t, waitA, 3*time.Minute, "completed")
	expectWorkflows(t, p.Client, "TaskStatus = 'needs_input'", []string{waitB})
	expectWorkflows(t, p.Client, fmt.Sprintf("TaskStatus = 'completed' AND TenantHash = '%s'", hashA), []string{waitA, doneA})
	wf, err := p.Client.DescribeWorkflow(context.Background(), task.WorkflowID(waitA), "")
	if err != nil {
		t.Fatal(err)
	}
	d := wf.RawResponse
	if f, ok := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[searchattr.NameWaitingSince]; ok && f.GetData() != nil {
		t.Fatalf("a resumed task still has WaitingSince %s", f.GetData())
	}

	// The timeline: activities and the wait for answers are named.
	summaries := historySummaries(t, p.Client, task.WorkflowID(waitA))
	for _, want := range []string{"research", "design", "code, iteration 1 (implement_component)",
		"review: checks (final)", "waiting for answers", "status needs_input · stage needs_input"} {
		if !slices.Contains(summaries, want) {
			t.Errorf("no %q among the timeline's summaries %q", want, summaries)
		}
	}
	if sum, err := wf.GetStaticSummary(); err != nil || !strings.HasPrefix(sum, "Task "+waitA+" · template python_cli") {
		t.Errorf("the workflow's summary is %q (%v), want it to name the task and its template", sum, err)
	}
}

// waitAs waits for another tenant's task to reach status.
func waitAs(t *testing.T, p *apptest.Platform, key, id, status string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var v apptest.Task
	for time.Now().Before(deadline) {
		if code, raw := p.DoKey(t, key, "GET", "/api/tasks/"+id, nil, &v); code != 200 {
			t.Fatalf("get task: %d %s", code, raw)
		}
		if v.Status == status {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("task %s is %s, want %s", id, v.Status, status)
}

// expectWorkflows runs query through the SDK client until it returns exactly
// the workflows of taskIDs (visibility is eventually consistent).
func expectWorkflows(t *testing.T, c client.Client, query string, taskIDs []string) {
	t.Helper()
	var want []string
	for _, id := range taskIDs {
		want = append(want, task.WorkflowID(id))
	}
	slices.Sort(want)
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = got[:0]
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 100})
		if err != nil {
			t.Fatalf("query %q: %v", query, err)
		}
		for _, e := range resp.GetExecutions() {
			got = append(got, e.GetExecution().GetWorkflowId())
		}
		slices.Sort(got)
		if slices.Equal(got, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("query %q:\n got %v\nwant %v", query, got, want)
	}
}

// historySummaries lists the summaries of a workflow's activities, local
// activities (markers) and timers, in history order.
func historySummaries(t *testing.T, c client.Client, workflowID string) []string {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []string
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if s := summaryOf(t, e); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func summaryOf(t *testing.T, e *historypb.HistoryEvent) string {
	t.Helper()
	p := e.GetUserMetadata().GetSummary()
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		t.Fatalf("event %d summary: %v", e.GetEventId(), err)
	}
	return s
}

// ourAttributes lists which of the platform's attributes namespace has.
func ourAttributes(t *testing.T, c client.Client, namespace string) []string {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(context.Background(),
		&operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range searchattr.Definitions() {
		if typ, ok := resp.GetCustomAttributes()[d.Name]; ok && typ == d.Type {
			out = append(out, d.Name)
		}
	}
	return out
}

// TestEnsureSearchAttributes: registration is idempotent, tolerates other
// processes registering at the same moment (four at once on a namespace
// that has none), and refuses an attribute that exists with another type.
func TestEnsureSearchAttributes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	srv := apptest.DevServer(t, "")
	c := srv.Client()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	cases := []struct {
		name    string
		prepare map[string]enumspb.IndexedValueType
		callers int
		err     string
	}{
		{name: "fresh namespace, four processes at once", callers: 4},
		{name: "some already there", callers: 2, prepare: map[string]enumspb.IndexedValueType{
			searchattr.NameStatus: enumspb.INDEXED_VALUE_TYPE_KEYWORD}},
		{name: "one with another type", callers: 1, prepare: map[string]enumspb.IndexedValueType{
			searchattr.NameWaitingSince: enumspb.INDEXED_VALUE_TYPE_INT}, err: "has type"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := fmt.Sprintf("searchattr-%d", i)
			if _, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: ns,
				WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if tc.prepare != nil {
				if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
					Namespace: ns, SearchAttributes: tc.prepare}); err != nil {
					t.Fatal(err)
				}
			}
			errs := make([]error, tc.callers)
			var wg sync.WaitGroup
			for k := range tc.callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[k] = app.EnsureSearchAttributes(ctx, c, ns, log)
				}()
			}
			wg.Wait()
			for _, err := range errs {
				switch {
				case tc.err == "" && err != nil:
					t.Fatalf("registering: %v", err)
				case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
					t.Fatalf("error %v, want one that says %q", err, tc.err)
				}
			}
			if tc.err != "" {
				return
			}
			if got := ourAttributes(t, c, ns); len(got) != len(searchattr.Definitions()) {
				t.Fatalf("namespace has %v", got)
			}
			// Idempotent: a later start finds them all and adds nothing.
			if err := app.EnsureSearchAttributes(ctx, c, ns, log); err != nil {
				t.Fatal(err)
			}
		})
	}
}
