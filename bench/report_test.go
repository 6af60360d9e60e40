package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNum(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {1234.5, "1234"}, {12.345, "12.3"}, {1.2345, "1.23"}, {0.012345, "0.0123"}, {-2.5, "-2.50"},
	}
	for _, tc := range tests {
		if got := num(tc.in); got != tc.want {
			t.Errorf("num(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWithBaseRatio(t *testing.T) {
	f := Figure{Value: Summary{N: 3, P50: 30}}.withBase("raw", Summary{N: 3, P50: 10})
	if f.Ratio != 3 || f.Baseline != "raw" || f.Base.P50 != 10 {
		t.Errorf("withBase: %+v", f)
	}
	if g := (Figure{Value: Summary{P50: 5}}).withBase("zero", Summary{}); g.Ratio != 0 {
		t.Errorf("a zero baseline must not give a ratio: %v", g.Ratio)
	}
}

func TestWriteResults(t *testing.T) {
	r := Results{StartedAt: "2026-01-01T00:00:00Z", Seconds: 61, Machine: Machine{Cores: 2, LoadBefore: [3]float64{1.5, 1, 0.5}},
		Stores: []string{"memory"},
		Suites: []SuiteRun{{Suite: "7 store", Store: "memory", Seconds: 3}, {Suite: "6 runner", Error: "boom"}},
		Figures: []Figure{
			Figure{Suite: "7 store", Name: "append", Store: "memory", Unit: "rows/s", Value: Summary{N: 5, P50: 200, P95: 250, P99: 260},
				Note: "a note"}.withBase("raw write", Summary{N: 5, P50: 400, P95: 410, P99: 420}),
			{Suite: "5 paused tasks", Name: "API RSS", Unit: "KiB", Value: Summary{N: 1, P50: 12, P95: 12, P99: 12}},
		}}
	dir := t.TempDir()
	if err := r.write(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "latest.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"on 2 cores (load average 1.50 1.00 0.50 before",
		"| 7 store | - | append | memory | rows/s | 5 | 200 | 250 | 260 | raw write | 5 | 400 | 410 | 420 | 0.5x |",
		"| 5 paused tasks | - | API RSS | - | KiB | 1 | 12.0 | 12.0 | 12.0 | - | | | | | |",
		"6 runner FAILED: boom;",
		"- 7 store / append: a note",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("latest.md lacks %q:\n%s", want, md)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Results
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Figures) != 2 || back.Figures[0].Ratio != 0.5 || back.Machine.Cores != 2 {
		t.Errorf("latest.json round trip: %+v", back)
	}
}
