package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/mocks"

	"ai-platform/internal/codex"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

func strOf(s string) *string { return &s }

// checkField checks a create-field helper's outcome: the value want, or with
// status != 0 a refusal with that status whose detail holds detail.
func checkField(t *testing.T, got string, rerr *requestError, want string, status int, detail string) {
	t.Helper()
	if status != 0 {
		if rerr == nil || rerr.status != status || !strings.Contains(rerr.detail, detail) {
			t.Fatalf("error %+v, want %d with %q", rerr, status, detail)
		}
		return
	}
	if rerr != nil || got != want {
		t.Fatalf("got %q, %+v; want %q", got, rerr, want)
	}
}

func TestCodexVersion(t *testing.T) {
	cases := []struct {
		name   string
		raw    *string
		want   string
		detail string
	}{
		{"absent", nil, "", ""},
		{"blank", strOf("  "), "", ""},
		{"trimmed", strOf(" 2.0 "), "2.0", ""},
		{"at the limit", strOf(strings.Repeat("v", maxCodexVersionLen)), strings.Repeat("v", maxCodexVersionLen), ""},
		{"over the limit", strOf(strings.Repeat("v", maxCodexVersionLen+1)), "", "at most 64 characters"},
		{"NUL", strOf("1\x00"), "", "NUL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, rerr := codexVersion(tc.raw)
			status := 0
			if tc.detail != "" {
				status = http.StatusBadRequest
			}
			checkField(t, got, rerr, tc.want, status, tc.detail)
		})
	}
}

func TestTaskUserID(t *testing.T) {
	key := Principal{Kind: KindAPIKey, OwnerKey: "h"}
	user := Principal{Kind: KindUser, UserID: "u-1", OwnerKey: "h"}
	cases := []struct {
		name   string
		p      Principal
		raw    *string
		want   string
		status int
	}{
		{"API key, no user_id", key, nil, anonymousUserID, 0},
		{"API key, blank user_id", key, strOf(" "), anonymousUserID, 0},
		{"API key, free label", key, strOf(" bob "), "bob", 0},
		{"API key, at the limit", key, strOf(strings.Repeat("u", maxUserIDLen)), strings.Repeat("u", maxUserIDLen), 0},
		{"API key, over the limit", key, strOf(strings.Repeat("u", maxUserIDLen+1)), "", 400},
		{"API key, NUL", key, strOf("b\x00b"), "", 400},
		{"user, no user_id", user, nil, "u-1", 0},
		{"user, own id", user, strOf("u-1"), "u-1", 0},
		{"user, another id", user, strOf("u-2"), "", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, rerr := taskUserID(tc.p, tc.raw)
			checkField(t, got, rerr, tc.want, tc.status, "")
		})
	}
}

func TestTaskID(t *testing.T) {
	alice := Principal{Kind: KindAPIKey, OwnerKey: "alice"}
	bob := Principal{Kind: KindAPIKey, OwnerKey: "bob"}
	derived := func(p Principal, key string) string {
		id, _, rerr := taskID(p, key)
		if rerr != nil {
			t.Fatalf("taskID(%q): %+v", key, rerr)
		}
		return id
	}
	if a, b := derived(alice, ""), derived(alice, ""); a == b {
		t.Fatal("ids without a key must differ")
	}
	if a, b := derived(alice, "k"), derived(alice, " k "); a != b {
		t.Fatalf("the same key (trimmed) must give the same id: %s, %s", a, b)
	}
	if a, b := derived(alice, "k"), derived(bob, "k"); a == b {
		t.Fatal("the same key of another caller must give another id")
	}
	if _, err := uuid.Parse(derived(alice, "k")); err != nil {
		t.Fatalf("derived id is not a UUID: %v", err)
	}
	if _, key, _ := taskID(alice, " k "); key != "k" {
		t.Fatalf("idempotency key %q", key)
	}
	if _, _, rerr := taskID(alice, strings.Repeat("k", maxIdempotencyKeyLen)); rerr != nil {
		t.Fatalf("key at the limit refused: %+v", rerr)
	}
	if _, _, rerr := taskID(alice, strings.Repeat("k", maxIdempotencyKeyLen+1)); rerr == nil || rerr.status != 400 {
		t.Fatalf("key over the limit: %+v", rerr)
	}
}

