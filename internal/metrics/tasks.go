package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ai-platform/internal/task"
)

// TaskCounter is the part of the store the task gauges read.
type TaskCounter interface {
	CountTasksByStatus(ctx context.Context) (map[task.Status]int, error)
}

// statuses are always reported, at zero when no task has them, so a
// dashboard's series do not appear and vanish.
var statuses = []task.Status{task.StatusQueued, task.StatusProcessing, task.StatusNeedsInput, task.StatusPaused,
	task.StatusCompleted, task.StatusFailed, task.StatusCancelled}

// WatchTasks registers the task gauges, read from the store on every
// scrape (one GROUP BY). Only the API calls it, so a scaled-out worker
// fleet does not report the same numbers N times. Later calls are no-ops.
func (m *Metrics) WatchTasks(store TaskCounter, timeout time.Duration) {
	m.watchOnce.Do(func() {
		m.Registry.MustRegister(&taskCollector{store: store, timeout: timeout,
			tasks: prometheus.NewDesc(namespace+"_tasks", "Tasks in the store, by status.", []string{"status"}, nil),
			queue: prometheus.NewDesc(namespace+"_queue_length",
				"Tasks waiting for a concurrency slot (status queued).", nil, nil),
		})
	})
}

type taskCollector struct {
	store   TaskCounter
	timeout time.Duration
	tasks   *prometheus.Desc
	queue   *prometheus.Desc
}

func (c *taskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tasks
	ch <- c.queue
}

func (c *taskCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, err := c.store.CountTasksByStatus(ctx)
	if err != nil {
		// Reported by the handler's error log; the other metrics are served.
		ch <- prometheus.NewInvalidMetric(c.tasks, fmt.Errorf("counting tasks: %w", err))
		return
	}
	seen := map[task.Status]bool{}
	for _, s := range statuses {
		seen[s] = true
		ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	for s, n := range counts {
		if !seen[s] {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(n), string(s))
		}
	}
	ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(counts[task.StatusQueued]))
}
