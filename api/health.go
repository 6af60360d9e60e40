package api

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"ai-platform/internal/task"
)

// activeTasksEvery is how old the processing-task count /health reports may
// get before it is read again.
const activeTasksEvery = 10 * time.Second

// activeTasksTimeout bounds one read of that count.
const activeTasksTimeout = time.Second

// liveCounts are the figures GET /health reports besides its status: the
// WebSocket connections this process serves, and how many tasks are
// processing. /health answers container health checks and load balancers,
// so it never waits on the database once a count has been read: it reports
// the last count and refreshes it in the background when it is older than
// activeTasksEvery.
type liveCounts struct {
	sockets atomic.Int64

	mu         sync.Mutex
	active     int
	readAt     time.Time // zero until a read succeeded
	refreshing bool
}

// activeTasks returns the number of processing tasks, or nil when it has
// never been read and the store does not answer the first read (which the
// request waits for, up to activeTasksTimeout) in time.
func (s *Server) activeTasks() any {
	lc := &s.counts
	lc.mu.Lock()
	never := lc.readAt.IsZero()
	refresh := !lc.refreshing && (never || s.Now().Sub(lc.readAt) >= activeTasksEvery)
	lc.refreshing = lc.refreshing || refresh
	lc.mu.Unlock()
	switch {
	case refresh && never:
		s.refreshActiveTasks()
	case refresh:
		go s.refreshActiveTasks()
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.readAt.IsZero() {
		return nil
	}
	return lc.active
}

// refreshActiveTasks reads the processing-task count into s.counts; a failed
// read keeps the previous count (it is logged, since /health still answers).
func (s *Server) refreshActiveTasks() {
	ctx, cancel := context.WithTimeout(context.Background(), activeTasksTimeout)
	defer cancel()
	counts, err := s.Store.CountTasksByStatus(ctx)
	lc := &s.counts
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.refreshing = false
	if err != nil {
		s.Logger.Warn("counting processing tasks for /health", "error", err)
		return
	}
	lc.active, lc.readAt = counts[task.StatusProcessing], s.Now()
}
