package activities

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"ai-platform/internal/agents"
	"ai-platform/internal/llm"
	"ai-platform/internal/pricing"
	"ai-platform/internal/store"
)

// testPrices prices the models of the usage tests: m1 and m2 are the two
// requests of one stage (m2 a fallback model, say), gpt-test the fixture's
// provider model; m3 is left unpriced.
func testPrices(t *testing.T) func(*Deps) {
	prices, err := pricing.Parse("m1=1/2,m2=0.15/0.60,gpt-test=0.5/1.5,old=1/1")
	if err != nil {
		t.Fatal(err)
	}
	return func(d *Deps) { d.Prices = prices }
}

// TestUsageIsRecordedPerCallAndChargedOnce: a stage conversation of two
// provider requests (a corrective retry) gets one llm_usage event per
// request; a retried activity with different numbers changes nothing, so the
// events, the daily charge, the task totals and the summary all agree, in
// tokens and in cost.
func TestUsageIsRecordedPerCallAndChargedOnce(t *testing.T) {
	f := newFixture(t, "x", "", testPrices(t))
	ctx := context.Background()
	call := agents.Call{Model: "m2", Calls: 2, Usage: llm.Usage{InputTokens: 30, OutputTokens: 12},
		Each: []agents.Request{{Model: "m1", Usage: llm.Usage{InputTokens: 10, OutputTokens: 5}},
			{Model: "m2", Usage: llm.Usage{InputTokens: 20, OutputTokens: 7}, Counted: true}}}
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
	var in, out, micros int64
	for i, e := range evs {
		p := payloadOf(t, e)
		for _, k := range []string{"stage", "model", "tokens_in", "tokens_out", "total_tokens", "calls", "cost_usd"} {
			if _, ok := p[k]; !ok {
				t.Errorf("event %d lacks %s: %v", i, k, p)
			}
		}
		if p["calls"] != 1.0 {
			t.Errorf("event %d counts %v calls, want 1", i, p["calls"])
		}
		in += int64(p["tokens_in"].(float64))
		out += int64(p["tokens_out"].(float64))
		micros += pricing.Micros(p["cost_usd"].(float64))
	}
	// Per call at the table: m1 10×1 + 5×2 = 20 µ$; m2 20×0.15 + 7×0.60 =
	// 7.2 → 7 µ$; research on gpt-test 4×0.5 + 1×1.5 = 3.5 → 4 µ$.
	wantCosts := []float64{0.00002, 0.000007, 0.000004}
	for i, e := range evs {
		if c := payloadOf(t, e)["cost_usd"]; c != wantCosts[i] {
			t.Errorf("event %d cost_usd = %v, want %v", i, c, wantCosts[i])
		}
	}
	if c := payloadOf(t, evs[1])["stage_cost_usd"]; c != 0.000027 {
		t.Errorf("design stage_cost_usd = %v, want 0.000027", c)
	}
	first, second := payloadOf(t, evs[0]), payloadOf(t, evs[1])
	if first["model"] != "m1" || first["tokens_in"] != 10.0 || first["call_index"] != 1.0 ||
		second["model"] != "m2" || second["tokens_in"] != 20.0 || second["call_index"] != 2.0 || second["stage_calls"] != 2.0 {
		t.Fatalf("per-call events %v / %v", first, second)
	}
	// The second request's server sent no usage: its counts are local,
	// and the event says so.
	if first["usage_source"] != "provider" || second["usage_source"] != "counted" {
		t.Fatalf("usage_source %v / %v, want provider / counted", first["usage_source"], second["usage_source"])
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
	if micros != 31 || usage.CostUSD != 0.000031 || tk.CostUSD != 0.000031 {
		t.Fatalf("cost: events %d µ$, daily %v, task %v; want 31 µ$ everywhere", micros, usage.CostUSD, tk.CostUSD)
	}
	design := reportOf(t, f, "g0/s5")
	if design.CostUSD != 0.000027 || len(design.Requests) != 2 || design.Requests[0].CostUSD != 0.00002 ||
		design.Requests[1].CostUSD != 0.000007 || design.Requests[1].Model != "m2" {
		t.Fatalf("design usage_report %+v", design)
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
				TokensIn    int64   `json:"tokens_in"`
				TokensOut   int64   `json:"tokens_out"`
				TotalTokens int64   `json:"total_tokens"`
				Calls       int64   `json:"calls"`
				CostUSD     float64 `json:"cost_usd"`
			} `json:"by_stage"`
		} `json:"llm_usage_summary"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var sum map[string]any
	_ = json.Unmarshal(raw, &sum)
	s := sum["llm_usage_summary"].(map[string]any)
	if s["total_tokens_in"] != 34.0 || s["total_tokens_out"] != 13.0 || s["total_tokens"] != 47.0 || s["total_cost_usd"] != 0.000031 {
		t.Fatalf("summary totals %v", s)
	}
	d, r := doc.Summary.ByStage["design"], doc.Summary.ByStage["research"]
	if d.TokensIn != 30 || d.TokensOut != 12 || d.TotalTokens != 42 || d.Calls != 2 || r.TokensIn != 4 || r.Calls != 1 ||
		d.CostUSD != 0.000027 || r.CostUSD != 0.000004 {
		t.Fatalf("by_stage %+v", doc.Summary.ByStage)
	}
}

// TestUsageReportWithoutRequestsKeepsOneStageEvent: a step whose report was
// written before per-request usage existed (an activity retried across a
// deploy) still gets exactly its one per-stage event and charge.
func TestUsageReportWithoutRequestsKeepsOneStageEvent(t *testing.T) {
	f := newFixture(t, "x", "", testPrices(t))
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
	// The report predates costs: it is priced from its own tokens (7 + 3
	// at 1/1 = 10 µ$), not from this attempt's.
	if c := payloadOf(t, evs[0])["cost_usd"]; c != 0.00001 || tk.CostUSD != 0.00001 {
		t.Fatalf("cost: event %v, task %v; want 0.00001", c, tk.CostUSD)
	}
}

// reportOf is the stored usage_report of a step.
func reportOf(t *testing.T, f *fixture, key string) usageReport {
	t.Helper()
	step := f.step(key)
	art, err := f.store.GetArtifact(context.Background(), step.TaskID, StableID(step.TaskID, step.Key+"/art/usage_report"))
	if err != nil {
		t.Fatal(err)
	}
	var rep usageReport
	if err := json.Unmarshal(art.Payload, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// observations records LLMRequest calls (activities.Metrics).
type observations struct {
	mu    sync.Mutex
	costs map[string]float64 // model/stage → cost
}

func (o *observations) LLMRequest(_, model, stage, _ string, _, _ int64, cost float64, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.costs[model+"/"+stage] += cost
}
func (o *observations) CommandRun(string, string, time.Duration) {}
func (o *observations) Purged(string, int64)                     {}

// TestMetricsSeeEachRequestsCost: the provider wrapper reports every
// request's cost at the price table, under the model that answered.
func TestMetricsSeeEachRequestsCost(t *testing.T) {
	obs := &observations{costs: map[string]float64{}}
	prices, err := pricing.Parse("gpt-test=0.5/1.5")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "x", "", func(d *Deps) { d.Metrics, d.Prices = obs, prices })
	req := llm.Request{Stage: "research", Messages: []llm.Message{{Role: "user", Content: `{"stage": "research", "description": "a CLI that greets"}`}}, JSON: true, MaxTokens: 1024}
	resp, err := f.a.Agents.Provider.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want, known := prices.Cost(resp.Model, resp.Usage.InputTokens, resp.Usage.OutputTokens)
	if !known || want == 0 || resp.Model != "gpt-test" {
		t.Fatalf("mock reply %s %+v prices at %v (%v)", resp.Model, resp.Usage, want, known)
	}
	if got := obs.costs["gpt-test/research"]; got != want {
		t.Fatalf("metrics saw %v for gpt-test/research, want %v (%v)", got, want, obs.costs)
	}
}

// TestEachAttemptIsChargedOnce: an attempt whose reply was cut off
// mid-stream is charged for what it streamed, and the retry that follows is
// charged for its own requests (the provider bills both); repeating either
// attempt's charge changes nothing.
func TestEachAttemptIsChargedOnce(t *testing.T) {
	f := newFixture(t, "x", "", testPrices(t))
	cut := agents.Call{Model: "m1", Calls: 1, Usage: llm.Usage{InputTokens: 100, OutputTokens: 40},
		Each: []agents.Request{{Model: "m1", Usage: llm.Usage{InputTokens: 100, OutputTokens: 40}}}}
	whole := agents.Call{Model: "m1", Calls: 1, Usage: llm.Usage{InputTokens: 100, OutputTokens: 90},
		Each: []agents.Request{{Model: "m1", Usage: llm.Usage{InputTokens: 100, OutputTokens: 90}}}}
	first, second := withAttempts(context.Background(), 1, 3), withAttempts(context.Background(), 2, 3)
	for _, c := range []struct {
		ctx  context.Context
		call agents.Call
	}{{first, cut}, {first, cut}, {second, whole}, {second, whole}} {
		if err := f.a.chargeTokens(c.ctx, f.step("g0/s4"), "design", c.call, ""); err != nil {
			t.Fatal(err)
		}
	}
	tk, _ := f.store.GetTask(context.Background(), f.task.ID)
	usage, _ := f.store.GetUsage(context.Background(), "owner", time.Now())
	// m1: 100×1 + 40×2 = 180 µ$; 100×1 + 90×2 = 280 µ$.
	if tk.TokensIn != 200 || tk.TokensOut != 130 || tk.CostUSD != 0.00046 || usage.TokensOut != 130 || usage.CostUSD != 0.00046 {
		t.Fatalf("task %d/%d $%v, day %d out $%v; want 200/130 $0.00046 on both", tk.TokensIn, tk.TokensOut, tk.CostUSD,
			usage.TokensOut, usage.CostUSD)
	}
	if evs := eventsOf(t, f.store, f.task.ID, "llm_usage"); len(evs) != 2 {
		t.Fatalf("%d llm_usage events, want one per attempt's request", len(evs))
	}
	if rep := reportOf(t, f, "g0/s4"); rep.TokensOut != 40 {
		t.Fatalf("the first attempt's report %+v", rep)
	}
}
