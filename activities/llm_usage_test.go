package activities

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"ai-platform/internal/agents"
	"ai-platform/internal/llm"
	"ai-platform/internal/store"
)

// TestUsageIsRecordedPerCallAndChargedOnce: a stage conversation of two
// provider requests (a corrective retry) gets one llm_usage event per
// request; a retried activity with different numbers changes nothing, so the
// events, the daily charge, the task totals and the summary all agree.
func TestUsageIsRecordedPerCallAndChargedOnce(t *testing.T) {
	f := newFixture(t, "x", "", nil)
	ctx := context.Background()
	call := agents.Call{Model: "m2", Calls: 2, Usage: llm.Usage{InputTokens: 30, OutputTokens: 12},
		Each: []agents.Request{{Model: "m1", Usage: llm.Usage{InputTokens: 10, OutputTokens: 5}},
			{Model: "m2", Usage: llm.Usage{InputTokens: 20, OutputTokens: 7}}}}
	retry := agents.Call{Model: "m3", Calls: 1, Usage: llm.Usage{InputTokens: 99, OutputTokens: 99},
		Each: []agents.Request{{Model: "m3", Usage: llm.Usage{InputTokens: 99, OutputTokens: 99}}}}
	for _, c := range []agents.Call{call, call, retry} {
		if err := f.a.chargeTokens(ctx, f.step("g0/s5"), "design", c, "2026-01-01T00:00:00Z"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.a.chargeTokens(ctx, f.step("g0/s9"), "research", agents.Call{Calls: 1, Usage: llm.Usage{InputTokens: 4, OutputTokens: 1},
		Each: []agents.Request{{Usage: llm.Usage{InputTokens: 4, OutputTokens: 1}}}}, ""); err != nil {
		t.Fatal(err)
	}

	evs := eventsOf(t, f.store, f.task.ID, "llm_usage")
	if len(evs) != 3 {
		t.Fatalf("%d llm_usage events, want 3 (two design requests, one research)", len(evs))
	}
	var in, out int64
	for i, e := range evs {
		p := payloadOf(t, e)
		for _, k := range []string{"stage", "model", "tokens_in", "tokens_out", "total_tokens", "calls"} {
			if _, ok := p[k]; !ok {
				t.Errorf("event %d lacks %s: %v", i, k, p)
			}
		}
		if p["calls"] != 1.0 {
			t.Errorf("event %d counts %v calls, want 1", i, p["calls"])
		}
		in += int64(p["tokens_in"].(float64))
		out += int64(p["tokens_out"].(float64))
	}
	first, second := payloadOf(t, evs[0]), payloadOf(t, evs[1])
	if first["model"] != "m1" || first["tokens_in"] != 10.0 || first["call_index"] != 1.0 ||
		second["model"] != "m2" || second["tokens_in"] != 20.0 || second["call_index"] != 2.0 || second["stage_calls"] != 2.0 {
		t.Fatalf("per-call events %v / %v", first, second)
	}
	usage, err := f.store.GetUsage(ctx, "owner", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := f.store.GetTask(ctx, f.task.ID)
	if in != 34 || out != 13 || usage.TokensIn != in || usage.TokensOut != out || tk.TokensIn != in || tk.TokensOut != out {
		t.Fatalf("events %d/%d, daily %d/%d, task %d/%d; want 34/13 everywhere",
			in, out, usage.TokensIn, usage.TokensOut, tk.TokensIn, tk.TokensOut)
	}
	arts, _ := f.store.ListArtifacts(ctx, f.task.ID, store.ListOptions{Type: "usage_report"})
	added := 0
	for _, e := range eventsOf(t, f.store, f.task.ID, "ArtifactAdded") {
		if payloadOf(t, e)["type"] == "usage_report" {
			added++
		}
	}
	if arts.Total != 2 || added != 2 {
		t.Fatalf("%d usage_report artifacts, %d announced; want 2", arts.Total, added)
	}

	if err := f.a.writeState(ctx, tk, ""); err != nil {
		t.Fatal(err)
	}
	raw, _, err := f.store.GetState(ctx, f.task.ID)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Summary struct {
			ByStage map[string]struct {
				TokensIn    int64 `json:"tokens_in"`
				TokensOut   int64 `json:"tokens_out"`
				TotalTokens int64 `json:"total_tokens"`
				Calls       int64 `json:"calls"`
			} `json:"by_stage"`
		} `json:"llm_usage_summary"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var sum map[string]any
	_ = json.Unmarshal(raw, &sum)
	s := sum["llm_usage_summary"].(map[string]any)
	if s["total_tokens_in"] != 34.0 || s["total_tokens_out"] != 13.0 || s["total_tokens"] != 47.0 {
		t.Fatalf("summary totals %v", s)
	}
	d, r := doc.Summary.ByStage["design"], doc.Summary.ByStage["research"]
	if d.TokensIn != 30 || d.TokensOut != 12 || d.TotalTokens != 42 || d.Calls != 2 || r.TokensIn != 4 || r.Calls != 1 {
		t.Fatalf("by_stage %+v", doc.Summary.ByStage)
	}
}

// TestUsageReportWithoutRequestsKeepsOneStageEvent: a step whose report was
// written before per-request usage existed (an activity retried across a
// deploy) still gets exactly its one per-stage event and charge.
func TestUsageReportWithoutRequestsKeepsOneStageEvent(t *testing.T) {
	f := newFixture(t, "x", "", nil)
	ctx := context.Background()
	step := f.step("g0/s3")
	legacy, _ := json.Marshal(map[string]any{"stage": "research", "provider": "mock", "model": "old",
		"tokens_in": 7, "tokens_out": 3, "total_tokens": 10, "calls": 2})
	if _, err := f.store.AppendArtifact(ctx, store.Artifact{ID: StableID(step.TaskID, step.Key+"/art/usage_report"),
		TaskID: step.TaskID, Type: "usage_report", ProducedBy: "researcher", Payload: legacy, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	c := agents.Call{Calls: 1, Usage: llm.Usage{InputTokens: 50, OutputTokens: 50},
		Each: []agents.Request{{Usage: llm.Usage{InputTokens: 50, OutputTokens: 50}}}}
	if err := f.a.chargeTokens(ctx, step, "research", c, ""); err != nil {
		t.Fatal(err)
	}
	evs := eventsOf(t, f.store, f.task.ID, "llm_usage")
	tk, _ := f.store.GetTask(ctx, f.task.ID)
	if len(evs) != 1 || payloadOf(t, evs[0])["tokens_in"] != 7.0 || payloadOf(t, evs[0])["calls"] != 2.0 || tk.TokensIn != 7 {
		t.Fatalf("%d events (%v), task tokens %d; want the stored report's numbers", len(evs), evs, tk.TokensIn)
	}
}
