package app_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/task"
)

const quotaDescription = "A command line tool that counts words and lines in text files"

// event is one task event as the API returns it.
type event struct {
	Type      string         `json:"type"`
	Payload   map[string]any `json:"payload"`
	CreatedAt string         `json:"created_at"`
}

func events(t testing.TB, p *apptest.Platform, key, id string) []event {
	t.Helper()
	var out struct {
		Events []event `json:"events"`
	}
	if code, raw := p.DoKey(t, key, http.MethodGet, "/api/tasks/"+id+"/events?order=asc&limit=1000", nil, &out); code != 200 {
		t.Fatalf("events: %d %s", code, raw)
	}
	return out.Events
}

// usageBeforeLastCall returns the tokens and command runs a task had used
// when its last LLM call was about to be made (the last quota check).
func usageBeforeLastCall(t *testing.T, evs []event) (tokens, commands int64) {
	t.Helper()
	var tok, cmd int64
	calls := 0
	for _, e := range evs {
		switch e.Type {
		case "command_started":
			cmd++
		case "llm_usage":
			calls++
			tokens, commands = tok, cmd
			if n, _ := e.Payload["calls"].(float64); n != 1 {
				t.Fatalf("a stage made %v LLM calls; this test assumes one per stage", e.Payload["calls"])
			}
			in, _ := e.Payload["tokens_in"].(float64)
			out, _ := e.Payload["tokens_out"].(float64)
			tok += int64(in + out)
		}
	}
	if calls < 2 || commands == 0 {
		t.Fatalf("calibration task made %d LLM calls and %d commands before the last; need more", calls, commands)
	}
	return tokens, commands
}

func reasonOf(tk apptest.Task) (string, string) {
	var r, e string
	if tk.FailureReason != nil {
		r = *tk.FailureReason
	}
	if tk.Error != nil {
		e = *tk.Error
	}
	return r, e
}

