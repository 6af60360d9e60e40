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

func TestParseCPU(t *testing.T) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
	stat := "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 5 0"
	got, err := parseCPU(stat)
	if err != nil || got != 3 {
		t.Fatalf("parseCPU = %v, %v; want 3 s", got, err)
	}
	if _, err := parseCPU("garbage"); err == nil {
		t.Error("garbage parsed")
	}
	if v, err := cpuSeconds(os.Getpid()); err != nil || v < 0 {
		t.Errorf("cpuSeconds(self) = %v, %v", v, err)
	}
}
