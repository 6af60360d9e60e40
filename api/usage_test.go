package api

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/openapicheck"
	"ai-platform/internal/store"
)

// TestUsageReportsTheCallersDays: GET /api/usage lists the caller's own
// daily rows within the period, newest first, with cost, and totals that
// are the exact sum of the days; another tenant's usage never shows.
func TestUsageReportsTheCallersDays(t *testing.T) {
	f := newFixture(t, map[string]string{"MAX_TOKENS_PER_DAY": "100000"})
	f.expectStart()
	row, err := f.store.GetTask(t.Context(), f.create("k", "a task"))
	if err != nil {
		t.Fatal(err)
	}
	owner := row.OwnerKeyHash
	now := time.Now().UTC()
	for _, c := range []store.UsageCharge{
		{ID: "a", OwnerKey: owner, Day: now, TokensIn: 1000, TokensOut: 200, CostUSD: 0.00027},
		{ID: "b", OwnerKey: owner, Day: now, TokensIn: 500, CommandRuns: 2, CostUSD: 0.000075},
		{ID: "c", OwnerKey: owner, Day: now.AddDate(0, 0, -1), TokensOut: 10, CostUSD: 0.1},
		{ID: "d", OwnerKey: owner, Day: now.AddDate(0, 0, -5), TokensIn: 99, CostUSD: 9},
		{ID: "e", OwnerKey: "someone-else", Day: now, TokensIn: 7, CostUSD: 7},
	} {
		if _, err := f.store.AddUsage(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	// The answer is checked against docs/openapi.yaml.
	checker, err := openapicheck.Load()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/usage?days=2", nil)
	req.Header.Set("X-API-Key", "k")
	w := httptest.NewRecorder()
	checker.Handler(f.srv.Handler(), func(err error) { t.Errorf("contract: %v", err) }).ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var out struct {
		From, To string
		Days     []struct {
			UsageDate   string  `json:"usage_date"`
			TokensIn    int64   `json:"tokens_in"`
			CommandRuns int64   `json:"command_runs"`
			CostUSD     float64 `json:"cost_usd"`
		}
		Totals struct {
			TotalTokens int64   `json:"total_tokens"`
			CostUSD     float64 `json:"cost_usd"`
		}
		MaxTokensPerDay int64 `json:"max_tokens_per_day"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	today, yesterday := now.Format(time.DateOnly), now.AddDate(0, 0, -1).Format(time.DateOnly)
	if out.From != yesterday || out.To != today || len(out.Days) != 2 || out.Days[0].UsageDate != today ||
		out.Days[0].TokensIn != 1500 || out.Days[0].CommandRuns != 2 || out.Days[0].CostUSD != 0.000345 ||
		out.Days[1].UsageDate != yesterday || out.Days[1].CostUSD != 0.1 {
		t.Fatalf("usage %s", w.Body)
	}
	if out.Totals.TotalTokens != 1710 || out.Totals.CostUSD != 0.100345 || out.MaxTokensPerDay != 100000 {
		t.Fatalf("totals %s", w.Body)
	}

	for _, q := range []string{"0", "367", "x"} {
		w := f.do("GET", "/api/usage?days="+q, "k", nil)
		if d, _ := detail(t, w).(string); w.Code != 400 || !strings.Contains(d, "days must be a whole number between 1 and 366") {
			t.Errorf("days=%s: %d %s", q, w.Code, w.Body)
		}
	}
	if w := f.do("GET", "/api/usage?days=30", "other", nil); w.Code != 200 || strings.Contains(w.Body.String(), `"usage_date"`) {
		t.Errorf("another key sees %d %s", w.Code, w.Body)
	}
}
