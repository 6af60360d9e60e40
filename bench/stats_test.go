package main

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100..1, unsorted
	}
	tests := []struct {
		name string
		in   []float64
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"one", []float64{7}, Summary{N: 1, P50: 7, P95: 7, P99: 7}},
		{"odd", []float64{3, 1, 2}, Summary{N: 3, P50: 2, P95: 3, P99: 3}},
		{"even takes the lower middle", []float64{4, 1, 3, 2}, Summary{N: 4, P50: 2, P95: 4, P99: 4}},
		{"hundred", hundred, Summary{N: 100, P50: 50, P95: 95, P99: 99}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize(tc.in); got != tc.want {
				t.Errorf("summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestSummarizeLeavesInputUnsorted(t *testing.T) {
	in := []float64{3, 1, 2}
	summarize(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("input was modified: %v", in)
	}
}

func TestMedianDuration(t *testing.T) {
	if got := medianDuration(nil); got != 0 {
		t.Errorf("empty: %v", got)
	}
	if got := medianDuration([]time.Duration{3, 1, 2, 10}); got != 2 {
		t.Errorf("got %v, want 2", got)
	}
	if got := ms([]time.Duration{1500 * time.Microsecond}); got[0] != 1.5 {
		t.Errorf("ms: %v", got)
	}
}