// TestCreateRecordsDefaults: a task created with no optional fields records
// the embedded codex's version and the anonymous user, and its TaskCreated
// event says so.
func TestCreateRecordsDefaults(t *testing.T) {
	f := newFixture(t, nil)
	f.expectStart()
	id := f.create("k", "a task")
	row, err := f.store.GetTask(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if row.CodexVersion != codex.DefaultVersion || row.UserID != anonymousUserID || row.Status != task.StatusQueued {
		t.Fatalf("row %+v", row)
	}
	ev, err := f.store.ListEvents(t.Context(), id, store.ListOptions{Type: task.EventTaskCreated})
	if err != nil || ev.Total != 1 {
		t.Fatalf("TaskCreated events: %+v, %v", ev, err)
	}
	var payload map[string]any
	_ = json.Unmarshal(ev.Items[0].Payload, &payload)
	if payload["codex_version"] != codex.DefaultVersion || payload["user_id"] != anonymousUserID || payload["template_id"] != nil {
		t.Fatalf("payload %v", payload)
	}
}

// TestRetriedCreateRestartsAnUnstartedTask: a create whose workflow could
// not be started, retried with the same Idempotency-Key once Temporal is back,
// queues the same task again and starts it, without a second TaskCreated.
func TestRetriedCreateRestartsAnUnstartedTask(t *testing.T) {
	f := newFixture(t, nil)
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("task-x")
	f.client.On("ExecuteWorkflow", mock.Anything, mock.Anything, task.WorkflowName, mock.Anything).
		Return(nil, serviceerror.NewUnavailable("connection refused")).Once()
	f.client.On("ExecuteWorkflow", mock.Anything, mock.Anything, task.WorkflowName, mock.Anything).Return(run, nil).Once()
	body := map[string]any{"description": "build a thing"}
	if w := f.do("POST", "/api/tasks", "k", body, "Idempotency-Key", "once"); w.Code != 503 {
		t.Fatalf("first attempt: %d %s", w.Code, w.Body)
	}
	w := f.do("POST", "/api/tasks", "k", body, "Idempotency-Key", "once")
	if w.Code != 200 {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	id, _ := out["task_id"].(string)
	row, err := f.store.GetTask(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if row.Status != task.StatusQueued || row.FailureReason != "" || row.Error != "" || row.CompletedAt != nil {
		t.Fatalf("retried task not queued again: %+v", row)
	}
	page, _ := f.store.ListTasks(t.Context(), store.TaskFilter{Limit: 10})
	ev, _ := f.store.ListEvents(t.Context(), id, store.ListOptions{Type: task.EventTaskCreated})
	if page.Total != 1 || ev.Total != 1 {
		t.Fatalf("tasks %d, TaskCreated events %d; want 1 and 1", page.Total, ev.Total)
	}
	f.client.AssertNumberOfCalls(t, "ExecuteWorkflow", 2)
}

// TestCreateBudgetAndPlanApproval: budget_usd, budget_tokens and
// approve_plan are stored on the row, shown in the task view and the list,
// and approve_plan reaches the workflow's input; absent budgets take
// TASK_BUDGET_USD / TASK_BUDGET_TOKENS; bad values are refused.
func TestCreateBudgetAndPlanApproval(t *testing.T) {
	f := newFixture(t, map[string]string{"TASK_BUDGET_USD": "2.5", "TASK_BUDGET_TOKENS": "50000"})
	var inputs []task.Input
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("task-x")
	f.client.On("ExecuteWorkflow", mock.Anything, mock.Anything, task.WorkflowName, mock.Anything).
		Run(func(args mock.Arguments) { inputs = append(inputs, args.Get(3).(task.Input)) }).Return(run, nil)

	cases := []struct {
		name        string
		body        map[string]any
		usd         float64
		tokens      int64
		approvePlan bool
	}{
		{"defaults", map[string]any{}, 2.5, 50000, false},
		{"explicit budget and approval", map[string]any{"budget_usd": 0.75, "budget_tokens": 1200, "approve_plan": true}, 0.75, 1200, true},
		{"zero means no budget, not the default", map[string]any{"budget_usd": 0, "budget_tokens": 0}, 0, 0, false},
		{"null takes the default", map[string]any{"budget_usd": nil, "approve_plan": false}, 2.5, 50000, false},
		{"dollars kept to the micro-dollar", map[string]any{"budget_usd": 1.23456789}, 1.234568, 50000, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{"description": "a task"}
			for k, v := range c.body {
				body[k] = v
			}
			w := f.do("POST", "/api/tasks", "k", body)
			if w.Code != 200 {
				t.Fatalf("create: %d %s", w.Code, w.Body)
			}
			var out map[string]any
			_ = json.Unmarshal(w.Body.Bytes(), &out)
			id := out["task_id"].(string)
			row, err := f.store.GetTask(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if row.BudgetUSD != c.usd || row.BudgetTokens != c.tokens || row.ApprovePlan != c.approvePlan {
				t.Fatalf("row budget %v/%d approve %v; want %v/%d %v", row.BudgetUSD, row.BudgetTokens, row.ApprovePlan,
					c.usd, c.tokens, c.approvePlan)
			}
			if in := inputs[len(inputs)-1]; in.TaskID != id || in.ApprovePlan != c.approvePlan {
				t.Fatalf("workflow input %+v; want approve_plan %v", in, c.approvePlan)
			}
			w = f.do("GET", "/api/tasks/"+id, "k", nil)
			var view map[string]any
			_ = json.Unmarshal(w.Body.Bytes(), &view)
			if view["budget_usd"] != c.usd || view["budget_tokens"] != float64(c.tokens) ||
				view["approve_plan"] != c.approvePlan || view["cost_usd"] != 0.0 {
				t.Fatalf("task view %d: budget %v/%v approve %v cost %v", w.Code, view["budget_usd"], view["budget_tokens"],
					view["approve_plan"], view["cost_usd"])
			}
		})
	}

	// The list shows the same fields, with the running cost.
	id := f.create("k", "costly")
	if _, err := f.store.UpdateTask(t.Context(), id, func(row *store.Task) error {
		row.CostUSD = 0.012345
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w := f.do("GET", "/api/tasks?limit=1", "k", nil)
	var page struct {
		Tasks []map[string]any `json:"tasks"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &page)
	if len(page.Tasks) != 1 || page.Tasks[0]["cost_usd"] != 0.012345 || page.Tasks[0]["budget_usd"] != 2.5 {
		t.Fatalf("list %d %s", w.Code, w.Body)
	}

	bad := []struct {
		name   string
		body   map[string]any
		status int
		detail string
	}{
		{"negative dollars", map[string]any{"budget_usd": -1}, 400, "budget_usd must be between 0 and 1000000"},
		{"too many dollars", map[string]any{"budget_usd": 1e7}, 400, "budget_usd must be between 0"},
		{"negative tokens", map[string]any{"budget_tokens": -5}, 400, "budget_tokens must be a whole number >= 0"},
		{"fractional tokens", map[string]any{"budget_tokens": 1.5}, 422, `"budget_tokens"`},
		{"dollars as text", map[string]any{"budget_usd": "5"}, 422, `"budget_usd"`},
		{"approve_plan as text", map[string]any{"approve_plan": "yes"}, 422, `"approve_plan"`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{"description": "a task"}
			for k, v := range c.body {
				body[k] = v
			}
			w := f.do("POST", "/api/tasks", "k", body)
			if d, _ := detail(t, w).(string); w.Code != c.status || !strings.Contains(d, c.detail) {
				t.Fatalf("%d %s; want %d with %q", w.Code, w.Body, c.status, c.detail)
			}
		})
	}
}
