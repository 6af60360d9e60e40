package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestClosedLoopCountsCallsAndErrors(t *testing.T) {
	var calls atomic.Int64
	boom := errors.New("boom")
	r := closedLoop(context.Background(), 4, 50*time.Millisecond, func(context.Context) error {
		if calls.Add(1)%2 == 0 {
			return boom
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if int64(len(r.Latencies)+r.Errors) != calls.Load() {
		t.Errorf("latencies %d + errors %d != calls %d", len(r.Latencies), r.Errors, calls.Load())
	}
	if r.Errors == 0 || !errors.Is(r.FirstErr, boom) {
		t.Errorf("errors %d, first %v", r.Errors, r.FirstErr)
	}
	if r.Rate() <= 0 || r.Elapsed < 50*time.Millisecond {
		t.Errorf("rate %v elapsed %v", r.Rate(), r.Elapsed)
	}
}

func TestForEachVisitsEveryIndexOnce(t *testing.T) {
	seen := make([]atomic.Int32, 100)
	if err := forEach(context.Background(), 100, 7, func(_ context.Context, i int) error {
		seen[i].Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Errorf("index %d visited %d times", i, n)
		}
	}
}

func TestForEachStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int32
	err := forEach(context.Background(), 1000, 2, func(_ context.Context, i int) error {
		calls.Add(1)
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if calls.Load() > 100 {
		t.Errorf("%d calls after the error; want the loop to stop early", calls.Load())
	}
}
