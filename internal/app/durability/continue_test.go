package durability_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"ai-platform/api"
	"ai-platform/internal/app/apptest"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// createDirect makes a task the way the API does, but starts its workflow
// with the client so the test can set inputs the API never sets
// (ContinueAsNewAfter). The task belongs to the platform's API key.
func createDirect(t *testing.T, p *apptest.Platform, description, template string, adjust func(*task.Input)) string {
	t.Helper()
	ctx := ctxT(t)
	id := uuid.NewString()
	owner := api.NewKeyHasher(p.App.Config.APIKeyHashSecret).Hash("apikey", p.APIKey)
	row := store.Task{ID: id, UserID: "anonymous", OwnerKeyHash: owner, Description: description, Status: task.StatusQueued,
		TemplateID: template, PendingQuestions: []task.Question{}, ProvidedAnswers: map[string]any{}}
	if tmpl, ok := p.App.Catalog.Get(template); ok {
		row.TemplateHash = tmpl.Hash
	}
	if _, err := p.App.Store.CreateTask(ctx, row); err != nil {
		t.Fatal(err)
	}
	created, _ := json.Marshal(map[string]any{"task_id": id})
	if _, err := p.App.Store.AppendEvent(ctx, store.Event{ID: uuid.NewString(), TaskID: id, Type: "TaskCreated",
		Payload: created}); err != nil {
		t.Fatal(err)
	}
	cfg := p.App.Config
	in := task.Input{TaskID: id, TemplateID: template, OwnerKey: owner, MaxConcurrent: cfg.MaxConcurrentTasks,
		TaskTTLDays: cfg.TaskTTLDays}
	if adjust != nil {
		adjust(&in)
	}
	opts := client.StartWorkflowOptions{ID: task.WorkflowID(id), TaskQueue: cfg.TemporalTaskQueue}
	if _, err := p.Client.ExecuteWorkflow(ctx, opts, task.WorkflowName, in); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestContinueAsNewKeepsQuestionsAndAnswers forces continue-as-new every
// couple of steps, also while the task waits for answers: the questions,
// the answers and the work done survive every new run, and the task
// completes with each stage, question round and file done once.
func TestContinueAsNewKeepsQuestionsAndAnswers(t *testing.T) {
	s := newStack(t, nil)
	id := createDirect(t, s.api, "Word counter [mock:clarify]", "python_cli", func(in *task.Input) { in.ContinueAsNewAfter = 2 })
	wfID := task.WorkflowID(id)
	s.api.WaitStatus(t, id, 2*time.Minute, "needs_input")
	before := s.questions(id)
	waiting := len(runs(t, s.api.Client, wfID))
	if len(before.ids()) != 3 || waiting < 2 {
		t.Fatalf("questions %v after %d runs", before.ids(), waiting)
	}
	// One answer is a step in the wait loop, which passes the threshold.
	s.post("/api/tasks/"+id+"/input", map[string]any{"answers": map[string]any{"task_details": "Count words per file"}}, http.StatusOK)
	waitFor(t, time.Minute, "a continue-as-new while waiting", func() bool { return len(runs(t, s.api.Client, wfID)) > waiting })
	mid := s.questions(id)
	if mid.Status != "needs_input" || !slices.Equal(mid.ids(), before.ids()) || *mid.RequestedAt != *before.RequestedAt ||
		mid.ProvidedAnswers["task_details"] != "Count words per file" || !slices.Equal(mid.Missing, []string{"scope"}) {
		t.Fatalf("after continuing as new while waiting: %+v\nbefore: %+v", mid, before)
	}
	s.post("/api/tasks/"+id+"/input", map[string]any{"answers": map[string]any{"scope": "extended"}}, http.StatusOK)
	s.post("/api/tasks/"+id+"/resume", nil, http.StatusOK)
	done := s.api.WaitStatus(t, id, 3*time.Minute, "completed")

	all := runs(t, s.api.Client, wfID)
	t.Logf("%d runs", len(all))
	if len(all) < 5 {
		t.Errorf("only %d runs", len(all))
	}
	if done.ProvidedAnswers["task_details"] != "Count words per file" || done.ProvidedAnswers["scope"] != "extended" {
		t.Errorf("answers at the end %v", done.ProvidedAnswers)
	}
	if txt := s.fileText(id, "README.md"); !strings.Contains(txt, "Chosen scope: extended.") {
		t.Errorf("README.md lacks the scope answer:\n%s", txt)
	}
	o := collect(t, s.api.App.Store, id)
	checkExactlyOnce(t, o)
	types := o.eventTypes()
	if types["clarification_requested"] != 1 || types["clarification_received"] != 2 || types["task_resumed"] != 1 {
		t.Errorf("clarification events %v", types)
	}
	stages := map[string]int{}
	for _, p := range o.payloads("StageStarted") {
		stages[p["stage"].(string)]++
	}
	for _, st := range []string{"initializing", "research", "design", "implementation", "review"} {
		if stages[st] != 1 {
			t.Errorf("stage %s started %d times (%v)", st, stages[st], stages)
		}
	}
	written := map[string]int{}
	for _, p := range o.payloads("code_generated") {
		for _, f := range p["files"].([]any) {
			written[f.(string)]++
		}
	}
	for p, n := range written {
		if n != 1 {
			t.Errorf("%s written in %d iterations", p, n)
		}
	}
	if len(o.payloads("code_generated")) != done.Iterations {
		t.Errorf("%d code iterations recorded, task says %d", len(o.payloads("code_generated")), done.Iterations)
	}
}
