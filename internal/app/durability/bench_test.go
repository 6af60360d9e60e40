//go:build bench

package durability_test

// Measurements, not assertions (build tag bench, not part of make test):
//
//	go test -tags bench -run TestBench -v -timeout 30m ./internal/app/durability/
//
// Each prints its figures with t.Log.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ai-platform/internal/task"
)

// TestBenchResumeLatency measures the time from sending POST /resume to the
// task showing status processing in GET /api/tasks/{id}, for 20 tasks
// waiting in needs_input. [mock:slow] keeps every resumed task asleep in its
// design call, so earlier samples do not load the machine for later ones.
func TestBenchResumeLatency(t *testing.T) {
	const n = 20
	s := newStack(t, map[string]string{"MAX_CONCURRENT_TASKS": "50"})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = s.create(fmt.Sprintf("Word counter %d [mock:slow=20]", i), "python_cli")
	}
	for _, id := range ids {
		s.api.WaitStatus(t, id, 3*time.Minute, "needs_input")
	}
	var samples []time.Duration
	for _, id := range ids {
		s.post("/api/tasks/"+id+"/input", map[string]any{"answers": map[string]any{"task_details": "Count words per file"}},
			http.StatusOK)
		start := time.Now()
		s.post("/api/tasks/"+id+"/resume", nil, http.StatusOK)
		for s.api.GetTask(t, id).Status != string(task.StatusProcessing) {
			if time.Since(start) > time.Minute {
				t.Fatalf("task %s not processing a minute after resume", id)
			}
			time.Sleep(2 * time.Millisecond)
		}
		samples = append(samples, time.Since(start))
	}
	slices.Sort(samples)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	t.Logf("POST /resume -> status processing, %d tasks: median %s, p95 %s, min %s, max %s", n,
		ms(samples[n/2]), ms(samples[(n*95+99)/100-1]), ms(samples[0]), ms(samples[n-1]))
}

// TestBenchPausedMemory parks 1,000 tasks in needs_input and reports the
// worker's and the dev server's resident memory before and after.
func TestBenchPausedMemory(t *testing.T) {
	const n = 1000
	s := newStack(t, map[string]string{"MAX_CONCURRENT_TASKS": "20"})
	warm := s.create("Word counter", "python_cli")
	s.api.WaitStatus(t, warm, 2*time.Minute, "needs_input")
	time.Sleep(5 * time.Second)
	dev := devServerPid()
	workerBefore, devBefore := rssKB(s.pid()), rssKB(dev)

	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				s.create(fmt.Sprintf("Word counter %d", i), "python_cli")
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	created := time.Since(start)
	// Every task takes a processing slot for its research; the slots
	// workflow grants about one every few hundred milliseconds, so parking
	// 1,000 tasks takes many minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
	defer cancel()
	lastLog := time.Now()
	waitFor(t, 80*time.Minute, "1,000 tasks in needs_input", func() bool {
		counts, err := s.api.App.Store.CountTasksByStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(lastLog) > time.Minute {
			t.Logf("%s: %v", time.Since(start).Round(time.Second), counts)
			lastLog = time.Now()
		}
		return counts[task.StatusNeedsInput] >= n+1
	})
	parked := time.Since(start)
	time.Sleep(10 * time.Second)
	workerAfter, devAfter := rssKB(s.pid()), rssKB(dev)
	mb := func(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }
	t.Logf("%d tasks created in %s, all in needs_input after %s", n, created.Round(time.Second), parked.Round(time.Second))
	t.Logf("worker RSS %s -> %s (+%.1f KB per paused task); dev server RSS %s -> %s (+%.1f KB per paused task)",
		mb(workerBefore), mb(workerAfter), float64(workerAfter-workerBefore)/n,
		mb(devBefore), mb(devAfter), float64(devAfter-devBefore)/n)
}

// rssKB is VmRSS of pid in KiB (0 when unknown).
func rssKB(pid int) int64 {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// devServerPid finds the Temporal dev server started by this test process.
func devServerPid() int {
	for _, p := range descendants(os.Getpid()) {
		if _, ppid := procStat(p); ppid == os.Getpid() && strings.Contains(cmdline(p), "start-dev") {
			return p
		}
	}
	return 0
}
