//go:build durability

package durability_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// answerAll answers every pending question of a task (text: a sentence,
// choice: the first choice, multi: the first) and resumes it.
func (s *stack) answerAll(id string) {
	s.t.Helper()
	answers := map[string]any{}
	for _, q := range s.questions(id).PendingQuestions {
		qid, _ := q["id"].(string)
		choices, _ := q["choices"].([]any)
		switch {
		case q["type"] == "multi" && len(choices) > 0:
			answers[qid] = []any{choices[0]}
		case q["type"] == "choice" && len(choices) > 0:
			answers[qid] = choices[0]
		default:
			answers[qid] = "Count the words of each file and print a total line at the end"
		}
	}
	s.post("/api/tasks/"+id+"/input", map[string]any{"answers": answers, "auto_resume": true}, http.StatusOK)
}

// TestSmallWorkflowCache runs a worker whose workflow cache holds 2
// workflows while 6 tasks park in needs_input: at most two of them (with
// the slots workflow, fewer) can still be cached when they are answered,
// so the others are rebuilt from their histories when they resume. All of
// them complete, as they would with every one cached.
func TestSmallWorkflowCache(t *testing.T) {
	s := newStack(t, map[string]string{"WORKFLOW_CACHE_SIZE": "2", "MAX_CONCURRENT_TASKS": "2", "METRICS_PORT": "0"})
	var ids []string
	for i := range 6 {
		ids = append(ids, s.create(fmt.Sprintf("Word counter %d", i), "python_cli"))
	}
	for _, id := range ids {
		s.api.WaitStatus(t, id, 3*time.Minute, "needs_input")
	}
	for _, id := range ids {
		s.answerAll(id)
	}
	for _, id := range ids {
		if tk := s.api.WaitStatus(t, id, 5*time.Minute, "completed"); tk.FilesCount == 0 {
			t.Fatalf("task %s completed without files", id)
		}
	}
	// The SDK's own counters say the cache was full and workflows were
	// pushed out of it.
	metrics := s.workerMetrics()
	evicted := metricSum(metrics, "temporal_sticky_cache_total_forced_eviction_total", false)
	misses := metricSum(metrics, "temporal_sticky_cache_miss_total", false)
	// The size gauge is reported with the type of the workflow that last
	// changed it: its largest value is the cache's.
	size := metricSum(metrics, "temporal_sticky_cache_size", true)
	if testing.Verbose() {
		for _, line := range regexp.MustCompile(`(?m)^temporal_sticky_cache.*$`).FindAllString(metrics, -1) {
			t.Log(line)
		}
	}
	if evicted == 0 || misses == 0 || size > 2 {
		t.Fatalf("forced evictions %v, cache misses %v, cache size %v: want evictions, misses and at most 2 cached", evicted, misses, size)
	}
	t.Logf("%v workflows forced out of the cache, %v workflow tasks rebuilt from history; %v cached at the end", evicted, misses, size)
}

var metricsAddrRe = regexp.MustCompile(`worker serving /metrics and /health.*?addr[=":]+([0-9.:\[\]]+)`)

// workerMetrics reads the /metrics page of the stack's worker, whose
// address its log names.
func (s *stack) workerMetrics() string {
	s.t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.dir, "worker.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	m := metricsAddrRe.FindAllSubmatch(raw, -1)
	if len(m) == 0 {
		s.t.Fatal("the worker's log does not name its metrics address")
	}
	resp, err := http.Get("http://" + string(m[len(m)-1][1]) + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(body)
}

// metricSum adds the values of every series of a metric (or, with
// largest, returns the largest).
func metricSum(page, name string, largest bool) float64 {
	var sum float64
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(?:\{[^}]*\})? ([0-9.e+-]+)$`)
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		if largest {
			sum = max(sum, v)
		} else {
			sum += v
		}
	}
	return sum
}
