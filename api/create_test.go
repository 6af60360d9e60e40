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
