package storetest

import (
	"testing"
	"time"

	"ai-platform/internal/pricing"
	"ai-platform/internal/store"
)

// testTaskCost: cost, budgets and approve_plan round-trip; money is kept to
// the micro-dollar, and a running total built from rounded charges is exact.
func testTaskCost(t *testing.T, s store.Store) {
	in := newTask("o", t0)
	in.CostUSD, in.BudgetUSD, in.BudgetTokens, in.ApprovePlan = 0.0123456789, 2.5, 40_000, true
	got := mustCreate(t, s, in)
	if got.CostUSD != 0.012346 || got.BudgetUSD != 2.5 || got.BudgetTokens != 40_000 || !got.ApprovePlan {
		t.Fatalf("created cost/budget = %v/%v/%d/%v; want 0.012346/2.5/40000/true",
			got.CostUSD, got.BudgetUSD, got.BudgetTokens, got.ApprovePlan)
	}
	// 0.1 + 0.2 is 0.30000000000000004 in float64; each store keeps 0.3.
	for _, c := range []float64{0.1, 0.2, 0.000001} {
		if _, err := s.UpdateTask(ctx(t), in.ID, func(tk *store.Task) error {
			tk.CostUSD = pricing.Add(tk.CostUSD, c)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Raising the budget is an UpdateTask too (the budget gate's answer).
	up, err := s.UpdateTask(ctx(t), in.ID, func(tk *store.Task) error {
		tk.BudgetUSD, tk.BudgetTokens = 7.0000004, 90_000
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.CostUSD != 0.312347 || up.BudgetUSD != 7 || up.BudgetTokens != 90_000 {
		t.Errorf("after updates cost/budget = %v/%v/%d; want 0.312347/7/90000", up.CostUSD, up.BudgetUSD, up.BudgetTokens)
	}
	sameTask(t, mustTask(t, s, in.ID), up, "GetTask after cost updates")
	bare := mustCreate(t, s, newTask("o", t0))
	if bare.CostUSD != 0 || bare.BudgetUSD != 0 || bare.BudgetTokens != 0 || bare.ApprovePlan {
		t.Errorf("a task created without them has cost/budget %+v", bare)
	}
}

// testUsageCost: the daily cost is the exact sum of the charges' costs, per
// day and across days.
func testUsageCost(t *testing.T, s store.Store) {
	charges := []store.UsageCharge{
		{ID: "c1", OwnerKey: "k", Day: day0, TokensIn: 10, CostUSD: 0.1},
		{ID: "c2", OwnerKey: "k", Day: day0, TokensIn: 10, CostUSD: 0.2},
		{ID: "c2", OwnerKey: "k", Day: day0, TokensIn: 10, CostUSD: 0.2}, // retried: no-op
		{ID: "c3", OwnerKey: "k", Day: day0.AddDate(0, 0, 1), CostUSD: 0.000045},
		{ID: "c4", OwnerKey: "other", Day: day0, CostUSD: 1.5, CommandRuns: 1},
	}
	for _, c := range charges {
		if _, err := s.AddUsage(ctx(t), c); err != nil {
			t.Fatal(err)
		}
	}
	u, err := s.GetUsage(ctx(t), "k", day0)
	if err != nil || u.CostUSD != 0.3 || u.TokensIn != 20 {
		t.Errorf("GetUsage day0 = %+v, %v; want cost 0.3, 20 tokens in", u, err)
	}
	rows, err := s.UsageSince(ctx(t), day0, 0)
	if err != nil {
		t.Fatal(err)
	}
	costs := map[string]float64{}
	for _, r := range rows {
		costs[r.OwnerKey] = r.CostUSD
	}
	if costs["k"] != 0.300045 || costs["other"] != 1.5 {
		t.Errorf("UsageSince costs = %v; want k 0.300045, other 1.5", costs)
	}

	// One owner's days, newest first, within the range only.
	if _, err := s.AddUsage(ctx(t), store.UsageCharge{ID: "c5", OwnerKey: "k", Day: day0.AddDate(0, 0, -3), TokensOut: 1}); err != nil {
		t.Fatal(err)
	}
	days, err := s.UsageDays(ctx(t), "k", day0.Add(13*time.Hour), day0.AddDate(0, 0, 1).Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || !days[0].Day.Equal(day0.AddDate(0, 0, 1)) || days[0].CostUSD != 0.000045 ||
		!days[1].Day.Equal(day0) || days[1].CostUSD != 0.3 || days[1].TokensIn != 20 || days[1].OwnerKey != "k" {
		t.Errorf("UsageDays = %+v; want day0+1 (0.000045) then day0 (0.3, 20 in)", days)
	}
	if days, err := s.UsageDays(ctx(t), "nobody", day0, day0); err != nil || len(days) != 0 {
		t.Errorf("UsageDays of an owner without usage = %+v, %v", days, err)
	}
}
