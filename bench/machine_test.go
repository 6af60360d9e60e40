package main

import (
	"os"
	"testing"
)

func TestParseRSS(t *testing.T) {
	tests := []struct {
		name, in string
		want     float64
		ok       bool
	}{
		{"normal", "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t    2048 kB\nThreads: 3\n", 2, true},
		{"missing", "Name:\tx\n", 0, false},
		{"bad unit", "VmRSS:\t 2048 MB\n", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRSS(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parseRSS = %v, %v; want %v (ok %v)", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestRSSOfThisProcess(t *testing.T) {
	v, err := rssMiB(os.Getpid())
	if err != nil || v <= 0 {
		t.Fatalf("rssMiB(self) = %v, %v", v, err)
	}
}
