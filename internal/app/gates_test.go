package app_test

import (
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ai-platform/internal/app/apptest"
)

// These tests run the real worker, API and Temporal dev server with the
// offline mock: budgets that stop a task and ask, plan approval, refusals
// and fallback models, end to end through the HTTP API.

const gateDescription = "A command line tool that converts temperatures between Celsius and Fahrenheit"

// pendingOf returns the task's single pending question of type typ.
func pendingOf(t *testing.T, task apptest.Task, typ string) map[string]any {
	t.Helper()
	if len(task.PendingQuestions) != 1 || task.PendingQuestions[0]["type"] != typ {
		t.Fatalf("pending questions %v, want one %s question", task.PendingQuestions, typ)
	}
	return task.PendingQuestions[0]
}

func answer(t *testing.T, p *apptest.Platform, id, qid string, v any, want int) []byte {
	t.Helper()
	code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/input", map[string]any{"answers": map[string]any{qid: v}, "auto_resume": true}, nil)
	if code != want {
		t.Fatalf("answer %v to %s: %d %s, want %d", v, qid, code, raw, want)
	}
	return raw
}

func eventTypes(t *testing.T, p *apptest.Platform, id string) []string {
	var out []string
	for _, e := range events(t, p, p.APIKey, id) {
		out = append(out, e.Type)
	}
	return out
}

// TestBudgetPausesAndAsks: a task whose budget does not cover its next
// call waits in needs_input with a budget question (holding no slot); an
// answer below what is spent is refused with 400; a raise re-runs the
// stage and the task completes, also after every process restarted while
// it waited. A declined budget fails the task budget_exhausted.
func TestBudgetPausesAndAsks(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": filepath.Join(dir, "data"), "WORKSPACE_ROOT": filepath.Join(dir, "ws"),
		"TEMPORAL_TASK_QUEUE": "budget-test", "MAX_CONCURRENT_TASKS": "1"}
	dbFile := filepath.Join(dir, "temporal.db")
	srv := apptest.DevServer(t, dbFile)
	p := apptest.Start(t, apptest.Options{Env: env, Temporal: srv.FrontendHostPort()})
	p.APIKey = "budget-key"

	// One call's worst case at gpt-4o-mini prices is about $0.0007
	// (LLM_MAX_TOKENS=1024 output at $0.60/M plus the brief): $0.0002
	// cannot cover research's first call.
	raise := p.CreateTask(t, map[string]any{"description": gateDescription, "template_id": "python_cli", "budget_usd": 0.0002})
	decline := p.CreateTask(t, map[string]any{"description": gateDescription, "template_id": "python_cli", "budget_tokens": 500})
	for _, id := range []string{raise, decline} {
		task := p.WaitStatus(t, id, 2*time.Minute, "needs_input")
		q := pendingOf(t, task, "budget")
		b, _ := q["budget"].(map[string]any)
		if b == nil || b["stage"] != "research" || q["required"] != true {
			t.Fatalf("budget question %v", q)
		}
	}
	// Both wait without a slot: with MAX_CONCURRENT_TASKS=1 neither holds
	// it, so a third task runs to completion meanwhile.
	other := p.CreateTask(t, map[string]any{"description": gateDescription, "template_id": "python_cli"})
	p.WaitStatus(t, other, 3*time.Minute, "completed")

	// Restart everything while they wait.
	p.Stop()
	_ = srv.Stop()
	srv = apptest.DevServer(t, dbFile)
	p = apptest.Start(t, apptest.Options{Env: env, Temporal: srv.FrontendHostPort()})
	p.APIKey = "budget-key"

	task := p.GetTask(t, raise)
	q := pendingOf(t, task, "budget")
	qid, _ := q["id"].(string)
	answer(t, p, raise, qid, "nonsense", http.StatusBadRequest)
	answer(t, p, raise, qid, -1, http.StatusBadRequest)
	answer(t, p, raise, qid, map[string]any{"budget_usd": 1}, http.StatusOK)
	done := p.WaitStatus(t, raise, 4*time.Minute, "completed")
	var view struct {
		BudgetUSD float64 `json:"budget_usd"`
		CostUSD   float64 `json:"cost_usd"`
	}
	p.Do(t, http.MethodGet, "/api/tasks/"+raise, nil, &view)
	if view.BudgetUSD != 1 || view.CostUSD <= 0 || view.CostUSD > 1 || done.FilesCount == 0 {
		t.Fatalf("after the raise: budget $%v, cost $%v, %d files", view.BudgetUSD, view.CostUSD, done.FilesCount)
	}
	types := eventTypes(t, p, raise)
	for _, want := range []string{"budget_exceeded", "budget_raised", "TaskCompleted"} {
		if !slices.Contains(types, want) {
			t.Errorf("events of the raised task lack %s: %v", want, types)
		}
	}

	task = p.GetTask(t, decline)
	q = pendingOf(t, task, "budget")
	qid, _ = q["id"].(string)
	// "decline" ends the task, keeping what it did.
	answer(t, p, decline, qid, "decline", http.StatusOK)
	failed := p.WaitStatus(t, decline, 2*time.Minute, "failed")
	if failed.FailureReason == nil || *failed.FailureReason != "budget_exhausted" {
		t.Fatalf("declined task: %+v", failed)
	}
}