// TestDailyQuotasAtTheirEdge runs real tasks against MAX_TOKENS_PER_DAY and
// MAX_COMMAND_RUNS_PER_DAY set exactly at, and one above, what a task has
// used by its last quota check (before its last LLM call). The offline mock
// reports deterministic token counts, so a calibration run gives the edges.
func TestDailyQuotasAtTheirEdge(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	temporal := apptest.DevServer(t, "").FrontendHostPort()
	start := func(env map[string]string) *apptest.Platform {
		return apptest.Start(t, apptest.Options{Temporal: temporal, Env: env})
	}
	run := func(p *apptest.Platform, key string) apptest.Task {
		var out struct {
			TaskID string `json:"task_id"`
		}
		code, raw := p.DoKey(t, key, http.MethodPost, "/api/tasks", map[string]any{"description": quotaDescription, "template_id": "python_cli"}, &out)
		if code != 200 {
			t.Fatalf("create: %d %s", code, raw)
		}
		deadline := time.Now().Add(4 * time.Minute)
		for time.Now().Before(deadline) {
			var tk apptest.Task
			p.DoKey(t, key, http.MethodGet, "/api/tasks/"+out.TaskID, nil, &tk)
			if tk.Status == "completed" || tk.Status == "failed" || tk.Status == "cancelled" {
				return tk
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("task %s did not finish", out.TaskID)
		return apptest.Task{}
	}

	cal := start(nil)
	calTask := run(cal, cal.APIKey)
	if calTask.Status != "completed" {
		t.Fatalf("calibration task: %+v", calTask)
	}
	tokens, commands := usageBeforeLastCall(t, events(t, cal, cal.APIKey, calTask.ID))
	total := calTask.TokensIn + calTask.TokensOut
	t.Logf("calibration: %d tokens and %d commands before the last LLM call; %d tokens in all", tokens, commands, total)
	cal.Stop()

	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	cases := []struct {
		name          string
		maxTok, maxCm int64
		wantStatus    string
		wantQuota     string
	}{
		{"tokens at the edge", tokens, commands + 1, "failed", "MAX_TOKENS_PER_DAY"},
		{"commands at the edge", tokens + 1, commands, "failed", "MAX_COMMAND_RUNS_PER_DAY"},
		{"one above both edges", tokens + 1, commands + 1, "completed", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := start(map[string]string{"MAX_TOKENS_PER_DAY": n(tc.maxTok), "MAX_COMMAND_RUNS_PER_DAY": n(tc.maxCm)})
			tk := run(p, p.APIKey)
			reason, msg := reasonOf(tk)
			if tk.Status != tc.wantStatus || (tc.wantQuota != "" && (reason != task.ReasonQuotaExceeded || !strings.Contains(msg, tc.wantQuota))) {
				t.Fatalf("task %s (%s: %q), want %s %s", tk.Status, reason, msg, tc.wantStatus, tc.wantQuota)
			}
			if tc.wantQuota != "" {
				// It stopped at the last check: every earlier call was made.
				if got := tk.TokensIn + tk.TokensOut; got != tokens {
					t.Errorf("failed task used %d tokens, want %d (all calls but the last)", got, tokens)
				}
				return
			}
			if tk.TokensIn+tk.TokensOut != total {
				t.Errorf("tokens %d, calibration %d: the mock is not deterministic", tk.TokensIn+tk.TokensOut, total)
			}
			// The budget is now spent: the owner's next task is refused at
			// its start, before any LLM call; another owner is unaffected.
			next := run(p, p.APIKey)
			reason, msg = reasonOf(next)
			if next.Status != "failed" || reason != task.ReasonQuotaExceeded || !strings.Contains(msg, "MAX_TOKENS_PER_DAY") ||
				next.TokensIn+next.TokensOut != 0 {
				t.Errorf("second task of the owner: %s %q %q, %d tokens", next.Status, reason, msg, next.TokensIn+next.TokensOut)
			}
			if other := run(p, "another-key"); other.Status != "completed" {
				r, m := reasonOf(other)
				t.Errorf("another owner's task: %s %q %q", other.Status, r, m)
			}
		})
	}
}

// TestConcurrencySlotsFIFO: 20 tasks with MAX_CONCURRENT_TASKS=2 never have
// more than 2 processing at once, all complete, and they start in the order
// they were created. The first two are slow ([mock:slow]) so that the other
// 18 are all queued before a slot frees; their requests reach the slots
// workflow in whatever order their preparation finished.
func TestConcurrencySlotsFIFO(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	p := apptest.Start(t, apptest.Options{Env: map[string]string{"MAX_CONCURRENT_TASKS": "2"}})
	sampler := apptest.SampleProcessing(p.App.Store, 5*time.Millisecond)
	defer sampler.Stop()
	create := func(desc string) string {
		return p.CreateTask(t, map[string]any{"description": desc, "template_id": "python_cli"})
	}
	var ids []string
	for i := 0; i < 2; i++ {
		ids = append(ids, create(quotaDescription+" [mock:slow=2]"))
		p.WaitStatus(t, ids[i], 2*time.Minute, "processing")
	}
	for i := 2; i < 20; i++ {
		ids = append(ids, create(quotaDescription))
	}
	// The queue itself, as the slots workflow holds it, is in creation order.
	holders, waiters := slotQueue(t, p, 18)
	want := make([]string, 0, 18)
	for _, id := range ids[2:] {
		want = append(want, task.WorkflowID(id))
	}
	if !slices.Equal(waiters, want) || len(holders) != 2 {
		t.Fatalf("slots: holders %v, waiters %v; want the last 18 tasks waiting in creation order %v", holders, waiters, want)
	}
	for _, id := range ids {
		p.WaitStatus(t, id, 15*time.Minute, "completed")
	}
	peak, samples := sampler.Stop()
	t.Logf("%d samples; peak processing %d", samples, peak)
	if peak > 2 {
		t.Fatalf("%d tasks were processing at once; MAX_CONCURRENT_TASKS=2", peak)
	}
	if peak < 2 || samples < 100 {
		t.Fatalf("peak %d over %d samples: the slots were not used in parallel or not sampled", peak, samples)
	}
	// The first "processing" of each task is its StageStarted(initializing)
	// event, written when the slot was granted.
	started := map[string]string{}
	for _, id := range ids {
		for _, e := range events(t, p, p.APIKey, id) {
			if e.Type == "StageStarted" && e.Payload["stage"] == task.StageInitializing {
				started[id] = e.CreatedAt
				break
			}
		}
		if started[id] == "" {
			t.Fatalf("task %s has no start event", id)
		}
	}
	// The slots workflow grants in creation order: the first two took free
	// slots in their acquire replies, the rest got grant signals, which
	// its history lists in the order it sent them.
	var granted []string
	it := p.Client.GetWorkflowHistory(t.Context(), task.SlotsWorkflowID(p.Config.TemporalTaskQueue), "", false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetSignalExternalWorkflowExecutionInitiatedEventAttributes(); a != nil && a.GetSignalName() == task.SignalSlotGranted {
			granted = append(granted, a.GetWorkflowExecution().GetWorkflowId())
		}
	}
	if !slices.Equal(granted, want) {
		t.Fatalf("grant signals %v, want the 18 waiting tasks in creation order %v", granted, want)
	}
	// Grants of one round (two slots freed together) race each other to
	// their first event, but a task does not start before the one created
	// two (the cap) places earlier: that one's grant went out a round
	// before, and a slot had to be freed again (a whole task run) first.
	for i := 2; i < len(ids); i++ {
		if started[ids[i]] <= started[ids[i-2]] {
			for j := range ids {
				t.Logf("created #%d %s started %s", j+1, ids[j][:8], started[ids[j]])
			}
			t.Fatalf("task #%d started before task #%d, created two places earlier", i+1, i-1)
		}
	}
}

// slotQueue waits until the slots workflow has n waiters and returns its
// holders and waiters (workflow ids, queue order).
func slotQueue(t *testing.T, p *apptest.Platform, n int) ([]string, []string) {
	t.Helper()
	var st struct {
		Holders []struct {
			WorkflowID string `json:"workflow_id"`
		} `json:"holders"`
		Waiters []task.SlotRequest `json:"waiters"`
	}
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := p.Client.QueryWorkflow(t.Context(), task.SlotsWorkflowID(p.Config.TemporalTaskQueue), "", "state")
		if err == nil {
			err = v.Get(&st)
		}
		if err == nil && len(st.Waiters) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var holders, waiters []string
	for _, h := range st.Holders {
		holders = append(holders, h.WorkflowID)
	}
	for _, w := range st.Waiters {
		waiters = append(waiters, w.WorkflowID)
	}
	return holders, waiters
}