// TestPlanApproval: approve_plan stops after design with the plan; a
// revision runs the design again and asks again (round 2); approval goes
// on to code; a rejection cancels the task with plan_rejected, keeping
// the design.
func TestPlanApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	p := apptest.Start(t, apptest.Options{})
	approve := p.CreateTask(t, map[string]any{"description": gateDescription, "template_id": "python_cli", "approve_plan": true})
	reject := p.CreateTask(t, map[string]any{"description": gateDescription, "template_id": "python_cli", "approve_plan": true})

	task := p.WaitStatus(t, approve, 2*time.Minute, "needs_input")
	q := pendingOf(t, task, "plan_approval")
	plan, _ := q["plan"].(map[string]any)
	comps, _ := plan["components"].([]any)
	if plan["round"] != float64(1) || len(comps) == 0 || task.FilesCount == 0 {
		t.Fatalf("plan question %v", q)
	}
	answer(t, p, approve, q["id"].(string), map[string]any{"decision": "maybe"}, http.StatusBadRequest)
	answer(t, p, approve, q["id"].(string), map[string]any{"decision": "revise", "instructions": "Add a --precision option"}, http.StatusOK)
	var q2 map[string]any
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		task = p.GetTask(t, approve)
		if task.Status == "needs_input" && len(task.PendingQuestions) == 1 && task.PendingQuestions[0]["id"] != q["id"] {
			q2 = task.PendingQuestions[0]
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if q2 == nil || q2["type"] != "plan_approval" || q2["plan"].(map[string]any)["round"] != float64(2) {
		t.Fatalf("after a revision: %+v", task)
	}
	answer(t, p, approve, q2["id"].(string), "approve", http.StatusOK)
	p.WaitStatus(t, approve, 4*time.Minute, "completed")
	var arts struct {
		Artifacts []map[string]any `json:"artifacts"`
	}
	p.Do(t, http.MethodGet, "/api/tasks/"+approve+"/artifacts?type=architecture", nil, &arts)
	if len(arts.Artifacts) != 2 {
		t.Errorf("each design round is an artifact: %d architecture artifacts", len(arts.Artifacts))
	}
	reviewed := 0
	for _, e := range events(t, p, p.APIKey, approve) {
		if e.Type == "plan_reviewed" {
			reviewed++
		}
	}
	if reviewed != 2 {
		t.Errorf("%d plan_reviewed events, want 2", reviewed)
	}

	task = p.WaitStatus(t, reject, 2*time.Minute, "needs_input")
	q = pendingOf(t, task, "plan_approval")
	answer(t, p, reject, q["id"].(string), "reject", http.StatusOK)
	cancelled := p.WaitStatus(t, reject, 2*time.Minute, "cancelled")
	if cancelled.FailureReason == nil || *cancelled.FailureReason != "plan_rejected" || cancelled.FilesCount == 0 {
		t.Fatalf("rejected task: %+v", cancelled)
	}
}

// TestRefusalAndFallback: a model that refuses ends the task llm_refused
// at once; a primary model that answers only 429 moves each call, after
// its retries, to the fallback model, and the task completes on it.
func TestRefusalAndFallback(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"LLM_FALLBACK_MODELS": "gpt-4.1-mini"}})
	refused := p.CreateTask(t, map[string]any{"description": gateDescription + " [mock:refuse]", "template_id": "python_cli"})
	fallback := p.CreateTask(t, map[string]any{"description": gateDescription + " [mock:rate-limit-primary]", "template_id": "python_cli"})

	task := p.WaitStatus(t, refused, 3*time.Minute, "failed")
	if task.FailureReason == nil || *task.FailureReason != "llm_refused" {
		t.Fatalf("refused task: %+v", task)
	}
	failures := 0
	for _, e := range events(t, p, p.APIKey, refused) {
		if e.Type == "llm_error" && e.Payload["stage"] == "implementation" {
			failures++
		}
	}
	if failures > 1 {
		t.Errorf("a refusal was retried: %d llm_error events at implementation", failures)
	}

	p.WaitStatus(t, fallback, 6*time.Minute, "completed")
	fallbacks, onFallback := 0, 0
	for _, e := range events(t, p, p.APIKey, fallback) {
		switch e.Type {
		case "llm_fallback":
			fallbacks++
			if e.Payload["to"] != "gpt-4.1-mini" {
				t.Errorf("fallback event %v", e.Payload)
			}
		case "llm_usage":
			if e.Payload["model"] == "gpt-4.1-mini" {
				onFallback++
			}
		}
	}
	if fallbacks == 0 || onFallback == 0 {
		t.Fatalf("%d llm_fallback events, %d calls on the fallback model", fallbacks, onFallback)
	}
}
